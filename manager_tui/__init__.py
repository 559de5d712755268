"""The manager's console (Textual): sessions, the synchronized start, the whole scoreboard on the wall.

`backends/` talks to a deployment (the local server through `api_client`, or AWS with boto3), `live.py`
and `session_clock.py` derive what is shown, `screens/` and `widgets/` draw it, `app.py` ties them.
"""

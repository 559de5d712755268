"""`spaceinvaders-aws-check`: a deployed AWS stack checked end to end in one command (docs/aws.md, "Check a
deploy").

It plays the path of an event against the real stack, as a throwaway player (`api_client`, the game's own
client) and as the manager (the AWS stores the manager's console runs, with the operator's boto3
credentials): `/config`, sign-up and SRP sign-in, a session opened, a seat, a status post on the board,
the start pushed over the WebSocket, the session closed and archived, and the player's account removed.

- `check.py`: the steps in order, and what is cleaned up whatever fails;
- `player.py`: the player's steps (the client); `manager.py`: the manager's (the stores, S3);
- `steps.py`: one step run, timed and reported; `report.py`: each step printed with its time, and what
  to look at when it fails (`guidance.py`: where to look, per step);
- `cli.py`: the command.
"""

"""The HTTP endpoints of the local server, one module per area; `operation.py` says how one is served."""

"""Headless players for demos and load tests: real accounts, seats and games, driven by an autopilot."""

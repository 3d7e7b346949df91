"""Placeholder: filled in by the simulator work (see app.py)."""

HANDLERS: list = []

"""Bots whose paused frames hold values plain pickle would copy or refuse (test_values.py)."""

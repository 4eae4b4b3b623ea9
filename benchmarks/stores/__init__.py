"""Session-store benchmark: the recruiter bot (test mode) through the turn runner on SQLite and
PostgreSQL with 1, 2 and 4 processes, beside LangGraph's SqliteSaver and PostgresSaver doing
the same conversation, and the raw write of the same blob as the floor.

Run with ``python -m benchmarks.stores`` (``--help`` for options); writes
``benchmarks/results/stores.md`` and ``stores.json``. Reported, never asserted.
"""

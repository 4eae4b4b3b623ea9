"""A worker process for the multi-process store tests: runs a plan of turns against a store and
prints one JSON line per event, flushed at once (the test may SIGKILL it at any moment):

    {"sending": key}                       before a turn starts
    {"ack": key, "reply": ..., "version": n, "session": id}   after it was committed

Usage: python -m tests.stores.worker PLAN_JSON, where the plan holds "url", "turns" (a list
of [session, text, key]), and optionally "policy", "lease_seconds", "optimistic",
"deadline_seconds" and
"stall_in_commit" (SQLite: a path the worker creates inside its commit's transaction, where
it then sleeps, so that the test can kill it mid-commit; the PostgreSQL test stalls commits
with a trigger instead).

A turn that meets an unavailable database or its own key still running is retried with the
same key, as a client would, until the deadline.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time

from autograms.stores import StoreUnavailableError, TurnInProgressError, TurnRunner, open_store
from tests.stores import bots
from tests.stores.conftest import make_autogram

RETRIED = (StoreUnavailableError, TurnInProgressError)


def emit(**event) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def stall_inside_commits(store, marker: str) -> None:
    """Make the store's commits stop after inserting the turn row, before COMMIT (test-only
    instrumentation of this worker's own store object)."""
    transaction = store._transaction

    @contextlib.contextmanager
    def stalling(durable: bool = True):
        with transaction(durable) as cursor:
            yield _Stalling(cursor, marker)

    store._transaction = stalling


class _Stalling:
    def __init__(self, cursor, marker: str) -> None:
        self._cursor, self._marker = cursor, marker

    def execute(self, query: str, parameters: tuple = ()):
        result = self._cursor.execute(query, parameters)
        if query.startswith("INSERT INTO autograms_turns"):
            with open(self._marker, "w"):
                pass
            time.sleep(60)
        return result

    def executemany(self, query: str, rows) -> None:
        self._cursor.executemany(query, rows)


def run_with_retries(runner: TurnRunner, session: str, text: str, key: str, deadline: float):
    delay = 0.01
    while True:
        try:
            return runner.run_turn(session, text, key)
        except RETRIED:
            if time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def main(plan: dict) -> None:
    autogram = make_autogram(bots.chain)
    deadline = time.monotonic() + plan.get("deadline_seconds", 120)
    store = _open(plan["url"], deadline)
    if plan.get("stall_in_commit"):
        stall_inside_commits(store, plan["stall_in_commit"])
    runner = TurnRunner(
        autogram,
        store,
        policy=plan.get("policy", "enqueue"),
        lease_seconds=plan.get("lease_seconds", 30.0),
        optimistic=plan.get("optimistic", False),
    )
    for session, text, key in plan["turns"]:
        emit(sending=key)
        result = run_with_retries(runner, session, text, key, deadline)
        emit(ack=key, reply=result.reply, version=result.version, session=session)
    store.close()


def _open(url: str, deadline: float):
    options = {"timeout": 2.0} if url.startswith("postgres") else {}
    while True:
        try:
            return open_store(url, **options)
        except StoreUnavailableError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))

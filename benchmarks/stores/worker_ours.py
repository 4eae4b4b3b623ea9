"""Worker on this project's interpreter: ``store`` runs the recruiter through
`autograms.stores.TurnRunner` (claim, run with no lock held, version-checked commit with the
turn row and the log); ``raw`` writes the same session blob with one UPDATE per turn in its
own durable transaction, nothing else (the floor)."""

from __future__ import annotations

import sqlite3

from benchmarks.stores import workload

import api_bots  # noqa: E402  (from the comparison's runners, put on sys.path by workload)
from autograms import Autogram
from autograms.stores import Sessions, TurnRunner, open_store


_RAW_TABLE = "CREATE TABLE IF NOT EXISTS raw_sessions (id TEXT PRIMARY KEY, version INT, blob TEXT)"
# The version changes every turn, as a store's would (SQLite skips writing an unchanged row).
_RAW_UPDATE = "UPDATE raw_sessions SET blob = ?, version = version + 1 WHERE id = ?"


def recruiter() -> Autogram:
    return Autogram(root_function=api_bots.recruiter, test_mode=True, seed=0)


def store_turns(plan: dict) -> None:
    autogram = recruiter()
    store = open_store(plan["url"])
    sessions, runner = Sessions(autogram, store), TurnRunner(autogram, store)

    def turn(session: str, number: int) -> None:
        if number == 1:
            sessions.create(session)
            runner.run_turn(session, "", f"{session}-0")
        runner.run_turn(session, workload.user_text(number), f"{session}-{number}")

    workload.run(plan, turn)
    store.close()


def sample_blob() -> str:
    """A recruiter session after a few turns, as the store keeps it."""
    autogram = recruiter()
    text, memory = autogram.reply("")
    for number in range(1, 8):
        text, memory = autogram.reply(workload.user_text(number), memory_object=memory)
    return autogram.serialize(memory)


def raw_turns(plan: dict) -> None:
    blob = sample_blob()
    if plan["url"].startswith("sqlite"):
        write = _sqlite_writer(plan["url"].removeprefix("sqlite:///"))
    else:
        write = _postgres_writer(plan["url"])

    def turn(session: str, number: int) -> None:
        write(session, blob, number == 1)

    workload.run(plan, turn)


def _sqlite_writer(path: str):
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute(_RAW_TABLE)

    def write(session: str, blob: str, first: bool) -> None:
        connection.execute("BEGIN IMMEDIATE")
        if first:
            connection.execute("INSERT INTO raw_sessions VALUES (?, 0, ?)", (session, blob))
        else:
            connection.execute(_RAW_UPDATE, (blob, session))
        connection.execute("COMMIT")

    return write


def _postgres_writer(url: str):
    import psycopg

    connection = psycopg.connect(url, autocommit=True)
    connection.execute(_RAW_TABLE)

    def write(session: str, blob: str, first: bool) -> None:
        with connection.transaction():
            if first:
                connection.execute("INSERT INTO raw_sessions VALUES (%s, 0, %s)", (session, blob))
            else:
                connection.execute(_RAW_UPDATE.replace("?", "%s"), (blob, session))

    return write


def setup(plan: dict) -> None:
    """Create the tables once, before the workers start (concurrent CREATEs conflict)."""
    if plan["system"] == "store":
        open_store(plan["url"]).close()
    elif plan["url"].startswith("sqlite"):
        _sqlite_writer(plan["url"].removeprefix("sqlite:///"))
    else:
        _postgres_writer(plan["url"])


if __name__ == "__main__":
    options = workload.plan_from_argv()
    if options.get("setup"):
        setup(options)
    else:
        (store_turns if options["system"] == "store" else raw_turns)(options)

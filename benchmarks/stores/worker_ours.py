"""Worker on this project's interpreter: ``store`` runs the recruiter through
`autograms.stores.TurnRunner` (claim, run with no lock held, version-checked commit with the
turn row and the log), timing the store's part of each turn apart from the program's;
``raw`` writes the same session blob with one UPDATE per turn in its own durable transaction,
nothing else (the floor: on PostgreSQL one statement in autocommit, one round trip; on SQLite
``BEGIN IMMEDIATE``, the UPDATE, ``COMMIT``, as a writer among several processes must);
``paired`` runs each turn through the store and then writes the blob it committed the raw way,
so that the store's part and the raw write of one turn are measured at the same moment (a
disk's flush cost changes from minute to minute on a shared machine); ``paired-optimistic``
does the same with ``TurnRunner(optimistic=True)`` (no claim for a session's later turns)."""

from __future__ import annotations

import functools
import sqlite3
import time

from benchmarks.stores import workload

import api_bots  # noqa: E402  (from the comparison's runners, put on sys.path by workload)
from autograms import Autogram
from autograms.stores import Sessions, TurnRunner, open_store


_RAW_TABLE = "CREATE TABLE IF NOT EXISTS raw_sessions (id TEXT PRIMARY KEY, version INT, blob TEXT)"
# The version changes every turn, as a store's would (SQLite skips writing an unchanged row).
_RAW_UPDATE = "UPDATE raw_sessions SET blob = ?, version = version + 1 WHERE id = ?"


def recruiter() -> Autogram:
    return Autogram(root_function=api_bots.recruiter, test_mode=True, seed=0)


class StoreSpans:
    """Times the store's transactions of each turn (claim, log read, commit, leaving the
    queue) by wrapping the store's methods; the rest of a turn is the program's."""

    TIMED = ("claim", "read_log", "commit", "release")

    def __init__(self, store) -> None:
        self.spent: dict[str, float] = {}
        #: the blob the last commit wrote
        self.blob = ""
        for name in self.TIMED:
            setattr(store, name, self._timed(name, getattr(store, name)))

    def _timed(self, name: str, method):
        @functools.wraps(method)
        def timed(*args, **kwargs):
            if name == "commit":
                self.blob = args[2]
            clock = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                spent = 1000 * (time.perf_counter() - clock)
                self.spent[name] = self.spent.get(name, 0.0) + spent

        return timed

    def take(self, total_ms: float) -> dict[str, float]:
        """This turn's spans (and start the next turn's)."""
        spans = {name: self.spent.get(name, 0.0) for name in ("claim", "commit")}
        spans["store"] = sum(self.spent.values())
        spans["program"] = total_ms - spans["store"]
        self.spent = {}
        return spans


def store_turns(plan: dict, paired: bool = False, optimistic: bool = False) -> None:
    autogram = recruiter()
    store = open_store(plan["url"])
    runner = TurnRunner(autogram, store, optimistic=optimistic)
    sessions = Sessions(autogram, store)
    spans = StoreSpans(store)
    write = raw_writer(plan["url"]) if paired else None

    def turn(session: str, number: int) -> dict[str, float]:
        clock = time.perf_counter()
        if number == 1:
            sessions.create(session)
            runner.run_turn(session, "", f"{session}-0")
        runner.run_turn(session, workload.user_text(number), f"{session}-{number}")
        taken = spans.take(1000 * (time.perf_counter() - clock))
        if write is not None:
            clock = time.perf_counter()
            write(session, spans.blob, number == 1)
            taken["raw"] = 1000 * (time.perf_counter() - clock)
        return taken

    workload.run(plan, turn)
    store.close()


def sample_blob() -> str:
    """A recruiter session after a few turns, as the store keeps it (its log in the log
    table, not in the blob)."""
    autogram = recruiter()
    text, memory = autogram.reply("")
    for number in range(1, 8):
        text, memory = autogram.reply(workload.user_text(number), memory_object=memory)
    return autogram.serialize(memory, include_log=False)


def raw_turns(plan: dict) -> None:
    blob = sample_blob()
    write = raw_writer(plan["url"])

    def turn(session: str, number: int) -> None:
        write(session, blob, number == 1)

    workload.run(plan, turn)


def raw_writer(url: str):
    if url.startswith("sqlite"):
        return _sqlite_writer(url.removeprefix("sqlite:///"))
    return _postgres_writer(url)


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
        # one statement in autocommit: its own durable transaction in one round trip
        # (``connection.transaction()`` would add a round trip for BEGIN and one for COMMIT)
        if first:
            connection.execute("INSERT INTO raw_sessions VALUES (%s, 0, %s)", (session, blob))
        else:
            connection.execute(_RAW_UPDATE.replace("?", "%s"), (blob, session))

    return write


def setup(plan: dict) -> None:
    """Create the tables once, before the workers start (concurrent CREATEs conflict)."""
    if plan["system"] in ("store", "paired", "paired-optimistic"):
        open_store(plan["url"]).close()
    if plan["system"] in ("raw", "paired", "paired-optimistic"):
        raw_writer(plan["url"])


if __name__ == "__main__":
    options = workload.plan_from_argv()
    if options.get("setup"):
        setup(options)
    elif options["system"] == "raw":
        raw_turns(options)
    else:
        system = options["system"]
        store_turns(options, paired=system.startswith("paired"), optimistic="optimistic" in system)

"""Count what a turn through the store writes, against the raw write of the same blob: the
figures that do not depend on the machine's load (a disk flush costs 0.1 to 20 ms from one
minute to the next on a shared machine; the number of flushes, pages and WAL records does
not change with it).

    python -m benchmarks.stores.counts [--turns 60] [--stores sqlite,postgresql]

Each count runs the recruiter (test mode) in a child process over 5 sessions, after 50
unmeasured turns: through `TurnRunner` (``store``), through ``TurnRunner(optimistic=True)``
(``optimistic``: no claim once a session's turn was committed by it), or running the
program in memory and writing each turn's blob with one UPDATE in its own durable
transaction (``raw``, the raw write of ``benchmarks.stores.worker_ours``).

* SQLite: the WAL's frames (pages written) by the measured turns, by the b-tree of each page
  (``dbstat``; the WAL is checkpointed first, so keep ``--turns`` at 60 or so: a checkpoint
  that restarts the WAL midway, after 1000 frames, spoils the count); system calls of the
  child under ``strace -f -c`` (``fdatasync``; ``pwrite64``: two per WAL frame, one per page
  a checkpoint copies), per turn = (a run of N measured turns - a run of 0) / N; statements
  counted by a trace callback on every connection the child opens.
* PostgreSQL: the WAL records the measured turns wrote, by type (``pg_walinspect`` between
  the WAL positions before and after; a checkpoint midway adds full-page images), and the
  answers the client read (``recvfrom`` under ``strace``, per turn as above): psycopg reads
  each round trip's answer with one call. Statements are not counted there (0); instead the
  server's own figures for each statement the measured turns ran (``pg_stat_statements``,
  ``track = all`` so that a function's inner query is listed too, under its own text):
  ``pgss <statement> <figure>`` per turn -- calls, exec_ms (total execution time on the
  server, so without the round trip and the client), plan_ms (planning), blks_hit,
  blks_dirtied, wal_records, wal_bytes, wal_fpi. A function's figures include those of the
  queries it runs.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

SESSIONS = 5
WARMUP = 50
_STRACE_ROW = re.compile(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$")


def child(plan: dict) -> None:
    """Run the plan's turns; print the statements and the WAL figures of the measured ones."""
    statements = [0]
    connect = sqlite3.connect

    last = [""]

    def traced(statement: str) -> None:
        # a trigger's subprogram is reported again with its statement's text: counted once
        if statement != last[0]:
            statements[0] += 1
        last[0] = statement

    def counted(*args, **kwargs):  # every statement a SQLite connection of this process runs
        connection = connect(*args, **kwargs)
        connection.set_trace_callback(traced)
        return connection

    sqlite3.connect = counted
    from benchmarks.stores import workload, worker_ours

    url = plan["url"]
    if plan["system"] in ("store", "optimistic"):
        from autograms.stores import Sessions, TurnRunner, open_store

        autogram = worker_ours.recruiter()
        store = open_store(url)
        runner = TurnRunner(autogram, store, optimistic=plan["system"] == "optimistic")
        sessions = Sessions(autogram, store)

        def turn(session: str, number: int) -> None:
            if number == 1:
                sessions.create(session)
                runner.run_turn(session, "", f"{session}-0")
            runner.run_turn(session, workload.user_text(number), f"{session}-{number}")

    else:  # the blob of each turn as the program leaves it, run in memory (no I/O)
        autogram, write = worker_ours.recruiter(), worker_ours.raw_writer(url)
        memories: dict[str, object] = {}

        def turn(session: str, number: int) -> None:
            if number == 1:
                memories[session] = autogram.reply("")[1]
            memory = autogram.reply(workload.user_text(number), memory_object=memories[session])[1]
            memories[session] = memory
            write(session, autogram.serialize(memory, include_log=False), number == 1)

    names = [f"s{n}" for n in range(SESSIONS)]
    numbers = dict.fromkeys(names, 0)

    def next_turn(index: int) -> None:
        session = names[index % SESSIONS]
        numbers[session] += 1
        turn(session, numbers[session])

    for index in range(WARMUP):
        next_turn(index)
    if url.startswith("sqlite"):  # the WAL from its start: its frames are the turns'
        checkpoint = connect(url.removeprefix("sqlite:///"))
        checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        checkpoint.close()
    if not url.startswith("sqlite"):  # (first: creating the extension writes WAL)
        _server_statements(url, reset=True)
    before, counted_before = _wal(url), statements[0]
    for index in range(WARMUP, WARMUP + plan["turns"]):
        next_turn(index)
    figures = {"statements": statements[0] - counted_before}
    if url.startswith("sqlite"):
        after = _wal(url)
        figures.update({name: after[name] - before.get(name, 0) for name in after})
    else:
        figures.update(_wal(url, since=before["lsn"]))
        figures.update(_server_statements(url))
    sys.stdout.write(json.dumps(figures) + "\n")


def _wal(url: str, since: str | None = None) -> dict:
    """SQLite: the frames in the WAL file by the b-tree their page belongs to (``frames
    <name>``; ``frames`` in all); a checkpoint that restarts the WAL while the turns run
    spoils them (runs of over ~100 turns). PostgreSQL: the WAL's position (``lsn``), and with
    `since` the records written since that position by type (``records <type>``, from
    ``pg_walinspect``), ``wal_records`` and ``wal_bytes`` in all."""
    if url.startswith("sqlite"):
        return _wal_frames(url.removeprefix("sqlite:///"))
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect SCHEMA public")
        (lsn,) = connection.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        if since is None:
            return {"lsn": lsn}
        (size,) = connection.execute("SELECT pg_wal_lsn_diff(%s, %s)", (lsn, since)).fetchone()
        if not size:  # nothing written (pg_get_wal_stats refuses an empty range)
            return {"wal_records": 0, "wal_bytes": 0}
        rows = connection.execute(
            'SELECT "resource_manager/record_type", count'
            " FROM public.pg_get_wal_stats(%s::pg_lsn, %s::pg_lsn, true) WHERE count > 0",
            (since, lsn),
        ).fetchall()
    figures = {f"records {kind}": int(count) for kind, count in rows}
    figures.update(wal_records=sum(figures.values()), wal_bytes=int(size))
    return figures


#: the figures of `pg_stat_statements` reported (its column, the name shown)
_STATEMENT_FIGURES = {
    "calls": "calls",
    "total_exec_time": "exec_ms",
    "total_plan_time": "plan_ms",
    "shared_blks_hit": "blks_hit",
    "shared_blks_dirtied": "blks_dirtied",
    "wal_records": "wal_records",
    "wal_bytes": "wal_bytes",
    "wal_fpi": "wal_fpi",
}
#: statements of this script itself, left out of the counts
_OWN_STATEMENTS = ("pg_stat_statements", "pg_walinspect", "pg_current_wal_lsn", "pg_get_wal")


def _server_statements(url: str, reset: bool = False) -> dict[str, float]:
    """The server's figures of each statement run since the last reset (`reset`: start
    counting now), named by the start of its text."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements SCHEMA public")
        if reset:
            connection.execute("SELECT public.pg_stat_statements_reset()")
            return {}
        columns = ", ".join(_STATEMENT_FIGURES)
        rows = connection.execute(
            f"SELECT query, {columns} FROM public.pg_stat_statements"
        ).fetchall()
    figures: dict[str, float] = {}
    for query, *values in rows:
        if any(own in query for own in _OWN_STATEMENTS):
            continue
        label = " ".join(query.split())[:48]
        for name, value in zip(_STATEMENT_FIGURES.values(), values, strict=True):
            key = f"pgss {label} {name}"
            figures[key] = figures.get(key, 0.0) + float(value)
    return figures


def _wal_frames(path: str) -> dict[str, int]:
    connection = sqlite3.connect(path)  # (its statement counted by no one: after the turns)
    try:
        owners = dict(connection.execute("SELECT pageno, name FROM dbstat"))
    finally:
        connection.close()
    data = Path(path + "-wal").read_bytes() if Path(path + "-wal").exists() else b""
    frames: dict[str, int] = {"frames": 0}
    if len(data) < 32:
        return frames
    page_size = int.from_bytes(data[8:12], "big")
    salts = data[16:24]
    for start in range(32, len(data) - 24 - page_size + 1, 24 + page_size):
        if data[start + 8 : start + 16] != salts:  # left from before the WAL restarted
            break
        page = int.from_bytes(data[start : start + 4], "big")
        name = f"frames {owners.get(page, 'page 1' if page == 1 else 'other')}"
        frames[name] = frames.get(name, 0) + 1
        frames["frames"] += 1
    return frames


def _run(plan: dict, cwd: Path, calls: str) -> tuple[dict, dict]:
    """One child under strace: its figures, and its counts of the traced system calls."""
    with tempfile.NamedTemporaryFile(suffix=".strace") as trace:
        command = ["strace", "-f", "-c", "-o", trace.name, "-e", f"trace={calls}",
                   sys.executable, "-m", "benchmarks.stores.counts",
                   "--child", json.dumps(plan)]  # fmt: skip
        found = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
        if found.returncode:
            raise SystemExit(f"the {plan['system']} run failed:\n{found.stderr}")
        counts = {}
        for line in Path(trace.name).read_text().splitlines():
            matched = _STRACE_ROW.match(line)
            if matched and matched.group(2) != "total":
                counts[matched.group(2)] = int(matched.group(1))
    return json.loads(found.stdout.strip().splitlines()[-1]), counts


def measure(url_for, system: str, turns: int, cwd: Path, calls: str) -> dict:
    """Per-turn figures of `system` (each run on a fresh database from `url_for()`)."""
    figures, counts = _run({"url": url_for(), "system": system, "turns": turns}, cwd, calls)
    _, baseline = _run({"url": url_for(), "system": system, "turns": 0}, cwd, calls)
    per_turn = {name: value / turns for name, value in figures.items()}
    for name in set(counts) | set(baseline):
        per_turn[name] = (counts.get(name, 0) - baseline.get(name, 0)) / turns
    return per_turn


def _sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / uuid.uuid4().hex}.db"


def _postgres_url(cluster) -> str:
    schema = f"c_{uuid.uuid4().hex[:12]}"
    cluster.create_schema(schema)
    return cluster.url_for_schema(schema)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stores.counts", description=__doc__)
    parser.add_argument("--turns", type=int, default=60)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--code", type=Path, default=Path.cwd(),
                        help="a tree holding the autograms package to count (default: "
                        "here; it needs this file too)")  # fmt: skip
    parser.add_argument("--child", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.child:
        child(json.loads(options.child))
        return
    if shutil.which("strace") is None:
        raise SystemExit("strace is not installed")
    work = Path(tempfile.mkdtemp(prefix="autograms-counts-"))
    results, cluster = {}, None
    try:
        for store in options.stores.split(","):
            if store == "sqlite":
                calls = "fdatasync,fsync,pwrite64,pread64"
                url_for = functools.partial(_sqlite_url, work)
            else:
                from benchmarks.stores import environment

                cluster = cluster or environment.start_cluster(
                    "shared_preload_libraries=pg_stat_statements",
                    "pg_stat_statements.track=all",
                    "pg_stat_statements.track_planning=on",
                )
                calls = "recvfrom"
                url_for = functools.partial(_postgres_url, cluster)
            for system in ("store", "optimistic", "raw"):
                figures = measure(url_for, system, options.turns, options.code, calls)
                results[f"{store} {system}"] = figures
                shown = "".join(f"\n  {key} {value:.3f}" for key, value in sorted(figures.items()))
                sys.stdout.write(f"{store} {system}:{shown}\n")
                sys.stdout.flush()
    finally:
        if cluster is not None:
            cluster.remove()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

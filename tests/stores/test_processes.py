"""Several worker processes on one store (SQLite and PostgreSQL), and crashes: kill -9 a
worker before and during its commit, kill -9 the PostgreSQL postmaster under load. After each,
the invariants of serving.md hold over every session (tests/stores/checks.py)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from autograms.stores import Sessions, TurnInProgressError, TurnRunner, open_store
from tests.stores import bots
from tests.stores.checks import check_store
from tests.stores.conftest import make_autogram

ROOT = Path(__file__).resolve().parents[2]


class Worker:
    """A `tests.stores.worker` process; its events are collected by a reader thread."""

    def __init__(self, plan: dict) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.stores.worker", json.dumps(plan)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.events: list[dict] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.events.append(json.loads(line))

    @property
    def acks(self) -> dict[str, str | None]:
        return {e["ack"]: e["reply"] for e in self.events if "ack" in e}

    def wait(self, timeout: float = 180) -> None:
        try:
            self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        self._reader.join(10)
        assert self.process.returncode == 0, self.process.stderr.read()

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._reader.join(10)


def make_sessions(url: str, count: int) -> list[str]:
    store = open_store(url)
    try:
        sessions = Sessions(make_autogram(), store)
        return [sessions.create(f"s{index:02d}").id for index in range(count)]
    finally:
        store.close()


@pytest.mark.parametrize("optimistic", [False, True], ids=["claimed", "optimistic"])
def test_four_processes_250_messages_each_over_20_sessions(store_url, optimistic) -> None:
    """Random interleaving: every session's transcript equals the sequential run of its
    messages, version == turn rows, every message applied exactly once, each process's
    messages to a session applied in the order it sent them. Optimistic runners too: most of
    their turns run on a copy another process made old, and run again through the claim."""
    sessions = make_sessions(store_url, 20)
    plans = []
    for number in range(4):
        chooser = random.Random(number)
        turns = [
            [chooser.choice(sessions), f"p{number}-m{index}", f"p{number}-m{index}"]
            for index in range(250)
        ]
        plans.append({"url": store_url, "turns": turns, "optimistic": optimistic})
    workers = [Worker(plan) for plan in plans]
    for worker in workers:
        worker.wait()
    sent = {key for plan in plans for _, _, key in plan["turns"]}
    acknowledged = {key: reply for w in workers for key, reply in w.acks.items()}
    assert set(acknowledged) == sent
    store = open_store(store_url)
    try:
        turns_of = check_store(make_autogram(), store, acknowledged, sent)
    finally:
        store.close()
    assert sum(map(len, turns_of.values())) == 1000
    for session, turns in turns_of.items():
        for number in range(4):
            mine = [t.user_text for t in turns if t.user_text.startswith(f"p{number}-")]
            assert mine == sorted(mine, key=lambda text: int(text.split("-m")[1])), session


def wait_until(reached, worker: Worker) -> None:
    deadline = time.monotonic() + 60
    while not reached():
        assert worker.process.poll() is None, worker.process.stderr.read()
        assert time.monotonic() < deadline, "the worker never got there"
        time.sleep(0.005)


def retry_same_key(url: str, session: str, text: str, key: str):
    """The client's retry after its worker died: same key, until the dead turn's lease ends."""
    store = open_store(url)
    try:
        runner = TurnRunner(make_autogram(), store, lease_seconds=0.5)
        deadline = time.monotonic() + 30
        while True:
            try:
                return runner.run_turn(session, text, key)
            except TurnInProgressError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        store.close()


def stall_postgres_commits(cluster, url: str) -> tuple[str, object]:
    """A URL whose commits stop inside the commit statement (a trigger sleeping on the turn
    row's insert, for connections named "stall-in-commit"; the server notices a dead client
    within 100 ms), and a test of whether such a commit is under way."""
    schema = url.rpartition("%3D")[2]
    function = f"""CREATE FUNCTION {schema}.stall() RETURNS trigger AS $$ BEGIN
        IF current_setting('application_name') = 'stall-in-commit' THEN
            PERFORM pg_sleep(60); END IF;
        RETURN NEW; END $$ LANGUAGE plpgsql"""
    cluster.psql(function)
    cluster.psql(
        f"CREATE TRIGGER stall BEFORE INSERT ON {schema}.autograms_turns"
        f" FOR EACH ROW EXECUTE FUNCTION {schema}.stall()"
    )
    stalling = (
        f"{cluster.url}?application_name=stall-in-commit&options=-csearch_path%3D{schema}"
        "%20-cclient_connection_check_interval%3D100"
    )

    def in_commit() -> bool:
        query = (
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'stall-in-commit'"
            " AND wait_event = 'PgSleep'"
        )
        return cluster.psql(query).strip() == "1"

    return stalling, in_commit


@pytest.mark.parametrize("moment", ["before commit", "during commit", "before commit, optimistic"])
def test_a_worker_killed_mid_turn_and_retried_with_the_same_key_applies_it_once(
    store_url, tmp_path, moment, request
) -> None:
    """Optimistic: the doomed turn runs on the copy of the worker's first turn, unclaimed."""
    optimistic = moment.endswith("optimistic")
    moment = moment.removesuffix(", optimistic")
    (session,) = make_sessions(store_url, 1)
    gate = tmp_path / "gate"
    first = ["start", "start"]
    if moment == "before commit":
        doomed = [f"{bots.GATE}{gate}", "doomed"]
        plan = {"url": store_url, "turns": [[session, *first], [session, *doomed]]}
        signal_file = Path(f"{gate}.entered")
        reached = signal_file.exists
    else:
        retry_same_key(store_url, session, *first)
        doomed = ["second", "doomed"]
        plan = {"url": store_url, "turns": [[session, *doomed]]}
        if store_url.startswith("sqlite"):
            marker = tmp_path / "in-commit"
            plan["stall_in_commit"] = str(marker)
            reached = marker.exists
        else:
            cluster = request.getfixturevalue("postgres_cluster")
            plan["url"], reached = stall_postgres_commits(cluster, store_url)
    plan["lease_seconds"] = 0.5
    plan["optimistic"] = optimistic
    worker = Worker(plan)
    wait_until(reached, worker)
    worker.kill()
    gate.touch()  # the retry's own run must not wait at the gate
    result = retry_same_key(store_url, session, *doomed)
    again = retry_same_key(store_url, session, *doomed)
    assert (result.version, again.version, again.replayed) == (2, 2, True)
    store = open_store(store_url)
    try:
        turns = check_store(make_autogram(), store, {"doomed": result.reply})[session]
    finally:
        store.close()
    assert [t.idempotency_key for t in turns] == ["start", "doomed"]


@pytest.mark.parametrize("optimistic", [False, True], ids=["claimed", "optimistic"])
def test_postmaster_killed_under_load_loses_no_acknowledged_turn(
    postgres_cluster, optimistic
) -> None:
    schema = f"crash_under_load_{int(optimistic)}"
    postgres_cluster.create_schema(schema)
    url = postgres_cluster.url_for_schema(schema)
    sessions = make_sessions(url, 6)
    plans = []
    for number in range(3):
        chooser = random.Random(100 + number)
        turns = [
            [chooser.choice(sessions), f"w{number}-{index}", f"w{number}-{index}"]
            for index in range(80)
        ]
        plans.append({"url": url, "turns": turns, "lease_seconds": 2.0, "optimistic": optimistic})
    workers = [Worker(plan) for plan in plans]
    deadline = time.monotonic() + 60
    while sum(len(w.acks) for w in workers) < 40:
        assert time.monotonic() < deadline, "the workers made no progress"
        time.sleep(0.01)
    postgres_cluster.kill()
    killed_at = sum(len(w.acks) for w in workers)
    time.sleep(0.3)
    postgres_cluster.start()
    for worker in workers:
        worker.wait()
    acknowledged = {key: reply for w in workers for key, reply in w.acks.items()}
    sent = {key for plan in plans for _, _, key in plan["turns"]}
    assert set(acknowledged) == sent and killed_at < len(sent)
    store = open_store(url)
    try:
        turns_of = check_store(make_autogram(), store, acknowledged, sent)
    finally:
        store.close()
    assert sum(map(len, turns_of.values())) == len(sent)


def test_a_slow_turn_keeps_its_place_while_a_stopped_worker_loses_it(store_url, tmp_path) -> None:
    """Worker A's turn runs for several leases: its renewed lease keeps B's message waiting
    (applied after A's, its program run once). Then A is stopped (SIGSTOP) inside its next
    turn: it renews nothing, so after its lease B goes ahead and commits; continued
    (SIGCONT), A's commit is refused and its message applied on top of B's."""
    (session,) = make_sessions(store_url, 1)
    slow, stopped = tmp_path / "slow", tmp_path / "stopped"
    slow_text, stopped_text = f"{bots.GATE}{slow}", f"{bots.GATE}{stopped}"
    turns = [[session, "start", "a0"], [session, slow_text, "a1"], [session, stopped_text, "a2"]]
    worker = Worker({"url": store_url, "turns": turns, "lease_seconds": 0.3})
    store = open_store(store_url)
    try:
        runner = TurnRunner(make_autogram(), store, lease_seconds=0.3, wait_seconds=30)
        wait_until(Path(f"{slow}.entered").exists, worker)
        time.sleep(1.0)  # more than three of A's leases
        queued = threading.Thread(target=runner.run_turn, args=(session, "b1", "b1"))
        queued.start()
        time.sleep(0.5)
        assert queued.is_alive(), "B ran while A's turn, renewing its lease, was running"
        slow.touch()
        queued.join(30)
        wait_until(Path(f"{stopped}.entered").exists, worker)
        stop_outside_transactions(worker, store_url)
        try:
            time.sleep(0.6)  # past A's lease
            assert runner.run_turn(session, "b2", "b2").version == 4
            stopped.touch()
        finally:
            os.kill(worker.process.pid, signal.SIGCONT)
        worker.wait(60)
        assert worker.acks and [e["version"] for e in worker.events if "ack" in e] == [1, 2, 5]
        turns = check_store(make_autogram(), store)[session]
        assert [t.idempotency_key for t in turns] == ["a0", "a1", "b1", "b2", "a2"]
    finally:
        store.close()


def stop_outside_transactions(worker: Worker, url: str) -> None:
    """SIGSTOP the worker, at a moment when its lease renewal holds no transaction open (a
    worker stopped inside one would hold the database's lock: another failure); bounded."""
    for _ in range(50):
        os.kill(worker.process.pid, signal.SIGSTOP)
        if not _writing(url):
            return
        os.kill(worker.process.pid, signal.SIGCONT)
        time.sleep(0.013)
    os.kill(worker.process.pid, signal.SIGSTOP)


def _writing(url: str) -> bool:
    """Whether another connection has a write transaction open on the store."""
    if url.startswith("sqlite"):
        import sqlite3

        connection = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            connection.close()
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        (count,) = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
            " AND datname = current_database() AND state IN ('active', 'idle in transaction')"
        ).fetchone()
    return count > 0

"""Outside tests of issue 13 (README "Sessions in a database"): turns exactly once -- retries,
idempotency keys, the queue, lost races, dead workers, a dead database.
"""

import os
import random
import signal
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stores_outside_support as sup  # noqa: E402

from autograms.stores import (  # noqa: E402
    IdempotencyKeyReusedError,
    SessionBusyError,
    SessionNotFoundError,
    TurnInProgressError,
    TurnRunner,
)


@pytest.fixture(params=sup.BACKENDS)
def url(request, tmp_path):
    return sup.new_store_url(request.param, tmp_path)


@pytest.fixture
def opened(url):
    store, sessions, runner = sup.open_all(sup.echo, url, lease_seconds=20, wait_seconds=20)
    yield url, store, sessions, runner
    store.close()


def test_retry_with_the_same_key_returns_the_stored_reply_without_running(opened):
    url, store, sessions, runner = opened
    sid = sessions.create().id
    runner.run_turn(sid, "hello", "k0")
    sup.RUNS["count"] = 0
    first = runner.run_turn(sid, "count me", "k1")
    runner.run_turn(sid, "later", "k2")
    again = runner.run_turn(sid, "count me", "k1")
    assert sup.RUNS["count"] == 1
    assert (again.reply, again.version, again.replayed) == (first.reply, first.version, True)
    assert not first.replayed
    with pytest.raises(IdempotencyKeyReusedError) as info:
        runner.run_turn(sid, "count me twice", "k1")
    assert info.value.reason == "key reused" and "k1" in str(info.value)
    assert sup.RUNS["count"] == 1
    assert sessions.record(sid).version == 3


def test_same_key_while_its_turn_runs_is_in_progress(opened, tmp_path):
    url, store, sessions, runner = opened
    sid = sessions.create().id
    runner.run_turn(sid, "hello", "k0")
    paused = sup.PausedTurn(runner, sid, "A", tmp_path)
    try:
        with pytest.raises(TurnInProgressError) as info:
            runner.run_turn(sid, paused.text, "A")
        assert info.value.reason == "in progress"
    finally:
        result = paused.release()
    assert result.reply == "1:block-A"
    assert runner.run_turn(sid, paused.text, "A").replayed


def test_enqueue_applies_messages_in_arrival_order(opened, tmp_path):
    url, store, sessions, runner = opened
    sid = sessions.create().id
    runner.run_turn(sid, "hello", "k0")
    paused = sup.PausedTurn(runner, sid, "A", tmp_path)
    threads = []
    try:
        for n, name in enumerate("BCDE"):
            t = threading.Thread(target=runner.run_turn, args=(sid, name, name), daemon=True)
            t.start()
            threads.append(t)
            # the next message arrives once this one waits in the queue (its ticket is there)
            t0 = time.monotonic()
            while (
                sup.sql(url, "SELECT count(*) FROM autograms_queue WHERE session_id = ?", (sid,))[
                    0
                ][0]
                < n + 2
            ):
                assert time.monotonic() - t0 < 20, "the message never reached the queue"
                time.sleep(0.02)
    finally:
        paused.release()
        for t in threads:
            t.join(30)
    assert [t.user_text for t in store.turns(sid)] == ["hello", "block-A", "B", "C", "D", "E"]
    assert sessions.record(sid).version == 6


@pytest.mark.parametrize("policy", ["enqueue", "reject"])
def test_a_turn_paused_past_its_lease_never_forks_the_session(policy, url, tmp_path):
    from autograms.stores import Sessions, open_store

    store = open_store(url)
    try:
        sessions = Sessions(sup.echo, store)
        runner = TurnRunner(sup.echo, store, policy=policy, lease_seconds=0.5, wait_seconds=10)
        sid = sessions.create().id
        runner.run_turn(sid, "hello", "k0")
        # a thread held in its program stands for a paused worker: that renews no lease
        paused_runner = TurnRunner(
            sup.echo, store, policy=policy, lease_seconds=0.5, wait_seconds=10, renew_lease=False
        )
        paused = sup.PausedTurn(paused_runner, sid, "A", tmp_path)
        time.sleep(1.0)  # past A's lease
        try:
            assert runner.run_turn(sid, "B", "B").reply == "1:B"
        finally:
            result = paused.release()
        texts = [t.user_text for t in store.turns(sid)]
        if policy == "enqueue":
            assert result.reply == "2:B|block-A"
            assert texts == ["hello", "B", "block-A"]
        else:
            assert isinstance(result, SessionBusyError) and result.reason == "busy"
            assert texts == ["hello", "B"]
            assert runner.run_turn(sid, "block-A", "A").reply == "2:B|block-A"
    finally:
        store.close()


def test_delete_while_a_turn_runs_reports_not_found_to_it(opened, tmp_path):
    url, store, sessions, runner = opened
    sid = sessions.create().id
    runner.run_turn(sid, "hello", "k0")
    paused = sup.PausedTurn(runner, sid, "A", tmp_path)
    try:
        sessions.delete(sid)
    finally:
        result = paused.release()
    assert isinstance(result, SessionNotFoundError)
    with pytest.raises(SessionNotFoundError):
        sessions.get(sid)
    assert sup.sql(url, "SELECT count(*) FROM autograms_turns WHERE session_id = ?", (sid,)) == [
        (0,)
    ]


def test_threads_sharing_one_runner_apply_every_message_once(opened):
    url, store, sessions, runner = opened
    sids = [sessions.create().id for _ in range(3)]
    errors = []

    def work(w):
        for i in range(12):
            try:
                runner.run_turn(sids[i % 3], f"t{w}-m{i}", f"t{w}-k{i}")
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    acked = {(sids[i % 3], f"t{w}-k{i}") for w in range(4) for i in range(12)}
    sup.check_store(store, sessions, sids, acked)
    assert sum(sessions.record(s).version for s in sids) == 48


def _read_acks(proc, sids, prefix):
    # read through the same buffered pipe as the "ready" line (communicate(timeout=...) reads
    # the raw descriptor and would drop lines already buffered); a timer bounds the wait
    timer = threading.Timer(180, proc.kill)
    timer.start()
    try:
        out = proc.stdout.read()
        proc.wait(30)
    finally:
        timer.cancel()
    acked = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit():
            i = int(parts[0])
            acked.add((sids[i % len(sids)], f"{prefix}-k{i}"))
    return acked, out


def test_processes_interleaving_on_shared_sessions_apply_every_message_once(opened):
    url, store, sessions, runner = opened
    sids = [sessions.create().id for _ in range(4)]
    procs = [sup.start_worker(url, 0, 20, sids, f"p{w}") for w in range(3)]
    acked = set()
    try:
        for w, p in enumerate(procs):
            got, out = _read_acks(p, sids, f"p{w}")
            assert p.returncode == 0, out
            acked |= got
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
    assert len(acked) == 60
    sup.check_store(store, sessions, sids, acked)


def test_workers_killed_at_random_moments_then_retried_apply_each_message_once(opened):
    """kill -9 a worker at random moments (before, during, after its commits); a new worker
    retries from the first unacknowledged message with the same keys."""
    url, store, sessions, runner = opened
    sids = [sessions.create().id for _ in range(2)]
    rnd = random.Random(13)
    total, nxt, kills, acked = 100, 0, 0, set()
    t0 = time.monotonic()
    while nxt < total and time.monotonic() - t0 < 240:
        p = sup.start_worker(url, nxt, total, sids, "kill")
        try:
            assert p.stdout.readline().strip() == "ready"
            if kills < 12:
                time.sleep(rnd.uniform(0.0, 0.12))
                p.send_signal(signal.SIGKILL)
                kills += 1
            got, _ = _read_acks(p, sids, "kill")
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(10)
        acked |= got
        done = [int(k.rsplit("-k", 1)[1]) for _, k in got]
        if done:
            nxt = max(done) + 1
    assert nxt == total
    sup.check_store(store, sessions, sids, acked)
    assert sum(sessions.record(s).version for s in sids) == total


@pytest.mark.slow
def test_postmaster_killed_under_load_keeps_every_acknowledged_turn():
    if not sup.pg_available():
        pytest.skip("PostgreSQL 15 or psycopg is not installed")
    from autograms.stores import Sessions, open_store

    cluster = sup.PGCluster()  # its own: this test kills it
    procs = []
    try:
        url = cluster.new_database()
        store = open_store(url)
        sessions = Sessions(sup.echo, store)
        sids = [sessions.create().id for _ in range(3)]
        store.close()
        procs = [sup.start_worker(url, 0, 25, sids, f"w{w}") for w in range(2)]
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        time.sleep(1.0)
        cluster.kill9()
        time.sleep(1.0)
        cluster.restart_after_kill()
        acked = set()
        for w, p in enumerate(procs):
            got, out = _read_acks(p, sids, f"w{w}")
            assert p.returncode == 0, out
            acked |= got
        assert len(acked) == 50
        store = open_store(url)
        try:
            sup.check_store(store, Sessions(sup.echo, store), sids, acked)
        finally:
            store.close()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
        cluster.stop()


def test_the_program_runs_with_no_database_lock_or_transaction_held(opened, tmp_path):
    url, store, sessions, runner = opened
    a, b = sessions.create().id, sessions.create().id
    runner.run_turn(a, "hello", "k0")
    runner.run_turn(b, "hello", "k0")
    paused = sup.PausedTurn(runner, a, "A", tmp_path)
    try:
        t0 = time.monotonic()
        assert runner.run_turn(b, "meanwhile", "k1").reply == "1:meanwhile"
        assert time.monotonic() - t0 < 5
        if url.startswith("sqlite"):
            import sqlite3

            conn = sqlite3.connect(url[len("sqlite:///") :], timeout=1, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")  # the write lock is free
                conn.execute("ROLLBACK")
            finally:
                conn.close()
        else:
            rows = sup.sql(
                url,
                "SELECT state FROM pg_stat_activity WHERE datname = "
                "current_database() AND pid <> pg_backend_pid()",
            )
            assert all(state == "idle" for (state,) in rows), rows
    finally:
        assert paused.release().reply == "1:block-A"


def test_reject_policy_refuses_a_second_message_at_once_and_enqueue_times_out(url, tmp_path):
    from autograms.stores import Sessions, open_store

    store = open_store(url)
    try:
        sessions = Sessions(sup.echo, store)
        runner = TurnRunner(sup.echo, store, lease_seconds=20, wait_seconds=1)
        rejecting = TurnRunner(sup.echo, store, policy="reject", lease_seconds=20)
        sid = sessions.create().id
        runner.run_turn(sid, "hello", "k0")
        paused = sup.PausedTurn(runner, sid, "A", tmp_path)
        try:
            t0 = time.monotonic()
            with pytest.raises(SessionBusyError) as info:
                rejecting.run_turn(sid, "B", "B")
            assert time.monotonic() - t0 < 5  # not after a wait
            assert info.value.reason == "busy" and sid in str(info.value)
            with pytest.raises(SessionBusyError):
                runner.run_turn(sid, "C", "C")  # waits wait_seconds in the queue
        finally:
            assert paused.release().reply == "1:block-A"
        # neither refused message holds the session (else: SessionBusyError after 1 s)
        assert runner.run_turn(sid, "B", "B").reply == "2:block-A|B"
        assert runner.run_turn(sid, "C", "C").reply == "3:block-A|B|C"
    finally:
        store.close()

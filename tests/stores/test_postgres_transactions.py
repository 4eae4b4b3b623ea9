"""The PostgreSQL store's transactions as the server counts them: a claim -- the session's
advisory lock, the ticket and the read, sent as one pipeline with no BEGIN -- is one
transaction whose commit nobody waits for (the queue is a hint), and a turn's commit is
flushed to disk before it returns; a turn's ticket takes over the row of the one before it;
a claim that finds its session deleted under it reports it not found.

The count is the cluster's WAL flushes (``pg_stat_wal.wal_sync``), on a cluster of this test's
own (no other test's backends report theirs meanwhile). A backend reports its counts when it
ends, so each phase closes its store and waits for its connections to be gone."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from autograms.stores import SessionNotFoundError, Sessions, TurnRunner, open_store
from tests.stores.cluster import PostgresCluster, find_bindir
from tests.stores.conftest import make_autogram

CLAIMS = 40
TURNS = 10


@pytest.fixture
def own_cluster():
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL 15 is not installed (tools/system_deps.sh installs it)")
    cluster = PostgresCluster(bindir)
    try:
        cluster.start()
        cluster.create_schema("claims")
        yield cluster
    finally:
        cluster.remove()


def _flushes_after(cluster: PostgresCluster, store) -> int:
    """The cluster's WAL flushes so far, once `store` is closed and its backends have ended
    (and so reported their counts)."""
    store.close()
    deadline = time.monotonic() + 20
    query = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
    )
    while int(cluster.psql(query).strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # a backend leaves pg_stat_activity about when it reports
    return int(cluster.psql("SELECT wal_sync FROM pg_stat_wal").strip())


def test_claims_are_single_unflushed_transactions_and_commits_are_flushed(own_cluster) -> None:
    url = own_cluster.url_for_schema("claims")
    autogram = make_autogram()
    store = open_store(url)
    Sessions(autogram, store).create("chat")
    before = _flushes_after(own_cluster, store)

    store = open_store(url)
    # each claim takes a ticket of its own (a write): were the ticket written in a
    # transaction apart from the one the lock made not durable, each would be flushed
    tickets = [store.claim("chat", f"k{n}", 30.0).ticket for n in range(CLAIMS)]
    assert all(ticket is not None for ticket in tickets)
    for ticket in tickets:
        store.release(ticket)
    claimed = _flushes_after(own_cluster, store) - before
    assert claimed < CLAIMS // 2, f"{claimed} flushes for {CLAIMS} claims and releases"

    store = open_store(url)
    runner = TurnRunner(autogram, store)
    for n in range(TURNS):
        runner.run_turn("chat", f"message {n}", f"turn-{n}")
    assert store.load_session("chat").version == TURNS
    before = before + claimed
    assert _flushes_after(own_cluster, store) - before >= TURNS


def test_a_turn_after_a_committed_one_takes_over_its_tickets_row(own_cluster) -> None:
    url = own_cluster.url_for_schema("claims")
    autogram = make_autogram()
    store = open_store(url)
    Sessions(autogram, store).create("chat")
    runner = TurnRunner(autogram, store)
    for n in range(TURNS):
        runner.run_turn("chat", f"message {n}", f"turn-{n}")
    _flushes_after(own_cluster, store)  # the backends have reported their counts
    counts = own_cluster.psql(
        "SELECT n_tup_ins, n_tup_del FROM pg_stat_user_tables"
        " WHERE schemaname = 'claims' AND relname = 'autograms_queue'"
    ).strip()
    # the first turn's ticket is a new row; each later turn's takes over the row its committed
    # predecessor left (an INSERT and a DELETE each would write more and check the key)
    assert counts == "1|0", f"queue rows inserted|deleted over {TURNS} turns: {counts}"
    assert own_cluster.psql("SELECT count(*) FROM claims.autograms_queue").strip() == "1"


def test_a_session_deleted_while_its_claim_waits_is_not_found(postgres_cluster) -> None:
    import psycopg

    postgres_cluster.create_schema("deleted_mid_claim")
    url = postgres_cluster.url_for_schema("deleted_mid_claim")
    autogram = make_autogram()
    store = open_store(url)
    try:
        Sessions(autogram, store).create("chat")
        runner = TurnRunner(autogram, store)
        runner.run_turn("chat", "first", "k1")
        with psycopg.connect(url) as deleting, ThreadPoolExecutor(1) as pool:
            # deleted, not yet committed: the claim reads the session, then waits for the
            # finished ticket's row the delete holds
            deleting.execute("DELETE FROM autograms_sessions WHERE id = 'chat'")
            turn = pool.submit(runner.run_turn, "chat", "second", "k2")
            _wait_for_a_backend_waiting_on_a_lock(postgres_cluster, turn)
            deleting.commit()
            with pytest.raises(SessionNotFoundError):
                turn.result(timeout=60)
    finally:
        store.close()


def _wait_for_a_backend_waiting_on_a_lock(cluster: PostgresCluster, turn) -> None:
    deadline = time.monotonic() + 60
    query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
    while int(cluster.psql(query).strip()) == 0:
        assert not turn.done(), f"the turn ended without waiting for the delete: {turn}"
        assert time.monotonic() < deadline, "no backend waited for the delete's lock in 60 s"
        time.sleep(0.02)

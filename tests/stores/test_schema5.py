"""Schema 5 on SQLite and PostgreSQL: the queue keyed by (session, idempotency key), its
tickets numbered per session; and the migration from a schema-4 store (made by the test:
written by this release, then its queue taken back to schema 4's table) with a ticket
waiting and a committed turn's ticket left in the queue."""

from __future__ import annotations

import pytest

from autograms.stores import (
    SCHEMA_VERSION,
    SessionBusyError,
    Sessions,
    StoreSchemaError,
    TurnInProgressError,
    TurnRunner,
    migrate,
    open_store,
)
from autograms.stores.records import Ticket
from tests.stores.conftest import make_autogram
from tests.stores.old_schemas import back_to_schema_4
from tests.stores.test_schema4 import MESSAGES, _chat, query_sql

QUEUED = "SELECT idempotency_key, ticket FROM autograms_queue WHERE session_id = ? ORDER BY ticket"


def _queue_indexes(url: str) -> list[str]:
    """The b-trees of the queue besides its table's own (SQLite) or its indexes (PostgreSQL)."""
    if url.startswith("sqlite"):
        return [
            row[0]
            for row in query_sql(
                url,
                "SELECT name FROM sqlite_master WHERE type = 'index'"
                " AND tbl_name = 'autograms_queue'",
            )
        ]
    return [
        row[0]
        for row in query_sql(
            url,
            "SELECT indexname FROM pg_indexes WHERE tablename = 'autograms_queue'"
            " AND schemaname = current_schema()",
        )
    ]


def test_the_queue_is_one_b_tree_keyed_by_session_and_key(store_url) -> None:
    _chat(store_url, None)
    # SQLite: the rows in their key's b-tree, no index; PostgreSQL: the key's index alone
    assert _queue_indexes(store_url) == (
        [] if store_url.startswith("sqlite") else ["autograms_queue_key"]
    )


def test_tickets_are_numbered_per_session_and_each_holds_its_own_place(store_url) -> None:
    autogram = make_autogram()
    store = open_store(store_url)
    try:
        sessions = Sessions(autogram, store)
        for sid in ("a", "b"):
            sessions.create(sid)
        first_a, first_b = store.claim("a", "k", 30).ticket, store.claim("b", "k", 30).ticket
        assert first_a.number == first_b.number == 1 and first_a != first_b
        second_a = store.claim("a", "k2", 30).ticket
        assert second_a.number == 2
        runner = TurnRunner(autogram, store, policy="reject")
        store.release(first_a)  # leaves a's queue only: b's ticket numbered 1 still holds
        with pytest.raises(SessionBusyError):
            runner.run_turn("b", "x", "other")
        with pytest.raises(SessionBusyError):  # a's second ticket is now first, not this one
            runner.run_turn("a", "x", "other")
        assert store.renew(first_b, 30) and not store.renew(first_a, 30)
        # a stale copy of a ticket (its number taken again by the key later) is not renewed
        store.release(second_a)
        again = store.claim("a", "k", 30).ticket
        assert not store.renew(Ticket("a", "k", again.number + 1), 30)
        store.release(again)
        assert runner.run_turn("a", "x", "other").version == 1
    finally:
        store.close()


def test_a_schema_4_store_is_refused_until_migrated_and_keeps_its_queue(store_url) -> None:
    replies = _chat(store_url, None)
    store = open_store(store_url)
    try:
        waiting = store.claim("chat", "k3", 30).ticket  # a turn of k3 runs somewhere
    finally:
        store.close()
    back_to_schema_4(store_url)
    with pytest.raises(StoreSchemaError) as info:
        open_store(store_url, create=False)
    assert info.value.reason == "old schema"
    assert migrate(store_url) == SCHEMA_VERSION
    queued = query_sql(store_url, QUEUED, ("chat",))
    assert [key for key, _ in queued] == ["k3"]  # (k2's, committed, swept by k3's claim)
    store = open_store(store_url, create=False)
    try:
        assert store.schema_version() == SCHEMA_VERSION
        autogram = make_autogram()
        runner = TurnRunner(autogram, store, policy="reject")
        with pytest.raises(SessionBusyError):  # k3's ticket still holds its place
            runner.run_turn("chat", "d", "k4")
        with pytest.raises(TurnInProgressError):  # and still says its turn runs
            runner.run_turn("chat", "c2", "k3")
        again = runner.run_turn("chat", MESSAGES[2], "k2")
        assert again.replayed and again.reply == replies[2]
        store.release(Ticket("chat", "k3", dict(queued)["k3"]))  # the ticket as migrated
        assert waiting.idempotency_key == "k3"
        assert runner.run_turn("chat", "d", "k4").reply.startswith("4 ")
        assert runner.run_turn("chat", "e", "k3").version == 6
        assert [key for key, _ in query_sql(store_url, QUEUED, ("chat",))] == ["k3"]
        assert [t.idempotency_key for t in store.turns("chat")][-2:] == ["k4", "k3"]
    finally:
        store.close()

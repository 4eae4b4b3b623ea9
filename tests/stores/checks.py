"""The invariants of serving.md, checked over every session of a store:

1. every acknowledged turn is in the store (with the reply the client got);
2. no half-applied turn: version == number of turn rows, and the blob resumes;
3. each message applied once (keys are unique, every turn row is a message that was sent);
4. no fork: the committed turns, replayed one after the other without any store, give the
   stored replies, and the stored blob continues exactly as that replay does.
"""

from __future__ import annotations

from autograms import Autogram
from autograms.stores import Store, TurnRecord
from autograms.stores.runner import restore

PROBE = "probe"


def replay(autogram: Autogram, texts: list[str]) -> tuple[list[str | None], object]:
    """The replies of `texts` sent one after the other to a new in-memory session."""
    memory, replies = None, []
    for text in texts:
        reply, memory = autogram.reply(text, memory_object=memory)
        replies.append(reply)
    return replies, memory


def check_store(
    autogram: Autogram,
    store: Store,
    acknowledged: dict[str, str | None] | None = None,
    sent: set[str] | None = None,
) -> dict[str, list[TurnRecord]]:
    """Check invariants 1-4 over every session; returns each session's turns.
    `acknowledged` maps idempotency keys to the replies clients got; `sent` holds every key
    a client sent."""
    turns_of = {}
    for record in store.list_sessions(limit=10_000):
        turns = store.turns(record.id)
        session = store.load_session(record.id)
        assert session.version == len(turns), record.id
        assert [turn.version for turn in turns] == list(range(1, len(turns) + 1)), record.id
        replies, memory = replay(autogram, [turn.user_text for turn in turns])
        assert [turn.reply for turn in turns] == replies, record.id
        if turns:
            expected = autogram.reply(PROBE, memory_object=memory)[0]
            stored = restore(autogram, store, session)
            assert autogram.reply(PROBE, memory_object=stored)[0] == expected, record.id
        logged = [
            entry["user_reply"]
            for entry in store.read_log(record.id)
            if entry["entry_type"] == "user_reply"
        ]
        assert logged == [turn.user_text for turn in turns], record.id
        turns_of[record.id] = turns
    keys = [turn.idempotency_key for turns in turns_of.values() for turn in turns]
    assert len(keys) == len(set(keys)), "a message was applied twice"
    committed = {turn.idempotency_key: turn.reply for t in turns_of.values() for turn in t}
    for key, reply in (acknowledged or {}).items():
        assert key in committed, f"acknowledged turn {key} is missing"
        assert committed[key] == reply, key
    if sent is not None:
        assert set(committed) <= sent, "a turn nobody sent was committed"
    return turns_of

"""What makes a signed store refuse a row edited in the database: seals and the log's chain.

A blob's own signature (`autograms.session`) says nothing of where the blob is kept: another
session's blob copied into a row, or one of the session's own earlier blobs put back, would
pass every envelope check. So with a session key, each session row carries a *seal*::

    HMAC-SHA256(key, JSON [program, id, owner, version, log_head, turns, history_digest]
                + "\\n" + blob)

(``turns`` left out for a row sealed before schema 3 that has had no turn since,
``history_digest`` for one sealed before schema 4), its log a
*chain*: ``log_head`` is SHA-256 folded over the log's entries in order (each entry's turn
version, position in its turn and stored text), so a log row edited, added or removed no longer
ends at the sealed head; and each turn row a seal of its own::

    HMAC-SHA256(key, JSON ["turn", session id, version, idempotency key, message, reply])

A row is checked against its seal before its blob is decoded, and its log against the sealed
head before an entry is shown or used. A turn row is checked against its seal before its reply
is replayed, and before a new turn runs the session's number of turn rows is checked against
its sealed ``turns``: a row deleted (its message would run a second time) is refused. Without a
key none is written.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from .. import session
from .._entry_codec import to_stored
from .._errors import SessionError
from .errors import StoredSessionError
from .records import SessionRecord, TurnRecord

#: the head of an empty log
EMPTY_HEAD = ""


def entry_text(entry: dict[str, Any]) -> str:
    """How a log entry is stored (and chained): compact JSON of the entry as
    ``autograms._entry_codec`` stores it (a value JSON does not give back exactly pickled)."""
    return stored_text(to_stored(entry))


def stored_text(stored: dict[str, Any]) -> str:
    """The text of an entry already in its stored form (`entry_text`)."""
    return _ENTRY_ENCODER.encode(stored)


#: the encoder of log rows (built once)
_ENTRY_ENCODER = json.JSONEncoder(separators=(",", ":"))


def next_head(head: str | None, rows: Iterable[tuple[int, int, str]]) -> str:
    """The chain's head after `head` and the log rows ``(version, position, entry text)``."""
    current = head or EMPTY_HEAD
    for version, position, text in rows:
        step = f"{current}\n{version}:{position}\n{text}".encode()
        current = hashlib.sha256(step).hexdigest()
    return current


def head_after(head: str | None, version: int, entries: list[dict[str, Any]]) -> str:
    """The chain's head once a turn (or an import, at version 0) appends `entries`."""
    return next_head(head, ((version, n, entry_text(e)) for n, e in enumerate(entries)))


def seal(
    key: bytes,
    *,
    program: str | None,
    session_id: str,
    owner: str | None,
    version: int,
    log_head: str,
    blob: str,
    turns: int | None,
    history_digest: str | None = None,
) -> str:
    """The seal of a session row holding `blob` at `version` after `turns` turns whose
    messages and replies digest to `history_digest` (None: a row sealed before schema 3,
    respectively 4, which did not bind them)."""
    fields: list[Any] = [program, session_id, owner, version, log_head]
    if turns is not None:
        fields.append(turns)
    if history_digest is not None:
        fields.append(history_digest)
    bound = json.dumps(fields, ensure_ascii=False)
    message = (bound + "\n" + blob).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sealed(key: bytes | None, record: SessionRecord, version: int, blob: str) -> str | None:
    """The seal of `record`'s row once it holds `blob` at `version` (its log unchanged); None
    without a key."""
    if key is None:
        return None
    head = record.log_head or EMPTY_HEAD
    return seal(
        key,
        program=record.program,
        session_id=record.id,
        owner=record.owner,
        version=version,
        log_head=head,
        blob=blob,
        turns=record.turns,
        history_digest=record.history_digest,
    )


def check_seal(key: bytes | None, record: SessionRecord) -> None:
    """Refuse (StoredSessionError) a row whose seal is missing or does not match; nothing
    when no key is configured."""
    if key is None:
        return
    if record.seal is None:
        raise _refused(
            record.id,
            "its row is not sealed (written without the session key, or before schema 2); "
            "run autograms.stores.migrate(url, session_key=...) once to seal the rows "
            "written before",
            "unsigned",
        )
    expected = sealed(key, record, record.version, record.blob or "")
    if not hmac.compare_digest(record.seal, expected or ""):
        raise _refused(
            record.id,
            "its row does not match its seal: tampered with in the database (edited, copied from "
            "another session or set back to an earlier version; the row says version "
            f"{record.version})",
            "tampered",
        )


def check_log(session_id: str, head: str | None, rows: list[tuple[int, int, str]]) -> None:
    """Refuse a log whose rows do not end at the sealed `head`."""
    if next_head(EMPTY_HEAD, rows) != (head or EMPTY_HEAD):
        raise _refused(
            session_id,
            "its log does not match its seal: tampered with in the database (a log row edited, "
            "added or removed)",
            "tampered",
        )


def turn_seal(key: bytes, turn: TurnRecord) -> str:
    """The seal of a turn row."""
    bound = [
        "turn",
        turn.session_id,
        turn.version,
        turn.idempotency_key,
        turn.user_text,
        turn.reply,
    ]
    message = json.dumps(bound, ensure_ascii=False).encode()
    return hmac.digest(key, message, "sha256").hex()


def check_turn_seal(key: bytes | None, turn: TurnRecord) -> None:
    """Refuse (StoredSessionError) a turn row whose seal is missing or does not match: its
    message, reply or idempotency key edited, or swapped with another row's; nothing when no
    key is configured."""
    if key is None:
        return
    where = f"its turn row {turn.version} (idempotency key {turn.idempotency_key!r})"
    if turn.seal is None:
        raise _refused(
            turn.session_id,
            f"{where} is not sealed (written without the session key, or before schema 3); "
            "run autograms.stores.migrate(url, session_key=...) once to seal the rows written "
            "before",
            "unsigned",
        )
    if not hmac.compare_digest(turn.seal, turn_seal(key, turn)):
        raise _refused(
            turn.session_id,
            f"{where} does not match its seal: tampered with in the database",
            "tampered",
        )


def check_turn_seals(key: bytes | None, turns: Iterable[TurnRecord]) -> None:
    """`check_turn_seal` over each of `turns` (rows a caller compares or shows)."""
    if key is None:
        return
    for turn in turns:
        check_turn_seal(key, turn)


def check_turn_count(key: bytes | None, store: Any, record: SessionRecord) -> None:
    """Refuse a session (whose seal was checked) with fewer turn rows than its sealed number
    of turns: a turn row deleted in the database, whose message a retry would apply again.
    Nothing without a key, or for a row sealed before schema 3 (its turns are not bound)."""
    if key is None or record.turns is None:
        return
    count = store.count_turns(record.id, record.version)
    if count != record.turns:
        raise _refused(
            record.id,
            f"it has {count} turn rows, its seal says {record.turns}: a turn row was deleted "
            "or added in the database",
            "tampered",
        )


def check_turn(session_id: str, turn: TurnRecord, entries: list[dict[str, Any]]) -> None:
    """Refuse a turn row whose message or reply differ from the turn's entries in the (checked)
    log (before a row written without a seal is sealed)."""
    entries = [entry for entry in entries if isinstance(entry, dict)]  # a program's may not be
    said = [e.get("user_reply") for e in entries if e.get("entry_type") == "user_reply"]
    replies = [e.get("reply") for e in entries if e.get("entry_type") == "agent_reply"]
    if said[:1] != [turn.user_text] or turn.reply != (replies[-1] if replies else None):
        raise _refused(
            session_id,
            f"its turn row {turn.version} (idempotency key {turn.idempotency_key!r}) does not "
            "match its sealed log: tampered with in the database",
            "tampered",
        )


def _refused(session_id: str, why: str, reason: str) -> StoredSessionError:
    return StoredSessionError(
        f"stored session {session_id!r} refused: {why}", reason=reason, session_id=session_id
    )


def key_of(autogram: Any) -> bytes | None:
    """The session key `autogram` signs with (None: unsigned)."""
    return session.session_key(autogram.config.session_key)


def sealing(
    key: bytes | None,
    record: SessionRecord,
    version: int,
    blob: str,
    entries: list[dict[str, Any]],
) -> tuple[str | None, str | None]:
    """``(log_head, seal)`` of `record`'s row once it holds `blob` at `version` and its log
    has `entries` appended (a turn, or a new session at version 0); (None, None) without a
    key."""
    if key is None:
        return None, None
    head = head_after(record.log_head, version, entries)
    return head, seal(
        key,
        program=record.program,
        session_id=record.id,
        owner=record.owner,
        version=version,
        log_head=head,
        blob=blob,
        turns=record.turns,
        history_digest=record.history_digest,
    )


def seal_unsealed(store: Any, key: bytes) -> tuple[int, list[str]]:
    """Seal every row of `store` that has no seal and whose blob's own signature checks with
    `key` (the rows a signed store wrote before schema 2), and the turn rows without a seal
    of every sealed row (written before schema 3) that match its sealed log; returns how many
    session rows were sealed, and the ids of the rows left unsealed (their blob is unsigned
    or signed with another key). Run it once, when upgrading: a row copied by hand before
    then would be sealed as it is."""
    count, refused, offset, page = 0, [], 0, 500
    while True:
        listed = store.list_sessions(None, page, offset)
        for row in listed:
            record = store.load_session(row.id)
            if record is None:
                continue
            if record.seal is None:
                try:
                    session.decode(record.blob, key=key)
                except SessionError:
                    refused.append(record.id)
                    continue
                head = store.log_head(record.id, record.version)
                record = replace(record, log_head=head)
                signed = sealed(key, record, record.version, record.blob)
                if not store.seal_session(record.id, record.version, head, signed):
                    continue
                count += 1
                record = replace(record, seal=signed)
            _seal_turns(store, key, record)
        if len(listed) < page:
            return count, refused
        offset += page


def _seal_turns(store: Any, key: bytes, record: SessionRecord) -> None:
    """Seal the turn rows of `record` that have none, each checked first against the turn's
    entries in the session's log (checked against its seal)."""
    unsealed = [turn for turn in store.turns(record.id) if turn.seal is None]
    if not unsealed:
        return
    check_seal(key, record)
    store.read_log(record.id, record.version, head=record.log_head or EMPTY_HEAD)
    for turn in unsealed:
        check_turn(record.id, turn, store.read_log(record.id, turn=turn.version))
    store.seal_turns(record.id, {turn.version: turn_seal(key, turn) for turn in unsealed})


def check_stored(key: bytes | None, store: Any, record: SessionRecord) -> None:
    """Refuse a row of a signed store, or its log, that does not match its seal (nothing is
    decoded or unpickled); nothing without a key."""
    check_seal(key, record)
    if key is not None:
        store.read_log(record.id, record.version, head=record.log_head or EMPTY_HEAD)

"""What makes a signed store refuse a row edited in the database: seals and the log's chain.

A blob's own signature (`autograms.session`) says nothing of where the blob is kept: another
session's blob copied into a row, or one of the session's own earlier blobs put back, would
pass every envelope check. So with a session key, each session row carries a *seal*::

    HMAC-SHA256(key, JSON [program, id, owner, version, log_head] + "\\n" + blob)

and its log a *chain*: ``log_head`` is SHA-256 folded over the log rows in order (each row's
version, position and entry text), so a log row edited, added or removed no longer ends at the
sealed head. A row is checked against its seal before its blob is decoded, and its log against
the sealed head before an entry is shown or used. Without a key neither is written.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from .. import session
from .._errors import SessionError
from .errors import StoredSessionError
from .records import SessionRecord, TurnRecord

#: the head of an empty log
EMPTY_HEAD = ""


def entry_text(entry: dict[str, Any]) -> str:
    """How a log entry is stored (and chained): compact JSON."""
    return json.dumps(entry, separators=(",", ":"), default=repr)


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
) -> str:
    """The seal of a session row holding `blob` at `version`."""
    bound = json.dumps([program, session_id, owner, version, log_head], ensure_ascii=False)
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


def check_turn(session_id: str, turn: TurnRecord, entries: list[dict[str, Any]]) -> None:
    """Refuse a turn row whose message or reply differ from the turn's entries in the (checked)
    log: the turn rows are not sealed themselves, the log they repeat is."""
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
    )


def seal_unsealed(store: Any, key: bytes) -> tuple[int, list[str]]:
    """Seal every row of `store` that has no seal and whose blob's own signature checks with
    `key` (the rows a signed store wrote before schema 2); returns how many were sealed, and
    the ids of the rows left unsealed (their blob is unsigned or signed with another key).
    Run it once, when upgrading: a row copied by hand before then would be sealed as it is."""
    count, refused, offset, page = 0, [], 0, 500
    while True:
        listed = store.list_sessions(None, page, offset)
        for row in listed:
            record = store.load_session(row.id)
            if record is None or record.seal is not None:
                continue
            try:
                session.decode(record.blob, key=key)
            except SessionError:
                refused.append(record.id)
                continue
            head = store.log_head(record.id, record.version)
            signed = sealed(key, replace(record, log_head=head), record.version, record.blob)
            count += store.seal_session(record.id, record.version, head, signed)
        if len(listed) < page:
            return count, refused
        offset += page


def check_stored(key: bytes | None, store: Any, record: SessionRecord) -> None:
    """Refuse a row of a signed store, or its log, that does not match its seal (nothing is
    decoded or unpickled); nothing without a key."""
    check_seal(key, record)
    if key is not None:
        store.read_log(record.id, record.version, head=record.log_head or EMPTY_HEAD)

"""Checking what a caller hands a store before anything runs or is written: session ids,
owners, idempotency keys and messages must be text the database can hold and index."""

from __future__ import annotations

from .errors import InvalidInputError

#: the longest session id, owner or idempotency key, in UTF-8 bytes: a session id and a key
#: together stay below PostgreSQL's limit for one index row (2,704 bytes)
MAX_ID_BYTES = 1000


def check_id(what: str, value: object, session_id: str | None = None) -> str:
    """`value` as a session id, owner or idempotency key (`what` names the argument)."""
    text = check_text(what, value, holds_nul=False, session_id=session_id)
    size = len(text.encode("utf-8"))
    if size > MAX_ID_BYTES:
        raise InvalidInputError(
            f"{what} is {size} bytes long; at most {MAX_ID_BYTES} bytes (UTF-8) are stored",
            reason="too long",
            session_id=session_id,
        )
    return text


def check_text(what: str, value: object, *, holds_nul: bool, session_id: str | None) -> str:
    """`value` as text a store can keep: a str of valid Unicode (no lone surrogate), without
    NUL characters unless the database `holds_nul`."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(
            f"{what} holds a lone surrogate {value[exc.start]!r} at index {exc.start}, which "
            "is not text a database can store",
            reason="not unicode",
            session_id=session_id,
        ) from None
    if not holds_nul and "\x00" in value:
        raise InvalidInputError(
            f"{what} holds a NUL character at index {value.index(chr(0))}, which this store "
            "cannot keep",
            reason="nul character",
            session_id=session_id,
        )
    return value


#: the largest count a listing takes: the databases' 64-bit integers
MAX_COUNT = 2**63 - 1


def check_count(what: str, value: object) -> int:
    """`value` as a number of rows (a listing's `limit` or `offset`): TypeError when it is
    not an int (a bool is not), InvalidInputError (a ValueError) when it is negative or
    beyond what the databases count."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not 0 <= value <= MAX_COUNT:
        raise InvalidInputError(
            f"{what} must be a number of sessions from 0 to {MAX_COUNT}, not {value}",
            reason="out of range",
        )
    return value

"""Reading what a request sends: JSON bodies within the size limit, session ids, idempotency
keys. Anything wrong is an HTTPError naming the field (400, or 413 for a body too large)."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request

from .errors import HTTPError, bad_request

#: what a client-chosen session id may hold (no "/": stored ids put the owner before one)
SESSION_ID = re.compile(r"[A-Za-z0-9._:@+=~-]{1,200}")
#: ids the alphabet allows that a URL's path cannot carry (clients normalize them away)
DOT_SEGMENTS = frozenset({".", ".."})
#: the longest idempotency key accepted
MAX_KEY_LENGTH = 200


async def read_json(request: Request, limit: int) -> dict[str, Any]:
    """The request's JSON object ({} for an empty body); 413 past `limit` bytes (checked as
    it arrives, so a large body is never held in memory), 400 when it is not an object."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise bad_request(f"the body is not valid JSON: {exc}", "invalid_json") from exc
    except RecursionError as exc:  # the parser's stack, not the server, is at fault
        raise bad_request("the body's JSON is nested too deeply", "invalid_json") from exc
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    return body


def session_id(value: Any, source: str) -> str:
    """A client-chosen session id from `source` (a header, a field), checked."""
    if not isinstance(value, str) or not SESSION_ID.fullmatch(value):
        raise bad_request(
            f"{source} must be 1 to 200 letters, digits or . _ : @ + = ~ -: got {value!r:.60}",
            "invalid_session_id",
        )
    if value in DOT_SEGMENTS:
        raise bad_request(
            f"{source} must not be {value!r}: HTTP clients and browsers drop such a segment "
            "from a URL, so /v1/sessions/{id} could never reach the session",
            "invalid_session_id",
        )
    return value


def idempotency_key(request: Request, required: bool) -> str | None:
    """The ``Idempotency-Key`` header; 400 when `required` and missing."""
    key = request.headers.get("idempotency-key")
    if key is None or key == "":
        if required:
            raise bad_request(
                "this request needs an 'Idempotency-Key' header (any unique string per "
                "message, sent again unchanged when the request is retried)",
                "missing_idempotency_key",
            )
        return None
    if len(key) > MAX_KEY_LENGTH:
        raise bad_request(f"the Idempotency-Key is longer than {MAX_KEY_LENGTH} characters")
    return key


def text_field(body: dict[str, Any], name: str) -> str:
    """A required string field of the body."""
    value = body.get(name)
    if not isinstance(value, str):
        raise bad_request(f"the body needs a string field {name!r}", "invalid_field")
    return value


def flag(body: dict[str, Any], name: str) -> bool:
    """An optional boolean field of the body (false when absent)."""
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise bad_request(f"the field {name!r} must be true or false", "invalid_field")
    return value


def whole_number(body: dict[str, Any], name: str) -> int | None:
    """An optional field of the body holding a whole number from 0 (None when absent)."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise bad_request(f"the field {name!r} must be a whole number from 0", "invalid_field")
    return value


def _too_large(limit: int) -> HTTPError:
    return HTTPError(413, "body_too_large", f"the body is larger than {limit} bytes")

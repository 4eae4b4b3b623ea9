"""The native session routes, for apps that manage their conversations.

=========================================== ==================================================
``POST   /v1/sessions``                     create one (``{"id": ...}`` optional): 201
``GET    /v1/sessions``                     the caller's sessions (``?limit=&offset=``)
``GET    /v1/sessions/{id}``                its history, where the program waits, token usage
``DELETE /v1/sessions/{id}``                delete it: 204
``POST   /v1/sessions/{id}/messages``       send ``{"content": ...}`` with an
                                            ``Idempotency-Key`` header (required): the reply
=========================================== ==================================================

A message may say which version of the session it answers (``"version"``: the one the
session's view or the previous answer gave): if the session is at another version when the
turn would run -- another tab or client sent a message meanwhile -- it is refused with 409
``conversation_changed`` and nothing runs, so a client never gets a reply to turns its user
was not shown. A retry of a message already applied still gets its stored reply.

A message's answer is ``{"session_id", "reply", "version", "replayed", "usage"}``; sent again
with the same key it returns the same reply without running anything (``"replayed": true``).
With ``"stream": true`` (or ``Accept: text/event-stream``) it comes as server-sent events:
``event: delta`` with ``{"text"}`` pieces while the model writes, then ``event: done`` with the
answer above once the turn is committed -- or ``event: error`` with ``{"error"}``, after which
the same key tells what happened.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..stores import SessionNotFoundError, SessionRecord, TokenUsage, TurnResult
from ..stores.records import Claim
from .auth import client_id, stored_id
from .errors import HTTPError, bad_request, from_exception
from .inputs import flag, idempotency_key, read_json, session_id, text_field, whole_number
from .service import Precondition, Service, unfinished_turn
from .streaming import (
    PING,
    Answering,
    Diverged,
    Drained,
    EventStream,
    Failed,
    Finished,
    Piece,
    Ping,
    sse,
)

#: the most sessions one listing returns
MAX_LIMIT = 1000


async def create_session(request: Request) -> Response:
    service, owner = _caller(request)
    body = await read_json(request, service.settings.max_body_bytes)
    chosen = body.get("id")
    name = session_id(chosen, "the field 'id'") if chosen is not None else uuid.uuid4().hex
    try:
        record = await service.call(service.sessions.create, stored_id(owner, name), owner=owner)
    except Exception as exc:
        raise from_exception(exc, "POST /v1/sessions", name) from exc
    return JSONResponse(_summary(record, owner), status_code=201)


async def list_sessions(request: Request) -> Response:
    service, owner = _caller(request)
    limit = _number(request, "limit", 100, MAX_LIMIT)
    offset = _number(request, "offset", 0, None)
    # one more than asked: whether a next page exists, without counting every session
    records = await service.call(service.sessions.list, owner=owner, limit=limit + 1, offset=offset)
    return JSONResponse(
        {
            "object": "list",
            "data": [_summary(r, owner) for r in records[:limit]],
            "has_more": len(records) > limit,
        }
    )


async def get_session(request: Request) -> Response:
    service, owner = _caller(request)
    name = _path_session(request)
    try:
        view = await service.call(service.sessions.get, stored_id(owner, name), owner=owner)
    except Exception as exc:
        raise from_exception(exc, f"GET {request.url.path}", name) from exc
    return JSONResponse(
        {
            "id": name,
            "version": view.version,
            "created_at": view.created_at,
            "updated_at": view.updated_at,
            "history": view.history,
            "waiting": [
                {"function": w.function, "line": w.lineno, "address": w.address}
                for w in view.waiting
            ],
            "usage": _usage(view.usage),
        }
    )


async def delete_session(request: Request) -> Response:
    service, owner = _caller(request)
    name = _path_session(request)
    try:
        await service.call(service.sessions.delete, stored_id(owner, name), owner=owner)
    except Exception as exc:
        raise from_exception(exc, f"DELETE {request.url.path}", name) from exc
    return Response(status_code=204)


async def send_message(request: Request) -> Response:
    service, owner = _caller(request)
    name = _path_session(request)
    key = idempotency_key(request, required=True)
    body = await read_json(request, service.settings.max_body_bytes)
    text = text_field(body, "content")
    version = whole_number(body, "version")
    answers = None if version is None else _AtVersion(name, version)
    streamed = flag(body, "stream") or "text/event-stream" in request.headers.get("accept", "")
    where = f"POST {request.url.path}"
    stored = stored_id(owner, name)
    if not streamed:
        result = await service.run_turn(
            stored, text, key, owner, where=where, session_id=name, precondition=answers
        )
        return JSONResponse(_answer(name, result))
    return await _stream(service, stored, name, text, key, owner, where, answers)


class _AtVersion:
    """A message that answers the session at `version` (a `Precondition`): refused when the
    session is at another one as the turn would run."""

    def __init__(self, name: str, version: int) -> None:
        self.name = name
        self.version = version

    def vet(self, claim: Claim) -> TurnResult | None:
        """409 when the session moved on; None (run, or replay a committed retry) else."""
        session = claim.session
        if claim.done is not None or session is None or session.version == self.version:
            return None
        raise HTTPError(
            409,
            "conversation_changed",
            f"session {self.name!r} is at version {session.version}, not {self.version}: "
            "other messages were sent meanwhile (another tab or client); fetch the "
            "conversation again and send the message if it still applies",
        )

    def missing(self) -> None:
        """A message to no session: 404, as without a version."""
        raise SessionNotFoundError(
            f"no session {self.name!r}", reason="not found", session_id=self.name
        )


async def _stream(
    service: Service,
    stored: str,
    name: str,
    text: str,
    key: str,
    owner: str | None,
    where: str,
    precondition: Precondition | None,
) -> Response:
    """Start the turn and wait (a little) for its first event, so that a turn failing before
    its model answers gets its HTTP status; then stream."""
    start = time.monotonic()
    turn = service.start_turn(stored, text, key, owner, precondition)
    events = turn.events(service.settings.ping_seconds, service.drain)
    first = await anext(events)
    if isinstance(first, Failed):
        raise service.failed(first.error, where, name)
    if isinstance(first, Drained):  # nothing streamed yet: a plain 503 tells it
        raise service.failed(unfinished_turn(keyed=True), where, name)

    async def body() -> AsyncIterator[tuple[bytes, bool]]:
        service.metrics.streams_open.inc()
        try:
            event, sent = first, False
            while True:
                if isinstance(event, Answering):  # the status and headers are out
                    event = await anext(events)
                    continue
                if not sent and isinstance(event, Piece | Finished):
                    service.metrics.first_token_seconds.observe(time.monotonic() - start)
                if isinstance(event, Ping):
                    yield PING, True
                elif isinstance(event, Piece):
                    yield sse(json.dumps({"text": event.text}), "delta"), True
                    sent = True
                else:
                    yield _closing(event, service, name, where), False
                    return
                event = await anext(events)
        finally:
            service.metrics.streams_open.dec()

    return EventStream(body(), {})


def _closing(event: Any, service: Service, name: str, where: str) -> bytes:
    if isinstance(event, Finished):
        if event.rest:
            return sse(json.dumps({"text": event.rest}), "delta") + _done(name, event.result)
        return _done(name, event.result)
    if isinstance(event, Diverged):
        error = HTTPError(
            500,
            "reply_changed",
            "the reply changed while it was streamed; send the message again with the same "
            "idempotency key to get the committed reply",
        )
    elif isinstance(event, Drained):
        error = HTTPError(503, "shutting_down", "the server is shutting down; send the message "
                          "again with the same idempotency key", retry_after=1)  # fmt: skip
    else:
        error = service.failed(event.error, where, name)
    return sse(json.dumps({**error.body(), "status": error.status}), "error")


def _done(name: str, result: TurnResult) -> bytes:
    return sse(json.dumps(_answer(name, result)), "done")


def _answer(name: str, result: TurnResult) -> dict[str, Any]:
    return {
        "session_id": name,
        "reply": result.reply,
        "version": result.version,
        "replayed": result.replayed,
        "usage": _usage(result.usage),
    }


def _usage(usage: TokenUsage) -> dict[str, int]:
    return {
        "calls": usage.calls,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
    }


def _caller(request: Request) -> tuple[Service, str | None]:
    service: Service = request.app.state.service
    return service, service.owner(request.headers.get("authorization"))


def _path_session(request: Request) -> str:
    return session_id(request.path_params["session_id"], "the session id in the path")


def _summary(record: SessionRecord, owner: str | None) -> dict[str, Any]:
    return {
        "id": client_id(owner, record.id),
        "version": record.version,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def _number(request: Request, name: str, default: int, maximum: int | None) -> int:
    value = request.query_params.get(name)
    if value is None:
        return default
    if not value.isdigit() or (maximum is not None and int(value) > maximum):
        bound = f" up to {maximum}" if maximum is not None else ""
        raise bad_request(f"'{name}' must be a whole number{bound}: got {value!r:.40}")
    return int(value)

"""The OpenAI-compatible routes: ``POST /v1/chat/completions`` and ``GET /v1/models``.

Any OpenAI client talks to the bot as to a model named after it. The conversation is found by
the ``X-Session-Id`` request header (any id the client chooses; a new session when unknown),
else the body's ``user`` field, else it is a new one; its id always comes back in the
``X-Session-Id`` response header. The newest user message is the turn's input; the rest of
``messages`` must be the session's conversation so far (`autograms.serve.history`: a repeat of
the last request returns the stored reply, an edited history is refused with 409), checked
against the history digest on the session's row, which the turn's claim reads just before
the turn would run (a message that waited in the session's queue behind another one is
refused too); the turns themselves are read only when the digest differs. Sampling
parameters (``temperature``, ``max_tokens`` ...) and ``model`` are ignored: the bot decides.

The turn's idempotency key is the ``Idempotency-Key`` header, else one derived from the turn's
position, so two identical requests sent at once run the turn once. A request without the
header whose turn (this position) is running for another request waits for it to commit, and
then gets its stored reply (the same message) or 409 ``history_mismatch`` (another message,
sent from another tab). ``stream: true`` answers
in OpenAI's chunk format: pieces of the reply as the model writes them (before the turn is
committed: they are a preview), then, together and only once the turn is committed, a last
chunk with ``finish_reason`` (some clients stop reading there), a usage chunk when
``stream_options.include_usage`` asks for it, and ``data: [DONE]``. A stream that ends
without them did not deliver a committed reply: repeat the request to get it. A failure
before the turn's model has begun its answer (a history that does not match, the model
down) has its HTTP status; one after it ends the stream with an error event.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..stores import TokenUsage, TurnRecord, TurnResult, integrity
from ..stores.records import Claim
from .auth import stored_id
from .errors import HTTPError, bad_request
from .history import ChatInput, continues, match_turns, read_messages, repeats_latest
from .inputs import flag, idempotency_key, read_json, session_id
from .service import Precondition, Service, unfinished_turn
from .streaming import (
    PING,
    Answering,
    Diverged,
    Drained,
    Event,
    EventStream,
    Failed,
    Finished,
    Piece,
    Ping,
    sse,
)

SESSION_HEADER = "X-Session-Id"
#: where a chunk's choices go in its template (`_Reply._frame`); no JSON the service sends has it
_HOLE = "\x00choices"
#: a chunk's ``choices`` around the text of a piece of reply (the first also names the role)
_FIRST_DELTA = b'[{"index": 0, "delta": {"role": "assistant", "content": '
_DELTA = b'[{"index": 0, "delta": {"content": '
_DELTA_END = b'}, "finish_reason": null}]'
#: the ``choices`` of the chunk that ends a reply
_FINISHED = b'[{"index": 0, "delta": {}, "finish_reason": "stop"}]'
_DONE = b"data: [DONE]\n\n"


async def list_models(request: Request) -> Response:
    """``GET /v1/models``: the bot, as the one model this service serves."""
    service: Service = request.app.state.service
    service.owner(request.headers.get("authorization"))
    return JSONResponse({"object": "list", "data": [_model(service.settings.name)]})


async def get_model(request: Request) -> Response:
    """``GET /v1/models/{model}`` (the SDK's ``models.retrieve``): the bot under its name;
    404 ``model_not_found`` under any other."""
    service: Service = request.app.state.service
    service.owner(request.headers.get("authorization"))
    name = request.path_params["model"]
    if name != service.settings.name:
        raise HTTPError(
            404,
            "model_not_found",
            f"no model {name!r}: this service serves one, {service.settings.name!r}",
        )
    return JSONResponse(_model(name))


def _model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "autograms"}


async def chat_completions(request: Request) -> Response:
    """``POST /v1/chat/completions``: one turn of the conversation the request continues."""
    service: Service = request.app.state.service
    owner = service.owner(request.headers.get("authorization"))
    body = await read_json(request, service.settings.max_body_bytes)
    session = _session_id(request, body)
    headers = {SESSION_HEADER: session}
    try:
        return await _complete(request, service, owner, body, session, headers)
    except HTTPError as error:
        return error.response(headers)


async def _complete(
    request: Request,
    service: Service,
    owner: str | None,
    body: dict[str, Any],
    session: str,
    headers: dict[str, str],
) -> Response:
    chat = read_messages(body.get("messages"))
    streamed = flag(body, "stream")
    include_usage = streamed and _include_usage(body)
    stored = stored_id(owner, session)
    given_key = idempotency_key(request, required=False)
    reply = _Reply(service.settings.name, session, headers, keyed=given_key is not None)
    key = given_key or chat.derived_key
    where = f"POST {request.url.path}"
    continued = _Continued(service, stored, owner, chat, session)
    try:
        if not streamed:
            result = await service.run_turn(
                stored,
                chat.message,
                key,
                owner,
                where=where,
                session_id=session,
                keyed=reply.keyed,
                precondition=continued,
                wait_running=not reply.keyed,
            )
            return reply.json(result)
        return await reply.stream(
            service, stored, chat, key, owner, include_usage, where, continued
        )
    except HTTPError as error:
        raise _raced(error, chat, session, derived=given_key is None) from error


class _Continued:
    """The request's history checked against the session's committed turns (a
    `Precondition`): by the history digest on the session's row, which the turn's claim
    reads, when the request continues the session; by the turns themselves, read then, when
    it does not (a repeat, an edited history), when the row has no digest yet, and in a
    signed store (every turn row's seal is checked)."""

    def __init__(
        self, service: Service, stored: str, owner: str | None, chat: ChatInput, session: str
    ) -> None:
        self.service = service
        self.stored = stored
        self.owner = owner
        self.chat = chat
        self.session = session

    def vet(self, claim: Claim) -> TurnResult | None:
        """409 when the request does not continue the session's turns; the stored reply
        when it repeats a committed turn; else None (the turn runs)."""
        session = claim.session
        if session is None:
            return None
        turns = None
        signing = integrity.key_of(self.service.runner.autogram)
        if signing is not None:
            # in a signed store every turn row is read and checked, so that one edited in the
            # database is refused, never compared with the request's history nor replayed,
            # even when the request matches the (sealed) digest (one HMAC per turn row)
            turns = self._turns(session.version)
            integrity.check_turn_seals(signing, turns)
        if continues(self.chat, session):
            return None  # the next turn: no turn row read (unsigned)
        if claim.done is not None and repeats_latest(self.chat, session, claim.done):
            return None  # the runner replays it
        if turns is None:
            turns = self._turns(session.version)
        match = match_turns(self.chat, turns, self.session)
        if match.repeated is None:
            return None
        return _replayed(match.repeated)

    def _turns(self, version: int) -> list[TurnRecord]:
        return [t for t in self.service.store.turns(self.stored) if t.version <= version]

    def missing(self) -> None:
        """A new session: created when the request is its first turn (else 409)."""
        match_turns(self.chat, [], self.session)
        self.service.sessions.create(self.stored, owner=self.owner, exist_ok=True)


def _session_id(request: Request, body: dict[str, Any]) -> str:
    header = request.headers.get(SESSION_HEADER)
    if header is not None:
        return session_id(header, f"the {SESSION_HEADER} header")
    if body.get("user") is not None:
        return session_id(body["user"], "the 'user' field")
    return uuid.uuid4().hex


def _include_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise bad_request("'stream_options' must be an object")
    return bool(options.get("include_usage"))


def _replayed(turn: TurnRecord) -> TurnResult:
    return TurnResult(turn.session_id, turn.reply, turn.version, replayed=True)


def _raced(error: HTTPError, chat: ChatInput, session: str, derived: bool) -> HTTPError:
    """A derived key found committed with another message: another request sent a different
    message as the same turn at the same time (two tabs): this one's history is stale."""
    if derived and error.code == "idempotency_key_reused":
        return HTTPError(
            409,
            "history_mismatch",
            f"another message was sent as turn {chat.position} of session {session!r} at the "
            "same time; fetch the conversation again before sending",
        )
    return error


class _Reply:
    """OpenAI's response shapes for one request."""

    def __init__(self, model: str, session: str, headers: dict[str, str], keyed: bool) -> None:
        self.model = model
        self.session = session
        self.headers = headers
        #: whether the client sent an Idempotency-Key (errors then speak of it)
        self.keyed = keyed
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())

    @functools.cached_property
    def _frame(self) -> tuple[bytes, bytes]:
        """What every chunk of a stream has before and after its ``choices`` (and usage),
        encoded once: a chunk then encodes only its text."""
        chunk = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": _HOLE,
        }
        head, tail = sse(json.dumps(chunk)).split(json.dumps(_HOLE).encode())
        return head, tail

    def json(self, result: TurnResult) -> JSONResponse:
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": result.reply or ""},
            "logprobs": None,
            "finish_reason": "stop",
        }
        body = {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [choice],
            "usage": _usage(result.usage),
        }
        return JSONResponse(body, headers=self._headers(result))

    async def stream(
        self,
        service: Service,
        stored: str,
        chat: ChatInput,
        key: str,
        owner: str | None,
        include_usage: bool,
        where: str,
        continued: Precondition,
    ) -> EventStream:
        """Start the turn and wait (a little) for its first event, so that a turn failing
        before its model answers gets its HTTP status; then stream. The status and headers
        go out when the model has begun its answer, before its first piece: the client reads
        them while the model writes, not after."""
        start = time.monotonic()
        turn = service.start_turn(stored, chat.message, key, owner, continued, not self.keyed)
        events = turn.events(service.settings.ping_seconds, service.drain)
        first = await anext(events)
        if isinstance(first, Failed):
            raise service.failed(first.error, where, self.session, keyed=self.keyed)
        if isinstance(first, Drained):  # nothing streamed yet: a plain 503 tells it
            raise service.failed(unfinished_turn(self.keyed), where, self.session, keyed=self.keyed)

        async def body() -> AsyncIterator[tuple[bytes, bool]]:
            service.metrics.streams_open.inc()
            try:
                event, sent = first, False
                while True:
                    if isinstance(event, Answering):  # the status and headers are out
                        event = await anext(events)
                        continue
                    # the first piece's time is counted once it is written, not before
                    ready = time.monotonic()
                    if isinstance(event, Ping):
                        yield PING, True
                    elif isinstance(event, Piece):
                        yield self._delta(event.text, first=not sent), True
                    else:  # the last chunks and the body's end in one write
                        closing = self._closing(event, sent, include_usage, service, where)
                        yield b"".join(closing), False
                    if not sent and isinstance(event, Piece | Finished):
                        service.metrics.first_token_seconds.observe(ready - start)
                    if not isinstance(event, Piece | Ping):
                        return
                    sent = sent or isinstance(event, Piece)
                    event = await anext(events)
            finally:
                service.metrics.streams_open.dec()

        # a turn done before its first piece (a fixed reply, a replay) has its version already
        headers = self._headers(first.result) if isinstance(first, Finished) else self.headers
        return EventStream(body(), headers)

    def _closing(
        self, event: Event, sent: bool, include_usage: bool, service: Service, where: str
    ) -> list[bytes]:
        """The last chunks of a stream: the end of a committed reply, or an error."""
        if isinstance(event, Finished):
            return self._end(event.result, event.rest, include_usage, first=not sent)
        if isinstance(event, Diverged):
            return [
                _error_event(
                    "reply_changed",
                    "the reply changed while it was streamed; send the same request again to "
                    "get the committed reply",
                )
            ]
        if isinstance(event, Drained):
            message = "the server is shutting down; send the same request again"
            return [_error_event("shutting_down", message)]
        error = service.failed(event.error, where, self.session, keyed=self.keyed)
        return [_error_event(error.code, error.message)]

    def _end(
        self, result: TurnResult, rest: str, include_usage: bool, first: bool = True
    ) -> list[bytes]:
        chunks = [self._delta(rest, first=first)] if rest or first else []
        chunks.append(self._chunk(_FINISHED))
        if include_usage:
            usage = json.dumps(_usage(result.usage)).encode()
            chunks.append(self._chunk(b'[], "usage": ' + usage))
        chunks.append(_DONE)
        return chunks

    def _delta(self, text: str, *, first: bool) -> bytes:
        opening = _FIRST_DELTA if first else _DELTA
        return self._chunk(b"".join((opening, json.dumps(text).encode(), _DELTA_END)))

    def _chunk(self, choices: bytes) -> bytes:
        """One SSE chunk; `choices`: the encoded JSON of its ``choices`` (and what follows)."""
        head, tail = self._frame
        return b"".join((head, choices, tail))

    def _headers(self, result: TurnResult) -> dict[str, str]:
        return {**self.headers, "X-Session-Version": str(result.version)}


def _usage(usage: TokenUsage) -> dict[str, int]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
    }


def _error_event(code: str, message: str) -> bytes:
    """An error inside a stream, as OpenAI sends one (the SDK raises it); no [DONE] follows."""
    error = {"message": message, "type": "server_error", "code": code, "param": None}
    return sse(json.dumps({"error": error}))

"""Streaming a turn's reply to an HTTP client while the model writes it.

A turn runs in a worker thread (the turn runner is synchronous). `TurnStream` is the
`ReplyStream` it writes to: each piece is posted to the event loop, where `events()` turns the
pieces into what the response sends -- new text, keep-alive pings, and at the end the
committed turn. What was streamed is checked against the committed reply: the reply's unsent
rest comes with the end (a fixed ``reply("...")`` arrives whole there), and a reply that does
not start with what the client has already seen (the model call broke midway and
``error_response`` replaced it, or the turn ran again after losing its commit race) ends the
stream without its end marker, so the client retries with the same idempotency key and gets
the committed reply whole.

A client that disconnects only stops listening: the thread finishes the turn, which commits or
leaves nothing, as it would have anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..stores.records import TurnResult
from .lifecycle import Drain, wake


@dataclass(frozen=True, slots=True)
class Piece:
    """Text of the reply the client has not seen yet."""

    text: str


class Answering:
    """The model has begun its answer (its server accepted the request), nothing written
    yet: the response can send its status and headers now, so that the client has read
    them by the time the first piece comes."""


@dataclass(frozen=True, slots=True)
class Finished:
    """The turn committed (or was replayed); `rest` is the end of its reply not yet sent."""

    result: TurnResult
    rest: str


@dataclass(frozen=True, slots=True)
class Diverged:
    """The turn committed, but its reply does not continue what was streamed."""

    result: TurnResult


@dataclass(frozen=True, slots=True)
class Failed:
    """The turn failed: nothing was committed."""

    error: BaseException


class Ping:
    """Nothing happened for a while (the response sends a keep-alive comment)."""


class Drained:
    """The server is shutting down and the turn did not finish in time."""


Event = Piece | Answering | Finished | Diverged | Failed | Ping | Drained

_RESTART = object()


class TurnStream:
    """Carries one turn's reply from the thread running it to the response streaming it.
    Make it on the event loop; the thread calls `restart`, `write` and `finish`.

    Each item the thread posts wakes the event loop once; what has arrived by the time the
    response looks is taken together (`events` makes one event of it), so a response that
    falls behind the model catches up in fewer, larger writes instead of queueing them. A
    restart with nothing written since the last one posts nothing: every streamed model
    call begins with one, and waking the event loop for it, while the turn thread sends the
    model its request, delayed the first piece."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        #: whether the thread wrote text since the last restart (touched by the thread only)
        self._written = False
        #: items posted and not yet taken (touched on the event loop only)
        self._items: list[object] = []
        #: set when an item arrives while `events` waits for one
        self._waiter: asyncio.Future[None] | None = None

    # -- the thread's side (a ReplyStream) ------------------------------------------------

    def restart(self) -> None:
        if self._written:  # else the candidate is empty already: nothing to abandon
            self._written = False
            self._post(_RESTART)

    def write(self, text: str) -> None:
        """The next piece; an empty one says the model has begun answering."""
        if text:
            self._written = True
        self._post(text)

    def finish(self, outcome: TurnResult | BaseException) -> None:
        """The turn's result, or the exception it raised."""
        self._post(outcome)

    def _post(self, item: object) -> None:
        try:
            self._loop.call_soon_threadsafe(self._arrived, item)
        except RuntimeError:  # the event loop has closed: nobody listens any more
            pass

    # -- the event loop's side ------------------------------------------------------------

    def _arrived(self, item: object) -> None:
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def events(self, ping_seconds: float, drain: Drain | None = None) -> AsyncIterator[Event]:
        """The events to send, ending with Finished, Diverged, Failed or Drained; Answering
        at most once, before the first Piece, when the model begins before it writes."""
        sent = ""  # what the client has been sent
        candidate = ""  # the reply being written now
        answering = False  # whether Answering or a Piece was yielded
        while True:
            items = await self._arrivals(ping_seconds, drain)
            if not items:
                if drain is not None and drain.expired():
                    yield Drained()
                    return
                yield Ping()
                continue
            begun = False
            for item in items:
                if item is _RESTART:
                    candidate = ""
                elif isinstance(item, str):
                    candidate += item
                    begun = True
                elif isinstance(item, TurnResult):
                    final = item.reply or ""
                    if final.startswith(sent):
                        yield Finished(item, final[len(sent) :])
                    else:
                        yield Diverged(item)
                    return
                else:
                    yield Failed(item)
                    return
            if len(candidate) > len(sent) and candidate.startswith(sent):
                yield Piece(candidate[len(sent) :])
                sent, answering = candidate, True
            elif begun and not answering:
                yield Answering()
                answering = True

    async def _arrivals(self, ping_seconds: float, drain: Drain | None) -> list[object]:
        """The items that have arrived, waiting for one if there is none; [] after
        `ping_seconds` of silence (or when the drain deadline passes)."""
        deadline = self._loop.time() + ping_seconds
        while not self._items:
            timeout = deadline - self._loop.time()
            if drain is not None:
                timeout = min(timeout, drain.remaining())
            if timeout <= 0:
                break
            self._waiter = self._loop.create_future()
            timer = self._loop.call_later(timeout, wake, self._waiter)
            try:
                if drain is None:
                    await self._waiter
                else:
                    with drain.waking(self._waiter):  # its deadline is looked at again
                        await self._waiter
            finally:
                timer.cancel()
                self._waiter = None
        items, self._items = self._items, []
        return items


def sse(data: str, event: str | None = None) -> bytes:
    """One server-sent event (`data` must be one line, as JSON is)."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data}\n\n".encode()


#: an SSE comment: clients ignore it, proxies and load balancers see the connection is alive
PING = b": ping\n\n"


#: the headers of every event stream: no caching, and no buffering by a proxy (nginx)
_STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class EventStream(Response):
    """A ``text/event-stream`` response whose body is written as `chunks` yields it: each
    item is the bytes to send and whether more follow. The last one goes out together with
    the end of the body, in one write: a client that reads on after its end marker to keep
    the connection (the async openai SDK after ``[DONE]``) finds the rest there at once. (The
    sync openai SDK closes the connection at ``[DONE]`` without reading on, whatever the
    server sends: it opens a new one for every streamed request, to any server.)

    Unlike Starlette's StreamingResponse it starts no task listening for the client's
    disconnect: a client that goes away only stops listening (the server drops what is
    written to it), and the turn finishes in its thread anyway."""

    media_type = "text/event-stream"

    def __init__(
        self, chunks: AsyncIterator[tuple[bytes, bool]], headers: Mapping[str, str]
    ) -> None:
        self.chunks = chunks
        self.status_code = 200
        self.background = None
        self.init_headers({**headers, **_STREAM_HEADERS})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        more = True
        async for chunk, more in self.chunks:  # to their end: their generator's finally runs
            await send({"type": "http.response.body", "body": chunk, "more_body": more})
        if more:  # the chunks ended without a last one
            await send({"type": "http.response.body", "body": b"", "more_body": False})

"""The state one app serves from: the bot's turn runner and sessions on one store, the API
keys, the metrics, the shutdown state; and the one way routes run a turn (in a worker thread,
so the event loop never waits on a model or a database)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import anyio
import anyio.to_thread

from ..stores import (
    SessionNotFoundError,
    Sessions,
    Store,
    TurnInProgressError,
    TurnResult,
    TurnRunner,
)
from ..stores.records import Claim
from .auth import ApiKeys
from .errors import HTTPError, from_exception
from .lifecycle import Drain, InFlight
from .metrics import Metrics
from .streaming import TurnStream
from .threads import TurnThreads

T = TypeVar("T")
#: seconds between two looks at a turn that runs elsewhere (`wait_running`)
RUNNING_POLL_SECONDS = 0.05


class Precondition(Protocol):
    """What a route checks, in the turn's thread, of the session a turn continues."""

    def vet(self, claim: Claim) -> TurnResult | None:
        """The turn's claim (without the session's turns: the session's row has their
        history digest): raise an HTTPError to refuse the turn, return the result to answer
        with instead (a replay), or None to run it."""

    def missing(self) -> None:
        """The session does not exist: create it (the turn is then tried again) or raise."""


@dataclass(frozen=True)
class Settings:
    """How an app serves (`create_app`'s keywords)."""

    #: the bot's name: the model id `GET /v1/models` lists and completions report
    name: str
    #: the largest request body accepted, in bytes
    max_body_bytes: int = 1_000_000
    #: turns running at once in this process (more wait for a thread)
    max_turns: int = 64
    #: turns of one session holding a thread at once in this process (its further messages
    #: wait, in order, without one: a busy conversation leaves threads to the others)
    max_session_turns: int = 4
    #: seconds of silence on a stream before a keep-alive comment; also how long a streamed
    #: request waits for its first piece before it commits to status 200
    ping_seconds: float = 10.0
    #: seconds running turns may still take once the server starts shutting down
    drain_seconds: float = 20.0


class Service:
    """One app's state. Routes reach it as ``request.app.state.service``."""

    def __init__(self, runner: TurnRunner, settings: Settings, *, api_keys: ApiKeys) -> None:
        self.runner = runner
        self.store: Store = runner.store
        self.settings = settings
        self.keys = api_keys
        self.sessions = Sessions(runner.autogram, runner.store)
        self.metrics = Metrics()
        self.drain = Drain(settings.drain_seconds)
        self.in_flight = InFlight()
        self._turn_threads = TurnThreads(settings.max_turns, settings.max_session_turns)

    def owner(self, authorization: str | None) -> str | None:
        """The caller's owner id (see `autograms.serve.auth`); HTTPError 401 if refused."""
        return self.keys.owner(authorization)

    async def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`function(*args, **kwargs)` (a store or session call) in a worker thread."""
        return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs))

    # -- turns ------------------------------------------------------------------------------

    def refuse_if_draining(self) -> None:
        if self.drain.draining:
            raise HTTPError(
                503,
                "shutting_down",
                "this server is shutting down; send the message again (to another worker)",
                retry_after=1,
            )

    async def run_turn(
        self,
        stored_id: str,
        text: str,
        key: str | None,
        owner: str | None,
        *,
        where: str,
        session_id: str,
        keyed: bool = True,
        precondition: Precondition | None = None,
        wait_running: bool = False,
    ) -> TurnResult:
        """Run one turn to its commit; an HTTPError (counted) if it fails. `precondition` and
        `wait_running`: see `_turn`."""
        self.refuse_if_draining()
        start = time.monotonic()
        turn = self._launch(
            functools.partial(self._turn, stored_id, text, key, owner, precondition, wait_running),
            stored_id,
        )
        waiting = asyncio.wrap_future(turn)
        # (a request that goes away does not stop the turn: it cannot be cancelled)
        if not await self.drain.outlived_by(waiting):
            waiting.add_done_callback(_retrieved)  # its outcome is the next request's
            raise self.failed(unfinished_turn(keyed), where, session_id, keyed=keyed)
        try:
            result = waiting.result()
        except Exception as exc:
            raise self.failed(exc, where, session_id, keyed=keyed) from exc
        self.metrics.turn_done(result, time.monotonic() - start)
        return result

    def start_turn(
        self,
        stored_id: str,
        text: str,
        key: str | None,
        owner: str | None,
        precondition: Precondition | None = None,
        wait_running: bool = False,
    ) -> TurnStream:
        """Start one turn whose reply streams while the model writes it (`precondition` and
        `wait_running`: see `_turn`)."""
        self.refuse_if_draining()
        stream = TurnStream()
        start = time.monotonic()

        def work() -> None:
            try:
                result = self._turn(stored_id, text, key, owner, precondition, wait_running, stream)
            except Exception as exc:
                stream.finish(exc)
            else:
                stream.finish(result)  # first: the client's [DONE] does not wait for the count
                # counted here: a turn commits even when its client went away mid-stream
                self.metrics.turn_done(result, time.monotonic() - start)

        self._launch(work, stored_id)
        return stream

    def _turn(
        self,
        stored_id: str,
        text: str,
        key: str | None,
        owner: str | None,
        precondition: Precondition | None,
        wait_running: bool = False,
        reply_stream: TurnStream | None = None,
    ) -> TurnResult:
        """In a turn thread: the turn, its claim vetted by `precondition` when given (the
        checks a route makes against the session, on the row the claim read),
        a session it does not find handed to ``precondition.missing()`` once. With
        `wait_running`, a turn with this key running elsewhere is waited for (as long as the
        runner waits in a queue), then all of it is done again: a key the route derived from
        the turn's position cannot tell its client to retry with the same key."""
        self.refuse_if_draining()  # a turn that waited for a thread until the server stopped
        deadline = time.monotonic() + self.runner.wait_seconds
        vet = None if precondition is None else precondition.vet
        created = False
        while True:
            try:
                return self.runner.run_turn(
                    stored_id,
                    text,
                    key,
                    owner=owner,
                    reply_stream=reply_stream,
                    vet=vet,
                    vet_turns=False,
                    on_billed=self.metrics.model_used,
                )
            except SessionNotFoundError:
                if precondition is None or created:
                    raise
                precondition.missing()
                created = True
                continue
            except TurnInProgressError:
                if not wait_running or time.monotonic() > deadline:
                    raise
            time.sleep(RUNNING_POLL_SECONDS)

    def failed(
        self,
        error: BaseException,
        where: str,
        session_id: str | None = None,
        *,
        keyed: bool = True,
    ) -> HTTPError:
        """The HTTP error of a failed turn, counted (`keyed`: see `from_exception`)."""
        http_error = from_exception(error, where, session_id, keyed=keyed)
        self.metrics.turn_failed(http_error.code)
        return http_error

    def _launch(self, work: Callable[[], T], stored_id: str) -> concurrent.futures.Future[T]:
        """Run `work`, a turn of session `stored_id`, in a turn thread (now, or once fewer of
        the session's turns hold one); it runs to its end even if the request goes away."""
        turn = self._turn_threads.submit(work, stored_id)
        self.in_flight.add(turn)
        return turn


def unfinished_turn(keyed: bool) -> HTTPError:
    """The answer to a request whose turn is still running when the server stops."""
    again = "with the same idempotency key" if keyed else "(the same request)"
    return HTTPError(
        503,
        "shutting_down",
        "the server is shutting down and this message's turn did not finish in time; send "
        f"it again {again}: it is applied once",
        retry_after=1,
    )


def _retrieved(turn: asyncio.Future[Any]) -> None:
    """Take a turn's outcome that nobody waits for any more (so asyncio does not log it)."""
    if not turn.cancelled():
        turn.exception()

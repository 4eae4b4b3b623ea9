"""Graceful shutdown: finish in-flight turns, or end their streams cleanly.

When the server is told to stop (SIGTERM, Ctrl-C), uvicorn stops accepting connections and
waits for the open ones. The service starts *draining* at the same signal: new turns are
refused (503, Retry-After, so a client goes to another worker), running turns go on, and a
stream whose turn has not finished `Drain.seconds` later is ended with an error event and
without its end marker -- the client retries with the same idempotency key and finds the turn
committed or absent, never half-done. At the end the service waits (as long again at most) for
the turn threads still running, so their commits land before the store closes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

logger = logging.getLogger("autograms.serve")

#: the signals that stop a server
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Drain:
    """When in-flight turns must end: never, until `start` (the server is stopping)."""

    def __init__(self, seconds: float) -> None:
        #: how long running turns may still take once draining starts
        self.seconds = seconds
        self._deadline: float | None = None
        #: waits to wake when draining starts: (their event loop, their future)
        self._waiting: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = set()

    def start(self) -> None:
        """Start draining (at most once); called in a signal handler, so a wait it wakes is
        woken through its event loop."""
        if self._deadline is None:
            self._deadline = time.monotonic() + self.seconds
            logger.info("draining: running turns have %.1f s to finish", self.seconds)
            for loop, waiter in list(self._waiting):
                with contextlib.suppress(RuntimeError):  # that event loop has closed
                    loop.call_soon_threadsafe(wake, waiter)

    @contextlib.contextmanager
    def waking(self, waiter: asyncio.Future[None]) -> Iterator[None]:
        """`waiter` (of the running event loop) woken when draining starts, in the block:
        a wait whose timeout was set before knows to look at the deadline again."""
        entry = (asyncio.get_running_loop(), waiter)
        self._waiting.add(entry)
        try:
            yield
        finally:
            self._waiting.discard(entry)

    async def outlived_by(self, turn: asyncio.Future[Any]) -> bool:
        """Wait for `turn` (never cancelling it); False when the drain deadline passes
        first, True when the turn ends."""
        loop = asyncio.get_running_loop()
        while not turn.done():
            remaining = self.remaining()
            if remaining <= 0:
                return False
            waiter = loop.create_future()
            turn.add_done_callback(lambda _turn, waiter=waiter: wake(waiter))
            timer = None if remaining == float("inf") else loop.call_later(remaining, wake, waiter)
            try:
                with self.waking(waiter):
                    await waiter
            finally:
                if timer is not None:
                    timer.cancel()
        return True

    @property
    def draining(self) -> bool:
        return self._deadline is not None

    def remaining(self) -> float:
        return float("inf") if self._deadline is None else self._deadline - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0


def wake(waiter: asyncio.Future[None]) -> None:
    """End the wait on `waiter` (if nothing has)."""
    if not waiter.done():
        waiter.set_result(None)


class InFlight:
    """The turns running in worker threads, for the wait at shutdown."""

    def __init__(self) -> None:
        self._turns: set[concurrent.futures.Future[Any]] = set()

    def __len__(self) -> int:
        return len(self._turns)

    def add(self, turn: concurrent.futures.Future[Any]) -> None:
        self._turns.add(turn)
        # called in the turn's thread when it ends (or here, if it has ended already)
        turn.add_done_callback(self._turns.discard)

    async def wait(self, seconds: float) -> None:
        """Return when every turn has finished, or after `seconds`."""
        turns = set(self._turns)
        if turns:
            logger.info("waiting for %d running turn(s)", len(turns))
            waiting = [asyncio.wrap_future(turn) for turn in turns]
            await asyncio.wait(waiting, timeout=max(seconds, 0.0))


@contextlib.contextmanager
def drain_on_signals(drain: Drain) -> Iterator[None]:
    """Start `drain` at SIGTERM or SIGINT, then let the handler installed before (the
    server's own) act on the signal; put that handler back at the end. Outside the main
    thread (where signals cannot be caught) nothing is installed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}

    def handle(signum: int, frame: FrameType | None) -> None:
        drain.start()
        before = previous.get(signum)
        if callable(before):
            before(signum, frame)
        elif before == signal.SIG_DFL:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    for signum in STOP_SIGNALS:
        previous[signum] = signal.signal(signum, handle)
    try:
        yield
    finally:
        for signum, before in previous.items():
            if signal.getsignal(signum) is handle:
                signal.signal(signum, before)

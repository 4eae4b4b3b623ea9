"""The threads turns run in: a turn is handed to one the moment a route starts it.

The turn runner is synchronous (the store's drivers, the model client), so every turn runs in
a thread of its own while the event loop serves other requests. `TurnThreads` hands a turn to
an idle thread at once, from the route's own step -- the turn starts while the route goes on
to wait for its first piece, without a task of the event loop in between (as
``anyio.to_thread`` needs: a task, a checkpoint, a limiter, then the thread) -- and says
nothing to the event loop when the turn ends: a streamed turn reports through its
`TurnStream`, a waiting route through the turn's future.

The threads are daemon threads: at exit, a turn still running (the shutdown's wait for it is
over) does not hold the process up; its commit lands or never happens, as after a crash.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

logger = logging.getLogger("autograms.serve")


class TurnThreads:
    """At most `limit` threads running turns; more turns wait in line for one. A thread is
    started only when none is idle, and then kept for the next turns."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1: got {limit}")
        self.limit = limit
        self._queue: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        #: released by a thread each time it is ready for the next turn
        self._idle = threading.Semaphore(0)
        self._lock = threading.Lock()
        self._threads = 0

    def submit(self, work: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Run ``work()`` in a turn thread; its future has its result or exception. The
        future cannot be cancelled: a turn runs to its end even if its request goes away."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        future.set_running_or_notify_cancel()

        def run() -> None:
            try:
                result = work()
            except BaseException as exc:  # the caller's to report, through the future
                self._idle.release()
                future.set_exception(exc)
            else:
                # ready for the next turn before this one's caller hears of its end
                self._idle.release()
                future.set_result(result)

        self._queue.put(run)
        if self._idle.acquire(blocking=False):
            return future  # a thread is idle: it takes the turn
        with self._lock:
            if self._threads >= self.limit:
                return future  # the first thread done with its turn takes this one
            self._threads += 1
        threading.Thread(target=self._serve, name="autograms-turn", daemon=True).start()
        return future

    def _serve(self) -> None:
        while True:
            self._queue.get()()

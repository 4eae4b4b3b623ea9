"""The threads turns run in: a turn is handed to one the moment a route starts it.

The turn runner is synchronous (the store's drivers, the model client), so every turn runs in
a thread of its own while the event loop serves other requests. `TurnThreads` hands a turn to
an idle thread at once, from the route's own step -- the turn starts while the route goes on
to wait for its first piece, without a task of the event loop in between (as
``anyio.to_thread`` needs: a task, a checkpoint, a limiter, then the thread) -- and says
nothing to the event loop when the turn ends: a streamed turn reports through its
`TurnStream`, a waiting route through the turn's future.

Turns of one session (a *group*) take at most `group_limit` threads at once: the others wait
without a thread, in arrival order, until one of their session's turns ends. A conversation
with many queued messages (they run one after the other anyway) then never takes every thread
while other conversations' turns wait for one.

The threads are daemon threads: at exit, a turn still running (the shutdown's wait for it is
over) does not hold the process up; its commit lands or never happens, as after a crash.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")

logger = logging.getLogger("autograms.serve")


class TurnThreads:
    """At most `limit` threads running turns, at most `group_limit` of them for one group's
    turns; more turns wait in line for one. A thread is started only when none is idle, and
    then kept for the next turns."""

    def __init__(self, limit: int, group_limit: int | None = None) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1: got {limit}")
        if group_limit is not None and group_limit < 1:
            raise ValueError(f"group_limit must be at least 1: got {group_limit}")
        self.limit = limit
        self.group_limit = group_limit or limit
        self._queue: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        #: released by a thread each time it is ready for the next turn
        self._idle = threading.Semaphore(0)
        self._lock = threading.Lock()
        self._threads = 0
        #: per group: how many of its turns are handed to threads, and those waiting
        self._handed: dict[Hashable, int] = {}
        self._parked: dict[Hashable, deque[Callable[[], None]]] = {}

    def submit(
        self, work: Callable[[], T], group: Hashable | None = None
    ) -> concurrent.futures.Future[T]:
        """Run ``work()`` in a turn thread (once fewer than `group_limit` turns of `group`
        have one); its future has its result or exception. The future cannot be cancelled:
        a turn runs to its end even if its request goes away."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        future.set_running_or_notify_cancel()

        def run() -> None:
            try:
                result = work()
            except BaseException as exc:  # the caller's to report, through the future
                self._done(group)
                future.set_exception(exc)
            else:
                # ready for the next turn before this one's caller hears of its end
                self._done(group)
                future.set_result(result)

        if group is not None:
            with self._lock:
                handed = self._handed.get(group, 0)
                if handed >= self.group_limit:
                    self._parked.setdefault(group, deque()).append(run)
                    return future
                self._handed[group] = handed + 1
        self._hand(run)
        return future

    def _hand(self, run: Callable[[], None]) -> None:
        """Give `run` to an idle thread, a new one, or the first one done with its turn."""
        self._queue.put(run)
        if self._idle.acquire(blocking=False):
            return  # a thread is idle: it takes the turn
        with self._lock:
            if self._threads >= self.limit:
                return  # the first thread done with its turn takes this one
            self._threads += 1
        threading.Thread(target=self._serve, name="autograms-turn", daemon=True).start()

    def _done(self, group: Hashable | None) -> None:
        """A turn of `group` ended (in its thread): the thread is idle, and the group's next
        waiting turn, if any, is handed over."""
        self._idle.release()
        if group is None:
            return
        with self._lock:
            parked = self._parked.get(group)
            if not parked:
                self._handed[group] -= 1
                if not self._handed[group]:
                    del self._handed[group]
                return
            following = parked.popleft()
            if not parked:
                del self._parked[group]
        self._hand(following)

    def _serve(self) -> None:
        while True:
            self._queue.get()()

"""Keeping a running turn's place: its lease renewed while its program runs.

A turn's ticket (`Store.claim`) holds its session's queue for `lease_seconds`; a model call can
take longer. Without renewal, the next message's worker would find the lease over, run its own
turn on the same base version and lose at the commit -- correct (the version check fences it)
but a wasted run of the program and of its model calls. So while a program runs, its ticket's
lease is renewed every third of a lease by one daemon thread per process, shared by every
`TurnRunner` of the process (a runner made per request starts no thread of its own); the
thread ends once no ticket has been held for 30 seconds. A ticket taken does not wake the
thread when it will look before the ticket is due anyway (while idle it looks every third of
the shortest lease it has kept): waking it would hand it the interpreter lock at the turn's
first database call, a delay of 10-25 us on every turn. A worker that is paused (SIGSTOP, a
frozen VM, a long GC) renews nothing: its lease ends, the next turn goes ahead, and its own
commit is then refused by the version check.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator

from .base import Store
from .errors import StoreError
from .records import Ticket

logger = logging.getLogger("autograms")

#: how long the renewing thread outlives the last ticket it held (a new one then starts it)
IDLE_SECONDS = 30.0


class LeaseKeeper:
    """Renews the leases of the tickets `holding` is given, on `store`, until their block
    ends (through the process's renewing thread)."""

    def __init__(self, store: Store, lease_seconds: float) -> None:
        self.store = store
        self.lease_seconds = lease_seconds

    @contextlib.contextmanager
    def holding(self, ticket: Ticket | None) -> Iterator[None]:
        """Keep `ticket`'s lease alive for the length of the block."""
        if ticket is None:
            yield
            return
        held = _Held(self.store, ticket, self.lease_seconds)
        _RENEWER.add(held)
        try:
            yield
        finally:
            _RENEWER.remove(held)


class _Held:
    """One ticket held: where it is, its lease, when it was last renewed."""

    __slots__ = ("store", "ticket", "lease_seconds", "renewed")

    def __init__(self, store: Store, ticket: Ticket, lease_seconds: float) -> None:
        self.store = store
        self.ticket = ticket
        self.lease_seconds = lease_seconds
        self.renewed = time.monotonic()

    def due(self) -> float:
        """When its lease is next renewed (time.monotonic())."""
        return self.renewed + self.lease_seconds / 3


class _Renewer:
    """The process's renewing thread and the tickets it keeps (per process: a forked child
    starts its own; no session's state is kept here, only the tickets running now)."""

    def __init__(self) -> None:
        self._held: set[_Held] = set()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = 0
        #: when the thread looks next (time.monotonic()); 0 when it is not running
        self._wake_at = 0.0
        #: how often it looks while it holds no ticket: a third of the shortest lease kept
        self._idle_look = IDLE_SECONDS

    def add(self, held: _Held) -> None:
        with self._changed:
            if self._pid != os.getpid():  # a forked child: its parent's tickets are not its own
                self._pid, self._held, self._thread = os.getpid(), set(), None
            self._held.add(held)
            self._idle_look = min(self._idle_look, held.lease_seconds / 3)
            if self._thread is None or not self._thread.is_alive():
                self._wake_at = held.due()
                self._thread = threading.Thread(
                    target=self._run, name="autograms-leases", daemon=True
                )
                self._thread.start()
            elif held.due() < self._wake_at:
                self._changed.notify()

    def remove(self, held: _Held) -> None:
        with self._changed:
            self._held.discard(held)

    def _run(self) -> None:
        idle_since = time.monotonic()
        while True:
            with self._changed:
                now = time.monotonic()
                if self._held:
                    idle_since = now
                elif now - idle_since > IDLE_SECONDS:
                    self._thread, self._wake_at = None, 0.0
                    return
                due = [held for held in self._held if held.due() <= now]
                if not due:
                    self._wake_at = min(
                        (held.due() for held in self._held), default=now + self._idle_look
                    )
                    self._changed.wait(max(0.0, self._wake_at - now) + 0.001)
                    continue
            for held in due:
                _renew(held)


def _renew(held: _Held) -> None:
    try:
        held.store.renew(held.ticket, held.lease_seconds)
    except StoreError as error:  # the lease may end: the version check still fences
        logger.warning("could not renew the lease of ticket %s: %s", held.ticket, error)
    held.renewed = time.monotonic()


_RENEWER = _Renewer()

"""Keeping a running turn's place: its lease renewed while its program runs.

A turn's ticket (`Store.claim`) holds its session's queue for `lease_seconds`; a model call can
take longer. Without renewal, the next message's worker would find the lease over, run its own
turn on the same base version and lose at the commit -- correct (the version check fences it)
but a wasted run of the program and of its model calls. So while a program runs, one daemon
thread per `TurnRunner` and process renews the leases of its running turns every third of a
lease. A worker that is paused (SIGSTOP, a frozen VM, a long GC) renews nothing: its lease
ends, the next turn goes ahead, and its own commit is then refused by the version check.
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

logger = logging.getLogger("autograms")


class LeaseKeeper:
    """Renews the leases of the tickets `holding` is given, until their block ends; its
    thread starts with the first ticket and ends once there has been none for a lease."""

    def __init__(self, store: Store, lease_seconds: float) -> None:
        self.store = store
        self.lease_seconds = lease_seconds
        #: ticket -> time.monotonic() of its last renewal
        self._tickets: dict[int, float] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    @contextlib.contextmanager
    def holding(self, ticket: int) -> Iterator[None]:
        """Keep `ticket`'s lease alive for the length of the block."""
        if not ticket:
            yield
            return
        with self._lock:
            self._tickets[ticket] = time.monotonic()
            self._start()
        try:
            yield
        finally:
            with self._lock:
                self._tickets.pop(ticket, None)

    def _start(self) -> None:
        """Start the renewing thread unless it runs in this process (a forked child
        inherits the tickets' owner, not its threads)."""
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._renew, name="autograms-leases", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        interval = self.lease_seconds / 3
        idle_since = time.monotonic()
        while True:
            time.sleep(interval / 2)
            now = time.monotonic()
            with self._lock:
                if not self._tickets and now - idle_since > self.lease_seconds:
                    self._thread = None
                    return
                due = [ticket for ticket, at in self._tickets.items() if now - at >= interval]
                if self._tickets:
                    idle_since = now
            for ticket in due:
                self._renew_one(ticket, now)

    def _renew_one(self, ticket: int, now: float) -> None:
        try:
            self.store.renew(ticket, self.lease_seconds)
        except StoreError as error:  # the lease may end: the version check still fences
            logger.warning("could not renew the lease of ticket %s: %s", ticket, error)
        with self._lock:
            if ticket in self._tickets:
                self._tickets[ticket] = now

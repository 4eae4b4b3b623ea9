"""A reference run's program in a thread of its own, ended when the run is done.

The oracles run a program without the pausing machinery: where it would pause, it hands its
payload to the driver and blocks on a queue until the next scripted message. When the script
runs out, the program is still waiting there -- inside a turn for the dialog oracles, which
keeps every later decorated call of the test process on the in-a-turn path. `ProgramThread.end`
makes its wait raise `Stopped` (and every later one: a ``finally`` may ask again), so the
program unwinds, and waits for the thread to finish.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

#: How long the driver waits for the program's next event, and for the thread to end.
WAIT_SECONDS = 60.0

_STOP = object()


class Stopped(BaseException):
    """Raised in the program where it waits for a message once its run is over."""


class ProgramThread:
    """`target` run in a daemon thread that exchanges messages with the driver."""

    def __init__(self, target: Callable[[], Any]) -> None:
        self._to_driver: queue.Queue = queue.Queue()
        self._to_program: queue.Queue = queue.Queue()
        self._ending = False
        self._thread = threading.Thread(target=target, daemon=True, name="reference program")

    def start(self) -> None:
        self._thread.start()

    def exchange(self, kind: str, payload: Any) -> Any:
        """In the program: hand (kind, payload) to the driver, return the message it answers
        with; raises `Stopped` once the run is over."""
        if self._ending:
            raise Stopped
        self._to_driver.put((kind, payload))
        message = self._to_program.get()
        if message is _STOP:
            raise Stopped
        return message

    def report(self, kind: str, value: Any) -> None:
        """In the program: its last event (what it returned or raised)."""
        self._to_driver.put((kind, value))

    def event(self) -> tuple[str, Any]:
        """In the driver: the program's next (kind, value)."""
        return self._to_driver.get(timeout=WAIT_SECONDS)

    def answer(self, message: Any) -> None:
        """In the driver: the message the waiting program's exchange returns."""
        self._to_program.put(message)

    def end(self) -> None:
        """Stop the program wherever it waits and wait for its thread to finish; raises
        RuntimeError if it does not (it would outlive the test)."""
        self._ending = True
        self._to_program.put(_STOP)
        if not self._thread.is_alive():
            return
        self._thread.join(WAIT_SECONDS)
        if self._thread.is_alive():
            raise RuntimeError("a reference program did not end after its run (it keeps waiting)")

"""Showing a wait: how long a turn (or the local model's start) has been running, what it waits
for, and the library's latest notice -- on one terminal line, redrawn every second and erased
when the wait ends, so nothing of it stays in the conversation.

`WaitIndicator.waiting` marks a wait; `ObservedModel` marks each model call as one (so the
line says "waiting for the local model" rather than just "working"); `NoticeHandler` shows the
``autograms`` logger's warnings (a retry, a refused output form) on that line while it is up.
Nothing is drawn when the stream is not a terminal.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, TextIO

from ..models.records import ChatModel, ChatRequest, ChatResult, EmbeddingRequest, EmbeddingResult

#: seconds before the line appears (quick turns show nothing)
DELAY = 1.0
#: seconds between redraws
INTERVAL = 1.0
CANCEL_HINT = "Ctrl-C cancels"


class WaitIndicator:
    """The wait line of one terminal session."""

    def __init__(
        self, stream: TextIO | None = None, *, delay: float = DELAY, interval: float = INTERVAL
    ) -> None:
        self.stream = stream or sys.stderr
        self.delay = delay
        self.interval = interval
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._lock = threading.Lock()
        self._waits: list[str] = []
        self._notice: str | None = None
        #: length of the line on the terminal (0: none drawn)
        self._shown = 0

    @contextlib.contextmanager
    def waiting(self, what: str) -> Iterator[None]:
        """Mark a wait for `what` ("working", "waiting for the local model" ...); the
        outermost one draws the line, an inner one names what is awaited meanwhile."""
        with self._lock:
            self._waits.append(what)
            outermost = len(self._waits) == 1
        stop = threading.Event()
        thread = None
        if outermost and self.enabled:
            thread = threading.Thread(target=self._draw, args=(stop, time.monotonic()), daemon=True)
            thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._waits.remove(what)
                if not self._waits:
                    self._notice = None
            if thread is not None:
                stop.set()
                thread.join()
                self._erase()

    def notice(self, text: str) -> None:
        """Show `text` on the line until the wait ends (or the next notice)."""
        with self._lock:
            self._notice = " ".join(text.split())

    def line(self, elapsed: float) -> str:
        """The text of the line after `elapsed` seconds."""
        with self._lock:
            what = self._waits[-1] if self._waits else "working"
            notice = self._notice
        parts = [f"({what}: {int(elapsed)} s", CANCEL_HINT]
        if notice:
            parts.insert(1, notice)
        return "; ".join(parts) + ")"

    def _draw(self, stop: threading.Event, started: float) -> None:
        if stop.wait(self.delay):
            return
        while True:
            width = shutil.get_terminal_size((100, 24)).columns - 1
            text = self.line(time.monotonic() - started)[:width]
            # Spaces, not an escape sequence, wipe the rest of a longer earlier line: plain
            # carriage returns work on every terminal, TERM=dumb included.
            self._write("\r" + text.ljust(self._shown))
            self._shown = len(text)
            if stop.wait(self.interval):
                return

    def _erase(self) -> None:
        if self._shown:
            self._write("\r" + " " * self._shown + "\r")
            self._shown = 0

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away
            pass


class NoticeHandler(logging.Handler):
    """Shows the ``autograms`` logger's warnings on the wait line."""

    def __init__(self, indicator: WaitIndicator) -> None:
        super().__init__(level=logging.WARNING)
        self.indicator = indicator

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.indicator.notice(record.getMessage())
        except Exception:  # a logging handler never raises
            self.handleError(record)


@contextlib.contextmanager
def notices_on(indicator: WaitIndicator, logger_name: str = "autograms") -> Iterator[None]:
    """While the block runs, `logger_name`'s warnings go to `indicator` as well."""
    handler = NoticeHandler(indicator)
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


class ObservedModel:
    """A `ChatModel` that marks each of its calls as a wait on `indicator`."""

    def __init__(self, model: ChatModel, indicator: WaitIndicator, label: str) -> None:
        self.model = model
        self.indicator = indicator
        #: what the line says is awaited, e.g. "the local model"
        self.label = label

    def __repr__(self) -> str:
        return f"ObservedModel({self.model!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return self.model.__reduce__()

    def __getattr__(self, name: str) -> Any:
        if name == "model":  # not set yet (a copy being made)
            raise AttributeError(name)
        return getattr(self.model, name)

    def complete(self, request: ChatRequest) -> ChatResult:
        with self.indicator.waiting(f"waiting for {self.label}"):
            return self.model.complete(request)

    def embed(self, request: EmbeddingRequest) -> EmbeddingResult:
        with self.indicator.waiting("waiting for embeddings"):
            return self.model.embed(request)

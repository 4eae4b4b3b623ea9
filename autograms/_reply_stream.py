"""A turn's reply handed to whoever drives the turn while the model is still writing it.

Whoever runs a turn and wants its reply as it is produced (the HTTP service, through the turn
runner) makes a `ReplyStream` current with `streaming_replies(stream)` around the turn. The
helpers whose model answer becomes the reply (``reply_instruction``, ``reply_suffix``) then ask
the model for a streamed answer. ``reply_instruction`` hands its text on, tidied as the finished
reply will be (`TidiedText`); ``reply_suffix`` hands on only that the model has begun, its reply
coming whole with the turn's result (`SuffixedText`). Nothing else changes: the engine knows
nothing of it, and a turn run with no stream current calls the model exactly as before.

What is streamed is a preview; the reply the turn returns is the truth. It starts with the
streamed text except in rare cases a consumer must check for: the model call broke midway and
``error_response`` replaced the answer, or the turn ran again after losing its commit race.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Protocol


class ReplyStream(Protocol):
    """Receives a turn's reply in pieces, while it is written."""

    def restart(self) -> None:
        """A new candidate reply begins: pieces written before belong to an abandoned one."""

    def write(self, text: str) -> None:
        """The next piece of the reply; an empty one, before the first, says the model has
        begun answering (its server accepted the request)."""


_current: ContextVar[ReplyStream | None] = ContextVar("autograms_reply_stream", default=None)


@contextlib.contextmanager
def streaming_replies(stream: ReplyStream) -> Iterator[None]:
    """Make `stream` receive the replies of the turns run inside the block."""
    token = _current.set(stream)
    try:
        yield
    finally:
        _current.reset(token)


def current_reply_stream() -> ReplyStream | None:
    """The stream receiving the running turn's reply, or None."""
    return _current.get()


class TidiedText:
    """Hands on a model answer's pieces as ``_generation.tidy_reply`` will leave the whole
    answer: without surrounding whitespace and without a leading ``"<agent_name>:"`` label.
    Text is held back while it could still turn out to be the label, and trailing whitespace
    until more text follows it."""

    def __init__(self, stream: ReplyStream, agent_name: str) -> None:
        self.stream = stream
        self.agent_name = agent_name
        self.label = re.compile(rf"\s*{re.escape(agent_name)}\s*:\s*", re.IGNORECASE)
        self.raw = ""
        self.start: int | None = None
        self.sent = 0

    def __call__(self, piece: str) -> None:
        if not piece:  # the model has begun answering
            self.stream.write("")
            return
        self.raw += piece
        if self.start is None:
            self.start = self._content_start()
            if self.start is None:
                return
        content = self.raw[self.start :].rstrip()
        if len(content) > self.sent:
            self.stream.write(content[self.sent :])
            self.sent = len(content)

    def _content_start(self) -> int | None:
        """Where the reply's text begins in the answer, or None while it cannot be known."""
        text = self.raw.lstrip()
        lead = len(self.raw) - len(text)
        if not text:
            return None
        match = self.label.match(text)
        if match is not None:
            return lead + match.end() if match.end() < len(text) else None
        return None if self._may_become_label(text) else lead

    def _may_become_label(self, text: str) -> bool:
        name = self.agent_name
        if len(text) < len(name):
            return name.lower().startswith(text.lower())
        return text[: len(name)].lower() == name.lower() and not text[len(name) :].strip()


class SuffixedText:
    """A `ReplyStream` for ``reply_suffix``: passes on that the model has begun, and none of
    its text. The reply is the answer cut where it writes the suffix (`_suffix`), which only
    the whole answer tells, so the reply comes whole, in one piece, with the turn's result."""

    def __init__(self, stream: ReplyStream) -> None:
        self.stream = stream

    def restart(self) -> None:
        self.stream.restart()

    def write(self, text: str) -> None:
        if not text:  # the model has begun answering
            self.stream.write("")

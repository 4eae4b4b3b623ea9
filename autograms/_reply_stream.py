"""A turn's reply handed to whoever drives the turn while the model is still writing it.

Whoever runs a turn and wants its reply as it is produced (the HTTP service, through the turn
runner) makes a `ReplyStream` current with `streaming_replies(stream)` around the turn. The
helpers whose model answer becomes the reply (``reply_instruction``, ``reply_suffix``) then ask
the model for a streamed answer and hand its text on, tidied as the finished reply will be
(`TidiedText`, `SuffixedText`). Nothing else changes: the engine knows nothing of it, and a turn
run with no stream current calls the model exactly as before.

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
    """A `ReplyStream` for ``reply_suffix``: hands on the model's part of the reply, holding
    back the end that ``_generation.splice_suffix`` may cut (an echo of the suffix, quotes);
    the suffix itself comes with the finished reply."""

    #: characters splice_suffix strips before the suffix
    STRIPPED = " \t\n*\"'"

    def __init__(self, stream: ReplyStream, suffix: str) -> None:
        self.stream = stream
        # splice_suffix cuts at most len(suffix) + 8 characters from the end, then strips
        self.hold = len(suffix) + 8
        self.text = ""
        self.sent = 0

    def restart(self) -> None:
        self.text, self.sent = "", 0
        self.stream.restart()

    def write(self, text: str) -> None:
        if not text:  # the model has begun answering
            self.stream.write("")
            return
        self.text += text
        safe = self.text.strip()[: -self.hold].rstrip(self.STRIPPED)
        if len(safe) > self.sent:
            self.stream.write(safe[self.sent :])
            self.sent = len(safe)

"""A bounded memo of recently written session parts, to read them back without decoding.

A session is often serialized and deserialized again in the same process (a worker that keeps
its conversations in memory, or a store it writes and reads back): the text it reads then
holds parts this process wrote a moment ago. Their encoded and decoded forms are kept here by
a key taken from their content, and handed back only when the text holds the very same
encoded characters (compared in place, not copied), so what is read is exactly what decoding
the text would give. A text is usually read once after it is written, so a value is handed
back once, then forgotten (a later read decodes): the memo holds the parts written since
their session was last read, never older versions of them. A memo of pure data, never
stale; bounded in count and size.
"""

from __future__ import annotations

import threading
from typing import Any, Generic, TypeVar

Value = TypeVar("Value")


class Recall(Generic[Value]):
    """Values by key, at most `count` of them and `size` in all (the oldest make room)."""

    def __init__(self, count: int, size: int) -> None:
        self.count = count
        self.size = size
        self._values: dict[Any, tuple[Value, int]] = {}
        self._total = 0
        self._lock = threading.Lock()

    def remember(self, key: Any, value: Value, size: int) -> None:
        if size > self.size:
            return
        with self._lock:
            previous = self._values.pop(key, None)
            self._total -= previous[1] if previous is not None else 0
            while self._values and (
                len(self._values) >= self.count or self._total + size > self.size
            ):
                self._total -= self._values.pop(next(iter(self._values)))[1]
            self._values[key] = (value, size)
            self._total += size

    def take(self, key: Any) -> Value | None:
        """The value kept under `key`, forgotten now (None if none is)."""
        with self._lock:
            found = self._values.pop(key, None)
            if found is None:
                return None
            self._total -= found[1]
        return found[0]


def holds(text: str, start: int, end: int, pieces: tuple[str, ...], separator: str) -> bool:
    """Whether ``text[start:end]`` is `pieces` joined by `separator` (compared in place)."""
    position, width, first = start, len(separator), True
    for piece in pieces:
        if first:
            first = False
        elif width:
            # a short slice compared costs less than a call of startswith (a log has up to
            # 16 pieces, each compared in place whatever its size)
            if position + width > end or text[position : position + width] != separator:
                return False
            position += width
        if not text.startswith(piece, position, end):
            return False
        position += len(piece)
    return position == end

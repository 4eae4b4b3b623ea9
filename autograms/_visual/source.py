"""The bot's source text: the lines a node covers and one-line summaries of expressions."""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable

from .model import CodeLine

# The line breaks the tokenizer counts; str.splitlines() also splits at form feeds and others.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class Source:
    """The text of one bot file, addressed by AST positions."""

    def __init__(self, text: str, filename: str) -> None:
        self.filename = filename
        self.lines = _LINE_BREAK.split(text)
        self._encoded = [line.encode("utf-8") for line in self.lines]

    def locate(self, lineno: int) -> str:
        """``bot.py:12`` for messages."""
        return f"{os.path.basename(self.filename)}:{lineno}"

    def segment(self, node: ast.expr | ast.pattern) -> str:
        """The source of `node` on one line, runs of whitespace collapsed to one space."""
        first, last = node.lineno - 1, node.end_lineno - 1
        if first == last:
            raw = self._encoded[first][node.col_offset : node.end_col_offset]
        else:
            parts = [self._encoded[first][node.col_offset :], *self._encoded[first + 1 : last]]
            raw = b"\n".join([*parts, self._encoded[last][: node.end_col_offset]])
        return " ".join(raw.decode("utf-8", errors="replace").split())

    def code(self, spans: Iterable[tuple[int, int]]) -> tuple[CodeLine, ...]:
        """The lines of `spans` (1-based, inclusive) in order; blank or comment-only lines
        between two spans are kept so that a node's code reads as in the file."""
        numbers = sorted({n for start, end in spans for n in range(start, end + 1)})
        kept: list[int] = []
        for number in numbers:
            if kept and all(self._is_filler(gap) for gap in range(kept[-1] + 1, number)):
                kept.extend(range(kept[-1] + 1, number))
            kept.append(number)
        return tuple(CodeLine(n, self.lines[n - 1]) for n in kept if 0 < n <= len(self.lines))

    def _is_filler(self, lineno: int) -> bool:
        text = self.lines[lineno - 1].strip()
        return not text or text.startswith("#")

"""The analysis's plain vocabulary, for modules that must not load the analysis itself.

A fresh process whose functions come from the code cache (code_cache.py) pauses and resumes
without importing `bytecode` or the analysis (`analysis.py`, which re-exports these); the
modules on that path take from here what they name at import.
"""

from __future__ import annotations

from typing import Final

# Handler kinds, named for what a jump leaving them would skip.
HANDLER_EXCEPT: Final = "except"
HANDLER_FINALLY: Final = "finally"
HANDLER_WITH: Final = "with"
HANDLER_CLEANUP: Final = "cleanup"


class AnalysisError(Exception):
    """The bytecode has a shape the analysis does not model."""


def producer(position: int, output: int) -> int:
    """Encode the `output`-th item pushed by the instruction at `position`."""
    return position << 8 | output


def producer_position(key: int) -> int:
    return key >> 8


def producer_output(key: int) -> int:
    return key & 0xFF

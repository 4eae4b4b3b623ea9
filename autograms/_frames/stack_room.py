"""Room on the interpreter's stack for a resume as deep as the pause it continues.

A resume rebuilds every paused frame, one Python frame each, as the program had them. A program
may pause deeper than the recursion limit of the process that resumes it allows: it raised the
limit itself before the pause (`sys.setrecursionlimit(4000)` in the root function, which a new
process never runs again), or the process that paused it had a higher limit. Plain Python goes
on from such a pause; so must the session, or every later turn raises RecursionError. So a pause
records the limit it ran under when it is above the one a new process starts with
(`RECORDED`, a value of the outermost frame), and the turn that resumes it runs under that limit
at least, as the program did in plain Python; a pause recorded under no higher limit, resumed
on a deeper stack, gets the limit raised by the number of frames it rebuilds. The process's
limit is put back when the turn ends.
"""

from __future__ import annotations

import sys
from typing import Any

#: The name of the recorded limit among the outermost frame's saved values.
RECORDED = "__ag_recursion_limit"
#: The recursion limit a new CPython process starts with.
NEW_PROCESS_LIMIT = 1000
#: Frames a turn needs beside the paused ones, at least: the dialog layer's and the engine's
#: frames under the program, and those of the reply and the next pause above it.
MARGIN = 100


def record(outermost: dict[str, Any]) -> None:
    """Save the recursion limit the pause runs under with the outermost frame's values, when a
    new process would not start with it."""
    limit = sys.getrecursionlimit()
    if limit > NEW_PROCESS_LIMIT:
        outermost[RECORDED] = limit


def raise_for(count: int, outermost: dict[str, Any]) -> tuple[int, int] | None:
    """Raise the recursion limit for resuming `count` frames, the outermost with the saved
    values `outermost`, to the one their pause recorded, and further when rebuilding them on
    top of the current stack would come within `MARGIN` of it; (the limit before, the limit
    given), or None when it is left as it is."""
    limit = sys.getrecursionlimit()
    recorded = outermost.get(RECORDED, 0)
    wanted = recorded if type(recorded) is int and recorded > limit else limit
    if count * 4 >= wanted and _depth() + count + MARGIN > wanted:
        wanted = max(wanted, limit + count + MARGIN)
    if wanted == limit:
        return None
    sys.setrecursionlimit(wanted)
    return limit, wanted


def restore(raised: tuple[int, int] | None) -> None:
    """Put back the limit `raise_for` raised, unless the program set one of its own since
    (plain Python keeps the program's)."""
    if raised is not None and sys.getrecursionlimit() == raised[1]:
        sys.setrecursionlimit(raised[0])


def _depth() -> int:
    """How many frames the current thread's stack holds."""
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth

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
limit is put back when the turn ends, or, while turns run at once in threads, lowered to what
those still running need.
"""

from __future__ import annotations

import sys
import threading
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


def needed_for(count: int, outermost: dict[str, Any]) -> int | None:
    """The recursion limit resuming `count` frames needs, the outermost with the saved values
    `outermost`: the one their pause recorded, or more when rebuilding them on top of the
    current stack would come within `MARGIN` of it; None when the process's own will do."""
    recorded = outermost.get(RECORDED, 0)
    base = _raised.base or sys.getrecursionlimit()  # the process's, not another turn's
    wanted = recorded if type(recorded) is int and recorded > base else base
    if count * 4 >= wanted and _depth() + count + MARGIN > wanted:
        wanted = max(wanted, base + count + MARGIN)
    return None if wanted == base else wanted


def raise_to(needed: int | None) -> int | None:
    """Raise the recursion limit to `needed` (from `needed_for`) for a turn; give the result
    to `restore` when the turn ends."""
    if needed is None:
        return None
    with _raised.lock:
        if not _raised.needed:
            _raised.base = sys.getrecursionlimit()
        _raised.needed.append(needed)
        _raised.set_at_least(needed)
    return needed


def restore(needed: int | None) -> None:
    """The turn that needed the limit `needed` (from `raise_to`) has ended: lower the limit
    to what the turns still running need, or back to the process's own when none does --
    unless the program set a limit of its own since (plain Python keeps the program's)."""
    if needed is None:
        return
    with _raised.lock:
        _raised.needed.remove(needed)
        if sys.getrecursionlimit() == _raised.given:
            _raised.set_to(max(_raised.needed, default=_raised.base))
        if not _raised.needed:
            _raised.base = _raised.given = 0


class _Raised:
    """The limit the process had before turns raised it, the limits the turns running now
    need and the one last set for them. Turns of several sessions may run at once in
    threads, and the limit is the interpreter's: one turn's end must not take the room
    another still stands in."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.base = 0  # 0: no turn raised it
        self.given = 0
        self.needed: list[int] = []

    def set_at_least(self, limit: int) -> None:
        if sys.getrecursionlimit() < limit:
            self.set_to(limit)

    def set_to(self, limit: int) -> None:
        sys.setrecursionlimit(limit)
        self.given = limit


_raised = _Raised()


def _depth() -> int:
    """How many frames the current thread's stack holds."""
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth

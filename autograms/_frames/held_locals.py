"""A ``locals()`` dict the program holds keeps its contents through a pause (3.11, 3.12).

On 3.11 and 3.12 a function's frame has one locals dict: ``locals()`` and ``frame.f_locals``
copy the frame's current values into it and return it. A pause reads ``frame.f_locals`` to save
the frame, which would update a dict the program holds (``snap = locals()`` before the pause;
plain Python updates it only at the program's own next ``locals()``) before the snapshot saves
it. So the pause reads the locals through `read_locals` and gives the dict its contents back
with `put_back` before anything is saved. Only a function that asks for its locals itself
(``locals()``, ``vars()``, ``.f_locals``) is checked, which keeps the check off every other
pause; a dict handed out by ``sys._getframe(1).f_locals`` in a callee is not kept. On 3.13
``frame.f_locals`` is a view that writes no dict (PEP 667): nothing to put back.

Whether the frame has such a dict yet is read from the interpreter's frame struct (asking
``frame.f_locals`` would make one), after a check of that layout on live frames.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from types import CodeType, FrameType
from typing import Any, Final

from .versions import FRAME_INTERPRETER_FRAME_OFFSET, INTERPRETER_FRAME_LOCALS_OFFSET


def may_hold(code: CodeType) -> bool:
    """Whether code may take and keep its frame's own locals dict (it names a way to ask)."""
    return INTERPRETER_FRAME_LOCALS_OFFSET is not None and not _ASKING.isdisjoint(code.co_names)


_ASKING: Final = frozenset({"locals", "vars", "f_locals"})


def read_locals(frame: FrameType, may_hold: bool) -> tuple[Any, dict[str, Any] | None]:
    """`frame`'s locals as ``frame.f_locals`` gives them, and what the frame's own locals dict
    held before (None when there is nothing to put back); `may_hold` as `may_hold` said for
    the frame's function."""
    if not may_hold:
        return frame.f_locals, None
    own = _own_dict(frame)
    before = None if own is None else dict(own)  # copied before f_locals refreshes it
    return frame.f_locals, before


def put_back(current: Any, before: dict[str, Any] | None) -> None:
    """Give the frame's locals dict `current` the contents `before` that `read_locals` found."""
    if before is not None:
        current.clear()
        current.update(before)


def _own_dict(frame: FrameType) -> dict[str, Any] | None:
    if INTERPRETER_FRAME_LOCALS_OFFSET is None or not _layout_verified():
        return None
    address = _locals_pointer(frame)
    return None if address is None else ctypes.cast(address, ctypes.py_object).value


def _locals_pointer(frame: FrameType) -> int | None:
    interpreter_frame = ctypes.c_void_p.from_address(id(frame) + FRAME_INTERPRETER_FRAME_OFFSET)
    assert INTERPRETER_FRAME_LOCALS_OFFSET is not None
    pointer = interpreter_frame.value + INTERPRETER_FRAME_LOCALS_OFFSET  # type: ignore[operator]
    return ctypes.c_void_p.from_address(pointer).value


@functools.cache
def _layout_verified() -> bool:
    """Check, by address only, that a frame with no locals dict yet shows NULL there and one
    whose ``locals()`` was taken shows that dict."""
    if INTERPRETER_FRAME_LOCALS_OFFSET is None:
        return False

    def without() -> int | None:
        return _locals_pointer(sys._getframe())

    def with_dict() -> bool:
        held = locals()
        return _locals_pointer(sys._getframe()) == id(held)

    return without() is None and with_dict()

"""``locals()``, ``vars()`` and ``dir()`` in instrumented code show the user's locals only.

The engine keeps values in hidden locals (``__ag_...``, see instrument.py) from the first
call on. In an instrumented function, a call of one of these built-ins with no argument is
rewritten to call a replacement here, which reads the calling frame and leaves the hidden
locals out. The rewritten call still looks the name up as the original would: a module that
defines its own ``locals`` (say) gets that one called.
"""

from __future__ import annotations

import builtins
import sys
from types import FrameType
from typing import Any, Final

from bytecode import Instr

from . import emit
from .registry import lookup
from .versions import CALL_PREFIX_OPS, NULL_BELOW_CALLABLE

_ABSENT: Final = object()


def hide_engine_locals(items: list) -> list:
    """`items` with every no-argument call of ``locals``, ``vars`` or ``dir`` rewritten."""
    result: list = []
    for index, item in enumerate(items):
        replacement = _REPLACEMENTS.get(_global_called(item))
        if replacement is None or not _called_without_arguments(items, index):
            result.append(item)
            continue
        load = emit.instr("LOAD_CONST", replacement, item.location)
        null = emit.instr("PUSH_NULL", location=item.location)
        result += [null, load] if NULL_BELOW_CALLABLE else [load, null]
    return result


def _global_called(item: Any) -> str | None:
    """The name a global load pushes as the callable of a call, if `item` is one."""
    if isinstance(item, Instr) and item.name == "LOAD_GLOBAL" and item.arg[0]:
        return item.arg[1]
    return None


def _called_without_arguments(items: list, index: int) -> bool:
    following = [item for item in items[index + 1 : index + 4] if isinstance(item, Instr)]
    for instr in following:
        if instr.name in CALL_PREFIX_OPS and instr.arg == 0:
            continue
        return instr.name == "CALL" and instr.arg == 0
    return False


def visible_locals() -> Any:
    """``locals()`` (and ``vars()``) for the calling instrumented frame."""
    frame = sys._getframe(1)
    own = _own_definition(frame, "locals", builtins.locals)
    return own() if own is not None else _user_locals(frame)


def visible_vars() -> Any:
    frame = sys._getframe(1)
    own = _own_definition(frame, "vars", builtins.vars)
    return own() if own is not None else _user_locals(frame)


def visible_dir() -> Any:
    frame = sys._getframe(1)
    own = _own_definition(frame, "dir", builtins.dir)
    return own() if own is not None else sorted(_user_locals(frame))


_REPLACEMENTS: Final = {"locals": visible_locals, "vars": visible_vars, "dir": visible_dir}


def _own_definition(frame: FrameType, name: str, builtin: Any) -> Any:
    """What `name` means in `frame` when it is not the built-in (raises NameError as the
    original call would if it means nothing)."""
    value = frame.f_globals.get(name, _ABSENT)
    if value is _ABSENT:
        value = frame.f_builtins.get(name, _ABSENT)
    if value is _ABSENT:
        raise NameError(f"name {name!r} is not defined")
    return None if value is builtin else value


def _user_locals(frame: FrameType) -> dict[str, Any]:
    """The frame's locals without the engine's: those numbered after the original's own."""
    info = lookup(frame.f_code)
    hidden = frame.f_code.co_varnames[len(info.original_code.co_varnames) :] if info else ()
    names = frame.f_locals
    if type(names) is dict:
        # 3.11/3.12: locals() is the frame's own dict, refreshed from the slots on every read
        for name in hidden:
            names.pop(name, None)
        return names
    return {name: value for name, value in names.items() if name not in hidden}

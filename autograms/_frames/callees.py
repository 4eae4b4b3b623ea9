"""What a paused call site was calling, when the bytecode says so.

C functions leave no Python frame. When ``sorted(items, key=helper)`` ends up pausing inside
`helper`, the frame above the caller is `helper`'s, yet the caller is paused in the call to
`sorted`: resuming "after the call" would hand the user's message to `sorted`'s caller. Before
a snapshot is taken, the engine therefore checks that each frame was called directly by the
site its caller is paused at. The callable is re-derived from the site's loads (a global, a
local, an attribute or method of one); when it cannot be derived the check is skipped.
"""

from __future__ import annotations

import builtins
import functools
from types import CodeType, FrameType, FunctionType, MethodType
from typing import Any

from .analysis import Flow, producer, producer_position
from .effects import is_pair_load
from .records import CallSite
from .versions import KW_NAMES_ON_STACK, NULL_BELOW_CALLABLE

_UNKNOWN = object()


def called_code(flow: Flow, site: CallSite, frame: FrameType) -> CodeType | None | object:
    """The code object the call at `site` runs, None if the callee is not Python code, or
    `_UNKNOWN` when the bytecode does not pin the callable down."""
    callee = _callable(flow, site, frame)
    if callee is _UNKNOWN:
        return _UNKNOWN
    return _code_of(callee)


def is_unknown(value: object) -> bool:
    return value is _UNKNOWN


def _callable(flow: Flow, site: CallSite, frame: FrameType) -> Any:
    instr = flow.instrs[site.position]
    if instr.name == "CALL_FUNCTION_EX":
        return _UNKNOWN
    stack = flow.stacks[site.position]
    count = instr.arg + (1 if KW_NAMES_ON_STACK and instr.name == "CALL_KW" else 0)
    low, high = stack[-(count + 2)], stack[-(count + 1)]
    key = next(iter(low[0])) if len(low[0]) == 1 else -1
    if key >= 0:
        position = producer_position(key)
        if is_pair_load(flow.instrs[position]) and high[0] == {producer(position, 1)}:
            return _evaluate_pair(flow, position, frame)
    callable_item = high if NULL_BELOW_CALLABLE else low
    return _evaluate(flow, callable_item, frame)


def _evaluate_pair(flow: Flow, position: int, frame: FrameType) -> Any:
    load = flow.instrs[position]
    if load.name == "LOAD_GLOBAL":
        return _global(frame, load.arg[1])
    if load.name in ("LOAD_ATTR", "LOAD_METHOD"):
        name = load.arg if load.name == "LOAD_METHOD" else load.arg[1]
        owner = _evaluate(flow, flow.stacks[position][-1], frame)
        return _UNKNOWN if owner is _UNKNOWN else getattr(owner, name, _UNKNOWN)
    return _UNKNOWN


def _evaluate(flow: Flow, item: tuple, frame: FrameType, depth: int = 0) -> Any:
    producers = item[0]
    if len(producers) != 1 or depth > 8:
        return _UNKNOWN
    key = next(iter(producers))
    if key < 0:
        return _UNKNOWN
    position = producer_position(key)
    load = flow.instrs[position]
    name = load.name
    if name == "LOAD_GLOBAL":
        return _global(frame, load.arg[1] if isinstance(load.arg, tuple) else load.arg)
    if name in ("LOAD_FAST", "LOAD_FAST_CHECK", "LOAD_DEREF"):
        return frame.f_locals.get(getattr(load.arg, "name", load.arg), _UNKNOWN)
    if name == "LOAD_ATTR" and not is_pair_load(load):
        owner = _evaluate(flow, flow.stacks[position][-1], frame, depth + 1)
        attribute = load.arg[1] if isinstance(load.arg, tuple) else load.arg
        return _UNKNOWN if owner is _UNKNOWN else getattr(owner, attribute, _UNKNOWN)
    return _UNKNOWN


def _global(frame: FrameType, name: str) -> Any:
    if name in frame.f_globals:
        return frame.f_globals[name]
    return getattr(builtins, name, _UNKNOWN)


def _code_of(callee: Any) -> CodeType | None:
    while True:
        if isinstance(callee, MethodType):
            callee = callee.__func__
        elif isinstance(callee, functools.partial):
            callee = callee.func
        elif isinstance(callee, (staticmethod, classmethod)):
            callee = callee.__func__
        else:
            break
    if isinstance(callee, FunctionType):
        return callee.__code__
    if isinstance(callee, type):
        return None  # a class call runs __init__/__new__ but returns the instance
    call = getattr(type(callee), "__call__", None)  # noqa: B004 - the method, not a test
    if isinstance(call, FunctionType):
        return call.__code__
    return None

"""Was the frame above a paused call site called by that call instruction itself?

A pause resumes a frame "after the call" its caller was paused in: the call's result becomes
what the callee returns. That is only true when the call instruction called the callee
directly. C code in between breaks it without leaving a frame of its own: ``list(map(ask,
items))``, ``sorted(items, key=ask)``, ``K()`` whose ``__init__`` pauses (the call returns
the instance, not what ``__init__`` returns) and a class body (run by the class statement)
all put the pausing frame right above a caller paused in some other call. The constructor
call is the one such case that still resumes, differently (`initialises`).

The interpreter knows: a frame pushed by its caller's call instruction links straight to the
caller's frame, while a frame called from C code is an *entry* frame (3.11) or links to a
shim frame the C call left (3.12+). `entered_directly` reads that link. When C code did call
the frame, the call may still be transparent -- a ``functools.partial`` or an object's
``__call__`` returns what the function returns -- which the site's bytecode shows: the
callable is re-derived from its loads (a global, a local, an attribute or method of one).
"""

from __future__ import annotations

import builtins
import ctypes
import functools
import sys
from types import CodeType, FrameType, FunctionType, MethodType
from typing import TYPE_CHECKING, Any, Final

from .producers import producer, producer_position
from .records import CallSite
from .registry import FunctionInfo, lookup
from .versions import (
    FRAME_INTERPRETER_FRAME_OFFSET,
    INTERPRETER_FRAME_CODE_OFFSET,
    INTERPRETER_FRAME_FUNCTION_OFFSET,
    INTERPRETER_FRAME_IS_ENTRY_OFFSET,
    INTERPRETER_FRAME_LOCALSPLUS_OFFSET,
    INTERPRETER_FRAME_PREVIOUS_OFFSET,
    NULL_BELOW_CALLABLE,
)

if TYPE_CHECKING:
    from .analysis import Flow

#: A callable the bytecode does not pin down.
UNKNOWN: Final = object()

_LOCAL_LOADS: Final = frozenset({"LOAD_FAST", "LOAD_FAST_CHECK", "LOAD_DEREF"})


def entered_directly(caller: FrameType, callee: FrameType) -> bool | None:
    """Whether `callee` was pushed by a call instruction of `caller`, with no C code between
    them; None when this interpreter's frame layout is not the one the engine knows."""
    if not _layout_verified():
        return None
    return _pushed_by(caller, callee)


def _pushed_by(caller: FrameType, callee: FrameType) -> bool:
    frame = _interpreter_frame(callee)
    if ctypes.c_void_p.from_address(frame + INTERPRETER_FRAME_PREVIOUS_OFFSET).value != (
        _interpreter_frame(caller)
    ):
        return False
    entry = INTERPRETER_FRAME_IS_ENTRY_OFFSET
    return entry is None or not ctypes.c_bool.from_address(frame + entry).value


def _previous(frame: int) -> int:
    return ctypes.c_void_p.from_address(frame + INTERPRETER_FRAME_PREVIOUS_OFFSET).value


def _one_call_between(caller: FrameType, callee: FrameType) -> bool:
    """Whether exactly one C-level call stands between `caller` and `callee` (3.11: `callee`
    is an entry frame right above `caller`; 3.12+: one shim frame links them)."""
    frame, below = _interpreter_frame(callee), _interpreter_frame(caller)
    if INTERPRETER_FRAME_IS_ENTRY_OFFSET is not None:
        entry = ctypes.c_bool.from_address(frame + INTERPRETER_FRAME_IS_ENTRY_OFFSET).value
        return entry and _previous(frame) == below
    shim = _previous(frame)
    return shim != below and _previous(shim) == below


def initialises(target: Any, caller: FrameType, callee: FrameType) -> bool:
    """Whether `callee` is the instrumented ``__init__`` that calling the class `target` runs
    (``K()``: type.__call__ makes the instance, then calls its __init__), so the call's result
    is `callee`'s first argument -- which `callee` never rebinds."""
    if not isinstance(target, type) or type(target).__call__ is not type.__call__:
        return False
    info = lookup(callee.f_code)
    code = callee.f_code
    if info is None or code.co_name != "__init__" or code.co_argcount < 1:
        return False
    first = info.original_code.co_varnames[0]
    instance = callee.f_locals.get(first)
    init = getattr(type(instance), "__init__", None)
    return (
        isinstance(instance, target)
        and isinstance(init, FunctionType)
        and lookup(init.__code__) is info  # its normal code or a variant (variants.py)
        and first not in info.original_code.co_cellvars
        and first not in info.flow.writes  # never stored to, deleted or cleared
        and _layout_verified()
        and _one_call_between(caller, callee)
    )


def running_function(frame: FrameType) -> Any:
    """The function object `frame` runs (the interpreter frame's own reference to it), or
    None when this interpreter's frame layout is not the one the engine knows."""
    if not _layout_verified():
        return None
    return _function_of(frame)


def _function_of(frame: FrameType) -> Any:
    address = _interpreter_frame(frame) + INTERPRETER_FRAME_FUNCTION_OFFSET
    return ctypes.py_object.from_address(address).value


def _interpreter_frame(frame: FrameType) -> int:
    return ctypes.c_void_p.from_address(id(frame) + FRAME_INTERPRETER_FRAME_OFFSET).value


@functools.cache
def _layout_verified() -> bool:
    """Check the frame layout on live frames whose links are known before trusting it."""
    seen: list[bool] = []

    def probe() -> None:
        frame = sys._getframe()
        code = _interpreter_frame(frame) + INTERPRETER_FRAME_CODE_OFFSET
        seen.append(ctypes.c_void_p.from_address(code).value == id(frame.f_code))
        seen.append(_pushed_by(frame.f_back, frame))
        if all(seen):  # the layout holds so far: the function slot is safe to read
            seen.append(_function_of(frame) is probe)

    def called_through_c(_: object) -> None:
        frame = sys._getframe()
        seen.append(not _pushed_by(frame.f_back, frame))

    def caller() -> None:
        probe()
        list(map(called_through_c, [0]))

    caller()
    return seen == [True, True, True, True]


def running_callable(flow: Flow, site: CallSite, frame: FrameType) -> Any:
    """The callable that the call at `site` is running in `frame`, read from the frame's value
    stack, or `UNKNOWN`. Only for a call that is running C code (a callee not entered
    directly): the interpreter keeps such a call's operands on the stack until it returns."""
    if not _layout_verified() or not _stack_layout_verified():
        return UNKNOWN
    from .analysis import call_operands  # loaded with `flow` (see producers.py)

    instr = flow.instrs[site.position]
    stack = flow.stacks[site.position]
    low = len(stack) - (call_operands(instr, stack).arguments + 2)
    if not NULL_BELOW_CALLABLE:  # 3.13: [callable, NULL or self, arguments]
        return _stack_object(frame, low)
    method = _stack_object(frame, low)  # [NULL or method, callable or self, arguments]
    return _stack_object(frame, low + 1) if method is None else method


def received_first(slot_value: Any, caller: FrameType, callee: FrameType) -> bool:
    """Whether C code called by `caller`'s running call passed that call's arguments on to
    `callee`, with `slot_value` put in front as its first argument, and returns what `callee`
    returns: a ``functools.partial`` of one argument (3.11/3.12 vectorcall lends it the
    callable's stack slot for that argument while the call runs, so `running_callable` reads
    the argument, not the partial). `callee` must still hold it, and be an instrumented
    function exactly one C call above `caller`."""
    code = callee.f_code
    info = lookup(code)
    if slot_value is UNKNOWN or not NULL_BELOW_CALLABLE or info is None or code.co_argcount < 1:
        return False
    if isinstance(slot_value, type) and code.co_name == "__new__":
        return False  # a class called: its __new__ gets the class, and __init__ runs after it
    names, cells = info.original_code.co_varnames, info.original_code.co_cellvars
    values = callee.f_locals
    if values.get(names[0], UNKNOWN) is slot_value and names[0] not in cells:
        return _one_call_between(caller, callee)
    if names[0] in cells and not callable(slot_value):
        # the first parameter lives in a cell the function may have changed since it began
        # (`nonlocal`); but the call instruction called its callable's slot, so an object
        # nothing can call there was put by the C code it called: only a partial or a bound
        # method lends the slot, to the first argument of the function it calls
        return _one_call_between(caller, callee)
    # the partial of a bound method (partial(obj.method, arg)): the method is called with
    # its `self` put in front of the lent argument
    return (
        code.co_argcount >= 2
        and values.get(names[1], UNKNOWN) is slot_value
        and not cells
        and _method_of(values.get(names[0], UNKNOWN), code.co_name) is info
        and _one_call_between(caller, callee)
    )


def _method_of(instance: Any, name: str) -> FunctionInfo | None:
    """The instrumented function that `instance.name` is a bound method of (found in the
    classes' namespaces, never asking the instance), or None."""
    for klass in type(instance).__mro__:
        function = vars(klass).get(name)
        if function is not None:
            return lookup(getattr(function, "__code__", None))
    return None


def captured_value(frame: FrameType, slot: int, width: int) -> Any:
    """What a load left at value-stack `slot` of `frame`, paused in a call above it, as one
    object: for a method call's pair (`width` 2), the callable the call would call -- the
    attribute beside a NULL, or the method bound to its `self`. `UNKNOWN` when this
    interpreter's frame layout is not the one the engine knows."""
    if not _layout_verified() or not _stack_layout_verified():
        return UNKNOWN
    first = _stack_pointer(frame, slot)
    if width == 1:
        return ctypes.cast(first, ctypes.py_object).value
    second = _stack_pointer(frame, slot + 1)
    if NULL_BELOW_CALLABLE:  # [method or NULL, self or callable]
        method, other = first, second
    else:  # 3.13: [callable or method, NULL or self]
        method, other = (first, second) if second is not None else (None, first)
    if method is None:
        return ctypes.cast(other, ctypes.py_object).value
    function = ctypes.cast(method, ctypes.py_object).value
    return MethodType(function, ctypes.cast(other, ctypes.py_object).value)


def _stack_pointer(frame: FrameType, slot: int) -> int | None:
    return ctypes.c_void_p.from_address(_stack_address(frame, slot)).value


def _stack_address(frame: FrameType, slot: int) -> int:
    code = frame.f_code
    cells = code.co_cellvars
    # localsplus holds each local, cell and free variable once (an argument that is a cell
    # too is one slot), then the value stack
    locals_plus = (
        len(code.co_varnames)
        + len(cells)
        + len(code.co_freevars)
        - len(set(code.co_varnames).intersection(cells))
    )
    start = _interpreter_frame(frame) + INTERPRETER_FRAME_LOCALSPLUS_OFFSET
    return start + ctypes.sizeof(ctypes.c_void_p) * (locals_plus + slot)


def _stack_object(frame: FrameType, slot: int) -> Any:
    """The object at value-stack `slot` of `frame` (None for a NULL); the slot must hold a
    live reference."""
    pointer = ctypes.c_void_p.from_address(_stack_address(frame, slot)).value
    return None if pointer is None else ctypes.cast(pointer, ctypes.py_object).value


@functools.cache
def _stack_layout_verified() -> bool:
    """Check where value-stack slots are on a live frame (by address only) before reading."""
    marker = object()
    seen: list[bool] = []

    def read() -> None:
        address = _stack_address(sys._getframe(1), 2)  # [NULL, keep, marker] in any order
        seen.append(ctypes.c_void_p.from_address(address).value == id(marker))

    def keep(*_: object) -> None:
        return None

    def holder() -> None:
        keep(marker, read())

    holder()
    return seen == [True]


def called_object(flow: Flow, site: CallSite, frame: FrameType) -> Any:
    """The callable of the call at `site` in `frame`, or `UNKNOWN`."""
    from .analysis import call_operands  # loaded with `flow` (see producers.py)
    from .effects import is_pair_load

    instr = flow.instrs[site.position]
    operands = call_operands(instr, flow.stacks[site.position])
    low = operands.low
    key = next(iter(low[0])) if len(low[0]) == 1 else -1
    if key >= 0:
        position = producer_position(key)
        if is_pair_load(flow.instrs[position]) and operands.high[0] == {producer(position, 1)}:
            return _evaluate_pair(flow, position, frame)
    return _evaluate(flow, operands.callable, frame)


def runs_code(callee: Any, code: CodeType) -> bool:
    """Whether calling `callee` runs `code` and returns what it returns (a function, a bound
    method, a partial of one, an object whose ``__call__`` is one)."""
    while True:
        if isinstance(callee, MethodType):
            callee = callee.__func__
        elif isinstance(callee, functools.partial):
            callee = callee.func
        elif isinstance(callee, (staticmethod, classmethod)):
            callee = callee.__func__
        else:
            break
    if isinstance(callee, type):
        return False  # a class call runs __init__/__new__ but returns the instance
    if not isinstance(callee, FunctionType):
        callee = getattr(type(callee), "__call__", None)  # noqa: B004 - the method, not a test
        if not isinstance(callee, FunctionType):
            return False
    if callee.__code__ is code:
        return True
    info = lookup(code)  # `code` may be the normal code or a variant of it (variants.py)
    return info is not None and (
        callee.__code__ is info.original_code or lookup(callee.__code__) is info
    )


def _evaluate_pair(flow: Flow, position: int, frame: FrameType) -> Any:
    load = flow.instrs[position]
    if load.name == "LOAD_GLOBAL":
        return _global(frame, load.arg[1])
    if load.name in ("LOAD_ATTR", "LOAD_METHOD"):
        name = load.arg if load.name == "LOAD_METHOD" else load.arg[1]
        owner = _evaluate(flow, flow.stacks[position][-1], frame)
        return UNKNOWN if owner is UNKNOWN else getattr(owner, name, UNKNOWN)
    return UNKNOWN


def _evaluate(flow: Flow, item: tuple, frame: FrameType, depth: int = 0) -> Any:
    producers = item[0]
    if len(producers) != 1 or depth > 8:
        return UNKNOWN
    key = next(iter(producers))
    if key < 0:
        return UNKNOWN
    from .effects import is_pair_load  # loaded with `flow` (see producers.py)

    position = producer_position(key)
    load = flow.instrs[position]
    name = load.name
    if name == "LOAD_GLOBAL":
        return _global(frame, load.arg[1] if isinstance(load.arg, tuple) else load.arg)
    if name == "LOAD_BUILD_CLASS":
        return frame.f_builtins.get("__build_class__", UNKNOWN)
    if name in _LOCAL_LOADS:
        return frame.f_locals.get(getattr(load.arg, "name", load.arg), UNKNOWN)
    if name == "LOAD_ATTR" and not is_pair_load(load):
        owner = _evaluate(flow, flow.stacks[position][-1], frame, depth + 1)
        attribute = load.arg[1] if isinstance(load.arg, tuple) else load.arg
        return UNKNOWN if owner is UNKNOWN else getattr(owner, attribute, UNKNOWN)
    return UNKNOWN


def _global(frame: FrameType, name: str) -> Any:
    if name in frame.f_globals:
        return frame.f_globals[name]
    return getattr(builtins, name, UNKNOWN)


#: Wrapper types written in C, by the name a program decorates with.
_C_WRAPPERS: dict[Any, str] = {type(functools.lru_cache(maxsize=1)(abs)): "functools.lru_cache"}


def c_wrapper(callee: Any) -> tuple[str, str] | None:
    """For a wrapper written in C around a function (``functools.lru_cache``'s, or another
    object whose ``__call__`` is C code and that has ``__wrapped__``): the wrapper's kind as
    a program names it and the qualified name of the function it wraps; else None."""
    if isinstance(callee, (FunctionType, MethodType, type, functools.partial)):
        return None
    kind = type(callee)
    if isinstance(getattr(kind, "__call__", None), FunctionType):  # noqa: B004 - the method
        return None
    wrapped = getattr(callee, "__wrapped__", None)
    if wrapped is None:
        return None
    name = _C_WRAPPERS.get(kind) or f"{kind.__module__}.{kind.__qualname__}"
    return name, getattr(wrapped, "__qualname__", None) or type(wrapped).__qualname__


def describe(callee: Any) -> str:
    """How an error message names the callable of a call."""
    if callee is UNKNOWN:
        return "a callable computed at run time"
    name = getattr(callee, "__qualname__", None) or type(callee).__qualname__
    if getattr(callee, "__module__", None) == "builtins":
        return f"the built-in {name}()"
    if isinstance(callee, type):
        return f"the class {name}"
    return f"{name}()"


def is_construction(target: Any, callee: FrameType) -> bool:
    """Whether `callee` is the __init__ (or __new__) of the class `target` being called."""
    if not isinstance(target, type) or callee.f_code.co_argcount < 1:
        return False
    first = callee.f_locals.get(callee.f_code.co_varnames[0])
    if callee.f_code.co_name == "__init__":
        return isinstance(first, target)
    return (
        callee.f_code.co_name == "__new__" and isinstance(first, type) and issubclass(first, target)
    )

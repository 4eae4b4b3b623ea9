"""Functions the program made at run time and handed to a module (a callback appended to a
module-level list, a handler put in a module-level dict), with their closure cells: in the
process that paused, the very objects the module holds, cells shared with the paused frames.

Such a function is no module-level object by place: a list's positions shift, and an item put
into a module-level dict at run time is not indexed until a global is rebound
(module_objects.py). Copied, it would take a copy of its cells with it, and the paused frame
would resume writing cells the registered function never reads again (plain Python keeps one
cell). So when a snapshot saves a cell or a function pickle cannot name, the program modules'
globals are looked at once (`_scan`): a function bound to a global, or an item of a global list,
tuple, set, frozenset or dict of at most `module_objects.REACH_LIMIT` entries, that pickle cannot
name, is *registered*; the snapshot saves it and each of its cells as (this process, the
function's id), with what a copy needs beside it:

* loaded in the process that paused while the function is alive there, it is the function
  itself and its cells are its own (held weakly in `_live`, so a dropped callback is not kept
  alive: then a copy is made, as in another process);
* loaded in another process, a copy, as before: the module there is the one its import built.

What the registered function and its cells hold then belongs to the process, as for any
module-level object (docs/engine.md, 'Module-level objects belong to the code'). Deeper
places (a list inside a module-level dict, an attribute of a module-level instance) are not
looked at: their functions are copied, with their cells.

The functions the saved data names (`function_or_original`, `set_copy_state`,
`cell_or_original`, `fill_copied_cell`) are part of the snapshot format: keep their module and
names.
"""

from __future__ import annotations

import os
import sys
import types
import weakref
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from . import module_objects, registry

#: Tells this process's snapshots from another's (ids mean nothing elsewhere); os.urandom,
#: not secrets, which would import hashlib and hmac with `import autograms` (a cold start).
_PROCESS = os.urandom(8).hex()
#: id(function) -> the registered functions a snapshot of this process saved, while alive.
_live: weakref.WeakValueDictionary[int, types.FunctionType] = weakref.WeakValueDictionary()
_SEQUENCES = frozenset({list, tuple, set, frozenset})


@dataclass
class Registered:
    """The registered functions a snapshot found, and their cells."""

    functions: dict[int, types.FunctionType] = field(default_factory=dict)
    #: id(cell) -> (the function holding it, its index in the function's closure)
    cells: dict[int, tuple[types.FunctionType, int]] = field(default_factory=dict)


#: The snapshot being written in this thread or task: [] until its first question, then
#: [its `Registered`] (None when no snapshot is being written: each question scans).
_current: ContextVar[list | None] = ContextVar("autograms_frames_registered", default=None)


def writing() -> Any:
    """Start a snapshot's scope (the scan is made at most once in it); pass the result to
    `done`."""
    return _current.set([])


def done(scope: Any) -> None:
    _current.reset(scope)


def _found() -> Registered:
    holder = _current.get()
    if holder is None:
        return _scan()
    if not holder:
        holder.append(_scan())
    return holder[0]


def _scan() -> Registered:
    found = Registered()
    for name in registry.program_modules():
        module = sys.modules.get(name)
        namespace = getattr(module, "__dict__", None)
        if type(namespace) is not dict:
            continue
        for value in list(namespace.values()):
            for function in _functions_in(value):
                if id(function) not in found.functions and not module_objects.is_named(function):
                    found.functions[id(function)] = function
                    for index, cell in enumerate(function.__closure__ or ()):
                        found.cells.setdefault(id(cell), (function, index))
    return found


def _functions_in(value: Any) -> Iterator[types.FunctionType]:
    """The functions `value` is or holds one step down (by type alone, never asking it)."""
    kind = type(value)
    if kind is types.FunctionType:
        yield value
    elif kind in _SEQUENCES or kind is dict:
        if len(value) <= module_objects.REACH_LIMIT:
            items = list(value.values() if kind is dict else value)
            yield from (item for item in items if type(item) is types.FunctionType)


def _token(function: types.FunctionType) -> tuple[str, int]:
    _live[id(function)] = function
    return (_PROCESS, id(function))


def reduce_function(function: types.FunctionType, args: tuple, state: Any) -> Any:
    """How to save `function` (`args` and `state`: its copy's, closures.py) if it is
    registered, else None."""
    if id(function) not in _found().functions:
        return None
    token = _token(function)
    return (function_or_original, (token, *args), (token, state), None, None, set_copy_state)


def reduce_cell(cell: types.CellType, state: tuple | None) -> Any:
    """How to save `cell` (`state`: its contents, or None when empty) if a registered
    function holds it, else None."""
    holder = _found().cells.get(id(cell))
    if holder is None:
        return None
    function, index = holder
    where = (*_token(function), index)
    return (cell_or_original, where, (where, state), None, None, fill_copied_cell)


def _original(process: str, key: int) -> types.FunctionType | None:
    return _live.get(key) if process == _PROCESS else None


def function_or_original(token: tuple[str, int], make: Any, *args: Any) -> types.FunctionType:
    """The registered function itself, where it is alive; else a copy made by `make`."""
    original = _original(*token)
    return original if original is not None else make(*args)


def set_copy_state(function: types.FunctionType, state: tuple) -> None:
    token, (setter, values) = state
    if values is not None and _original(*token) is not function:
        setter(function, values)


def cell_or_original(process: str, key: int, index: int) -> types.CellType:
    """The registered function's cell, where the function is alive; else a new empty cell."""
    original = _original(process, key)
    return original.__closure__[index] if original is not None else types.CellType()


def fill_copied_cell(cell: types.CellType, state: tuple) -> None:
    (process, key, index), contents = state
    original = _original(process, key)
    if contents is not None and (original is None or original.__closure__[index] is not cell):
        cell.cell_contents = contents[0]

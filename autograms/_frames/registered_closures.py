"""Functions the program made at run time and handed to a module (a callback appended to a
module-level list, a handler put in a module-level dict or bound to a global, a
`functools.partial` of one in a list), with their closure cells: in the process that paused,
the very objects the module holds, cells shared with the paused frames.

Such a function is no module-level object by place: a list's positions shift, an item put
into a module-level dict at run time is not indexed until a global is rebound
(module_objects.py), and a place the session filled is empty in a new process. Copied, it
would take a copy of its cells with it, and the paused frame would resume writing cells the
registered function never reads again (plain Python keeps one cell). So when a snapshot saves
a cell or a function pickle cannot name, the globals of the program modules and of the modules
they import are looked at once (`_scan`): a function bound to a global, or an item of a global
list, tuple, set, frozenset or dict of at most `module_objects.REACH_LIMIT` entries (or called
by a partial or bound method there), that pickle cannot name, is *registered*; the snapshot
saves it and each of its cells as (this process, the function's id) and, when the function is
at a place, that place, with what a copy needs beside it:

* loaded in the process that paused while the function is alive there, it is the function
  itself and its cells are its own (held weakly in `_live`, so a dropped callback is not kept
  alive);
* else the function its place holds, if that runs the same code (a module-level lambda: the
  module's own);
* else a copy, sharing its cells with the frames (the session is never refused for it).

What the registered function and its cells hold then belongs to the process, as for any
module-level object (docs/engine.md, 'Module-level objects belong to the code'), except that a
turn that fails gives the cells it took back the contents they had when it started
(`LOADING`, `roll_back`). Deeper places (a list inside a module-level dict, an attribute of a
module-level instance) are not looked at: their functions are copied, with their cells.

The functions the saved data names (`function_or_original`, `set_copy_state`,
`cell_or_original`, `fill_copied_cell`) are part of the snapshot format: keep their module and
names (a token without a place, from earlier snapshots, still loads).
"""

from __future__ import annotations

import builtins
import functools
import operator
import os
import sys
import types
import weakref
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from . import module_objects, registry
from .errors import SnapshotMismatchError
from .identity import code_fingerprint

#: Tells this process's snapshots from another's (ids mean nothing elsewhere); os.urandom,
#: not secrets, which would import hashlib and hmac with `import autograms` (a cold start).
_PROCESS = os.urandom(8).hex()
#: id(function) -> the registered functions a snapshot of this process saved, while alive.
_live: weakref.WeakValueDictionary[int, types.FunctionType] = weakref.WeakValueDictionary()
#: Callables that call a function of their own: how to get it.
_CALLING = {
    functools.partial: operator.attrgetter("func"),
    types.MethodType: operator.attrgetter("__func__"),
}
#: The types of globals `_functions_in` looks into.
_HOLDERS = frozenset({list, tuple, set, frozenset, dict, *_CALLING})
#: The types of a program module's globals that name a module it imports: how to get its name.
_IMPORTED = {
    types.ModuleType: operator.attrgetter("__name__"),
    types.FunctionType: operator.attrgetter("__module__"),
    type: operator.attrgetter("__module__"),
}
_BUILTINS = vars(builtins)
#: Top-level packages whose modules hold no program's callbacks.
_NEVER_SCANNED = frozenset({"autograms"})


@dataclass
class Registered:
    """The registered functions a snapshot found, and their cells."""

    functions: dict[int, types.FunctionType] = field(default_factory=dict)
    #: id(cell) -> (the function holding it, its index in the function's closure)
    cells: dict[int, tuple[types.FunctionType, int]] = field(default_factory=dict)


#: While a snapshot loads: the list of the cells it takes from the functions they belong to
#: (not copies), each with its contents then (see `roll_back`).
LOADING: ContextVar[list | None] = ContextVar("autograms_frames_loading_cells", default=None)
_EMPTY = object()  # an empty cell's contents in LOADING's list

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
    """The functions handed to the scanned modules (see `_scanned`), by one pass over their
    globals, each looked at by its type alone."""
    found = Registered()
    program = registry.program_modules()
    names = list(program)
    for name in names:  # grows by the program modules' imports
        imports = [] if name in program else None
        namespace = _namespace(name)
        for value in list(namespace.values()):
            kind = type(value)
            if kind is types.FunctionType:
                _register(found, value, namespace)
            elif kind in _HOLDERS and value is not _BUILTINS:  # `__builtins__`: no program's
                for function in _functions_in(value, kind):
                    _register(found, function, namespace)
            if imports is not None and kind in _IMPORTED:
                imports.append(_IMPORTED[kind](value))
        names += {module: None for module in filter(_scanned, imports or ()) if module not in names}
    return found


def _register(found: Registered, function: types.FunctionType, namespace: dict) -> None:
    if id(function) in found.functions:
        return
    if namespace.get(function.__qualname__) is function and function.__globals__ is namespace:
        return  # a module-level function under its own name, the usual global: pickle names it
    if not module_objects.is_named(function):
        found.functions[id(function)] = function
        for index, cell in enumerate(function.__closure__ or ()):
            found.cells.setdefault(id(cell), (function, index))


def _namespace(name: str) -> dict:
    namespace = getattr(sys.modules.get(name), "__dict__", None)
    return namespace if type(namespace) is dict else {}


def _scanned(name: Any) -> bool:
    """Whether the module `name`, which a program module imports, is scanned too: not the
    standard library's or autograms' own (they hold no program's callbacks)."""
    if type(name) is not str:
        return False
    top = name.partition(".")[0]
    return top not in sys.stdlib_module_names and top not in _NEVER_SCANNED


def _functions_in(value: Any, kind: type) -> list[types.FunctionType]:
    """The functions a `functools.partial` or bound method `value` calls, or that the
    container `value` holds one step down, or that such callables there call (by type alone,
    never asking an object)."""
    if kind in _CALLING:
        inner = _CALLING[kind](value)
        return [inner] if type(inner) is types.FunctionType else []
    if len(value) > module_objects.REACH_LIMIT:
        return []
    functions = []
    for item in list(value.values() if kind is dict else value):
        inner = type(item)
        if inner is types.FunctionType:
            functions.append(item)
        elif inner in _CALLING:
            functions += _functions_in(item, inner)
    return functions


def _token(function: types.FunctionType, registered: bool, where: tuple | None) -> tuple:
    """How a load finds `function` again: (this process, its id) when registered, then its
    place and code fingerprint when it has a place."""
    if registered:
        _live[id(function)] = function
    process = _PROCESS if registered else ""
    if where is None:
        return (process, id(function))
    return (process, id(function), where, code_fingerprint(function.__code__))


def reduce_function(function: types.FunctionType, args: tuple, state: Any) -> Any:
    """How to save `function` (`args` and `state`: its copy's, closures.py) if it is
    registered or module-level, else None."""
    registered = id(function) in _found().functions
    where = module_objects.reference(function)
    if not registered and where is None:
        return None
    token = _token(function, registered, where)
    return (function_or_original, (token, *args), (token, state), None, None, set_copy_state)


def reduce_cell(cell: types.CellType, state: tuple | None) -> Any:
    """How to save `cell` (`state`: its contents, or None when empty) if a registered
    function holds it, else None."""
    holder = _found().cells.get(id(cell))
    if holder is None:
        return None
    function, index = holder
    process, key, *place = _token(function, True, module_objects.reference(function))
    where = (process, key, index, *place)
    return (cell_or_original, where, (where, state), None, None, fill_copied_cell)


def _original(
    process: str, key: int, where: tuple | None = None, fingerprint: str = ""
) -> types.FunctionType | None:
    """The function itself, registered by this process and alive; else the function running
    the same code at its place, if it had one (a module-level function: the module's);
    else None (make a copy)."""
    if process == _PROCESS:
        function = _live.get(key)
        if function is not None:
            return function
    return None if where is None else _at_place(where, fingerprint)


def _at_place(where: tuple, fingerprint: str) -> types.FunctionType | None:
    try:
        found = module_objects.resolve(*where)
    except SnapshotMismatchError:  # the session put it there, this process has not
        return None
    if type(found) is types.FunctionType and code_fingerprint(found.__code__) == fingerprint:
        return found
    return None  # bound to something else here (None, the program's later choice)


def function_or_original(token: tuple, make: Any, *args: Any) -> types.FunctionType:
    """The function itself, or the module's at its place; else a copy made by `make`."""
    original = _original(*token)
    return original if original is not None else make(*args)


def set_copy_state(function: types.FunctionType, state: tuple) -> None:
    token, (setter, values) = state
    if values is not None and _original(*token) is not function:
        setter(function, values)


def cell_or_original(process: str, key: int, index: int, *place: Any) -> types.CellType:
    """The cell of the function `function_or_original` gives, where that is no copy; else a
    new empty cell."""
    original = _original(process, key, *place)
    if original is None:
        return types.CellType()
    cell = original.__closure__[index]
    handed = LOADING.get()
    if handed is not None:
        handed.append((cell, _contents(cell)))
    return cell


def _contents(cell: types.CellType) -> Any:
    try:
        return cell.cell_contents
    except ValueError:
        return _EMPTY


def roll_back(handed: list[tuple[types.CellType, Any]]) -> None:
    """Give the cells a load handed out (`LOADING`) the contents they had then: a turn that
    failed leaves them as before it, as it leaves the rest of the session."""
    for cell, contents in handed:
        if contents is _EMPTY:
            if _contents(cell) is not _EMPTY:
                del cell.cell_contents
        else:
            cell.cell_contents = contents


def fill_copied_cell(cell: types.CellType, state: tuple) -> None:
    (process, key, index, *place), contents = state
    original = _original(process, key, *place)
    if contents is not None and (original is None or original.__closure__[index] is not cell):
        cell.cell_contents = contents[0]

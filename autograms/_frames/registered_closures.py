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

The same scan finds what such callables hold that the frames may hold too: the contents of a
registered function's cells, the object a bound method is bound to (a method of the program's
class, or of a list: ``HANDLERS.append(c.on_event)``), a `functools.partial`'s arguments, and
what those hold in turn through lists, tuples, sets, dicts and instance attributes (`_reach`,
at most `REACH_BOUND` objects, module-level objects not entered). The snapshot saves such an
object as held (`held_token`, held_objects.py): the object itself in the process that paused
while the callable is alive, else a copy.

A `functools.partial` or bound method bound to a global (``CB = partial(record, items)``) is
saved as itself the same way, with its copy beside it (`reduce_bound`): a new process's global
holds what its import made, the session's callable only when it calls the same function.

The functions the saved data names (`function_or_original`, `set_copy_state`,
`cell_or_original`, `fill_copied_cell`, `bound_or_made`, `fill_unless_bound`) are part of the
snapshot format: keep their module and names (a token without a place, from earlier snapshots,
still loads).
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

from . import kept_copies, module_objects, registry
from .errors import SnapshotMismatchError
from .identity import code_fingerprint

#: Tells this process's snapshots from another's (ids mean nothing elsewhere); os.urandom,
#: not secrets, which would import hashlib and hmac with `import autograms` (a cold start).
_PROCESS = os.urandom(8).hex()
#: id(callable) -> the registered functions a snapshot of this process saved, and the
#: callables holding objects it saved as held, while alive.
_live: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
#: id(callable) -> (a weak reference to it, {id(object): object} for the objects it held that
#: the last snapshot saving any saved as held); kept alive while the callable is, so a load
#: can tell an object is the very one the snapshot saved.
_pins: dict[int, tuple[weakref.ref, dict[int, Any]]] = {}
#: At most this many objects are walked below the callables' own (`_reach`).
REACH_BOUND = 10_000
#: Callables that call a function of their own: how to get it.
_CALLING = {
    functools.partial: operator.attrgetter("func"),
    types.MethodType: operator.attrgetter("__func__"),
}
#: The callables the scan registers (a built-in method: ``items.append`` of a list).
_CALLABLES = frozenset({types.FunctionType, types.BuiltinMethodType, *_CALLING})
#: The types of globals `_callables_in` looks into.
_HOLDERS = frozenset({list, tuple, set, frozenset, dict, *_CALLABLES})
#: Objects never saved as held: values alike when equal, or saved by name.
_NOT_HELD = frozenset(
    {int, float, complex, str, bytes, bool, type(None), tuple, frozenset, types.ModuleType}
    | _CALLABLES
    | {types.CellType, types.CodeType}
)
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
    #: id(object) -> (a registered callable holding it, the object)
    held: dict[int, tuple[Any, Any]] = field(default_factory=dict)
    #: ids of the held objects the snapshot saved as held (the others it met were copied
    #: before the scan: pickling.py writes it again)
    saved: set[int] = field(default_factory=set)
    #: ids of the callables whose pins this snapshot set afresh
    pinned: set[int] = field(default_factory=set)


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


def scan_now() -> None:
    """Make the scan of the snapshot being written, if not made yet."""
    _found()


def scanned() -> Registered | None:
    """What the scan of the snapshot being written found, if it was made (None otherwise)."""
    holder = _current.get()
    return holder[0] if holder else None


def _scan() -> Registered:
    """The functions handed to the scanned modules (see `_scanned`), by one pass over their
    globals, each looked at by its type alone."""
    found = Registered()
    program = registry.program_modules()
    names = list(program)
    for name in names:  # grows by the program modules' imports
        namespace = _namespace(name)
        holders, imports = _globals_of(name, namespace)
        for value, kind in holders:
            for item in _callables_in(value, kind):
                _register(found, item, namespace)
        if name in program:
            names += {module: None for module in imports if module not in names}
    if found.held:
        _reach(found)
    return found


def _reach(found: Registered) -> None:
    """Add to `found.held` what its objects hold through lists, tuples, sets, dicts and
    instance attributes (never asking an object; module-level objects not entered)."""
    module_level = module_objects.indexed_ids()
    pending = list(found.held.values())
    for _ in range(REACH_BOUND):
        if not pending:
            return
        item, obj = pending.pop()
        for inner in _parts(obj):
            if id(inner) in found.held or id(inner) in module_level:
                continue
            if _followed(inner):
                found.held[id(inner)] = (item, inner)
                pending.append((item, inner))


#: Containers walked through but not saved as held (immutable: copies are alike).
WALKED_ONLY = frozenset({tuple, frozenset})


def _followed(obj: Any) -> bool:
    """Whether the scan follows `obj`: a container it walks through, or an object it may
    save as held (not a value alike when equal, not one saved by name)."""
    kind = type(obj)
    return kind in WALKED_ONLY or (kind not in _NOT_HELD and not isinstance(obj, type))


def _parts(obj: Any) -> list[Any]:
    kind = type(obj)
    if kind is dict:
        return [*obj.keys(), *obj.values()]
    if kind in (list, tuple, set, frozenset):
        return list(obj)
    if kind in _NOT_HELD or isinstance(obj, type) or not kind.__dictoffset__:
        return []
    try:
        attributes = object.__getattribute__(obj, "__dict__")
    except AttributeError:
        return []
    return list(attributes.values()) if type(attributes) is dict else []


#: module name -> (its globals' values when last looked at, the holders among them with their
#: types, the scanned modules they name): a module whose globals are bound to the same objects
#: has the same holders (whose contents the scan reads each time).
_globals_seen: dict[str, tuple[tuple, list[tuple[Any, type]], list[str]]] = {}


def _globals_of(name: str, namespace: dict) -> tuple[list[tuple[Any, type]], list[str]]:
    """The globals of module `name` the scan looks into, with their types, and the scanned
    modules they name (looked at again only when a global was bound to another object)."""
    bound = tuple(namespace.values())  # one C call; compared by identity in C
    seen = _globals_seen.get(name)
    if seen is not None and len(bound) == len(seen[0]) and all(map(operator.is_, bound, seen[0])):
        return seen[1], seen[2]
    holders, imports = [], []
    for value in bound:
        kind = type(value)
        if kind in _HOLDERS and value is not _BUILTINS and not _own(value, kind, namespace):
            holders.append((value, kind))  # (`__builtins__` holds no program's callbacks)
        if kind in _IMPORTED:
            imports.append(_IMPORTED[kind](value))
    imports = list(dict.fromkeys(filter(_scanned, imports)))
    _globals_seen[name] = (bound, holders, imports)
    return holders, imports


def _own(value: Any, kind: type, namespace: dict) -> bool:
    """Whether `value` is a module-level function under its own name, the usual global:
    pickle names it."""
    return (
        kind is types.FunctionType
        and namespace.get(value.__qualname__) is value
        and value.__globals__ is namespace
    )


def _register(found: Registered, item: Any, namespace: dict) -> None:
    """Register the callable `item` (a function, partial, bound or built-in method) and the
    function it calls, with what each holds one step down."""
    kind = type(item)
    if kind is types.FunctionType:
        _register_function(found, item, namespace)
        return
    for held in _slots(item, kind):
        if _followed(held):
            found.held.setdefault(id(held), (item, held))
    inner = _CALLING[kind](item) if kind in _CALLING else None
    if type(inner) in _CALLABLES:
        _register(found, inner, namespace)


def _slots(item: Any, kind: type) -> list[Any]:
    """The objects the partial or method `item` holds."""
    if kind is functools.partial:
        return [*item.args, *item.keywords.values()]
    return [item.__self__]  # a bound method's object (a built-in's module: not held)


def _register_function(found: Registered, function: types.FunctionType, namespace: dict) -> None:
    if id(function) in found.functions or _own(function, types.FunctionType, namespace):
        return
    if not module_objects.is_named(function):
        found.functions[id(function)] = function
        for index, cell in enumerate(function.__closure__ or ()):
            found.cells.setdefault(id(cell), (function, index))
            held = _contents(cell)
            if _followed(held):
                found.held.setdefault(id(held), (function, held))


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


def _callables_in(value: Any, kind: type) -> list[Any]:
    """`value` if it is a callable the scan registers, else the ones the container `value`
    holds one step down (by type alone, never asking an object)."""
    if kind in _CALLABLES:
        return [value]
    if len(value) > module_objects.REACH_LIMIT:
        return []
    return [
        item for item in list(value.values() if kind is dict else value) if type(item) in _CALLABLES
    ]


def held_token(obj: Any) -> tuple | None:
    """How a load finds `obj` again if a registered callable of the scan made for the
    snapshot being written holds it: (this process, the callable's id, the object's id);
    else None."""
    holder = _current.get()
    if not holder:
        return None
    found = holder[0]
    entry = found.held.get(id(obj))
    if entry is None or type(obj) in WALKED_ONLY:
        return None
    found.saved.add(id(obj))
    item = entry[0]
    key = id(item)
    _live[key] = item
    pinned = _pins.get(key)
    if pinned is None or pinned[0]() is not item or key not in found.pinned:
        pinned = _pins[key] = (weakref.ref(item, functools.partial(_unpin, key)), {})
        found.pinned.add(key)
    pinned[1][id(obj)] = obj
    return (_PROCESS, key, id(obj))


def _unpin(key: int, reference: weakref.ref) -> None:
    pinned = _pins.get(key)
    if pinned is not None and pinned[0] is reference:
        del _pins[key]


#: What `held_original` gives when the object is not to be had.
NOWHERE = object()


def held_original(process: str, key: int, ident: int) -> Any:
    """The object `ident` a snapshot saved as held by the callable `key`, when this process
    paused, the callable is alive and its last snapshot saved the object; else NOWHERE."""
    if process != _PROCESS or _live.get(key) is None:
        return NOWHERE
    pinned = _pins.get(key)
    return NOWHERE if pinned is None else pinned[1].get(ident, NOWHERE)


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


#: Callables a program binds to a global at run time (``CB = partial(f, box)``), saved as
#: themselves with a copy beside them (`reduce_bound`).
BOUND_CALLABLES = frozenset({functools.partial, types.MethodType})


def reduce_bound(obj: Any, where: tuple, reduction: tuple) -> tuple:
    """How to save the partial or bound method `obj`, bound to the global `where`, with its
    copy `reduction` (its own, as pickle takes it) beside it: a new process's global holds
    what its import made (None, often), which the session must not take for `obj`."""
    make, arguments, state, listitems, dictitems, setter = (*reduction, None, None, None, None)[:6]
    _live[id(obj)] = obj
    module, name, *steps = where
    token = (_PROCESS, id(obj), module, name, tuple(steps[0]) if steps else ())
    copy = (state, kept_copies.listed(listitems), kept_copies.listed(dictitems), setter)
    return (bound_or_made, (token, make, arguments), (token, copy), None, None, fill_unless_bound)


def _bound_original(token: tuple, make: Any = None, arguments: tuple = ()) -> Any:
    """The callable itself while alive in the process that paused; else the one its global
    holds when it calls the same function (`make` and `arguments` given); else NOWHERE."""
    process, key, module, name, steps = token
    if process == _PROCESS:
        live = _live.get(key)
        if live is not None:
            return live
    try:
        found = module_objects.found_at(module, name, steps)
    except SnapshotMismatchError:
        return NOWHERE
    if make is None or _alike(found, make, arguments):
        return found
    return NOWHERE


def _alike(found: Any, make: Any, arguments: tuple) -> bool:
    if type(found) is not make or not arguments:
        return False
    if make is types.MethodType:
        return found.__func__ is arguments[0] and found.__self__ is arguments[1]
    return found.func is arguments[0]


def bound_or_made(token: tuple, make: Any, arguments: tuple) -> Any:
    """The partial or bound method itself, or its global's when alike; else a copy."""
    original = _bound_original(token, make, arguments)
    return make(*arguments) if original is NOWHERE else original


def fill_unless_bound(obj: Any, saved: tuple) -> None:
    """Give the copy `obj` its saved state, unless it is the callable itself or its
    global's."""
    token, copy = saved
    if _bound_original(token) is not obj:
        kept_copies.fill_copy(obj, *copy)

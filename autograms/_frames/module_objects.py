"""Module-level objects: saved as the name that binds them, never copied.

An object is *module-level* when a global name of an imported module is bound to it, that is
``vars(sys.modules[module])[name] is obj`` at the moment the snapshot is taken, and it is not a
plain value whose identity means nothing: numbers, strings, bytes, None/True/False/Ellipsis,
the empty tuple and the empty frozenset (these are copied, as before). Such an object is saved
as the pair (module, name), wherever the snapshot meets it -- a local, an item of a list, an
attribute of an instance, the list a for-loop runs over -- and a resume gets back the object
that name is bound to then: in the same process, the very same object; in a new process, the
object the module's import created. It belongs to the code, not to the session, so the
session does not carry a copy of it (nor the changes made to it).

What is *not* module-level:

* objects reachable only through a module-level object (``TABLE["row"]``, ``ITEMS[0]``, an
  attribute of a module-level instance or class): they are saved by value, like any other
  object, unless a global name binds them too;
* classes, functions and methods defined at module level need no name of their own: pickle
  already saves them by their qualified name (and enum members by their class);
* operating-system resources and running state (open files, sockets, locks, threads,
  generators): refused, even when a module global binds them (see pickling.py).

The names are found by an index from object identity to (module, name), built from
``sys.modules`` when a snapshot is first taken and rebuilt whenever a module is imported. The
modules that hold instrumented functions (the program itself) are indexed again whenever one
of their globals changes, so a global rebound while the program runs is seen at the next
pause. Every hit is checked against the module's current binding before it is used.

The function named by saved references, `resolve`, is part of the snapshot format: keep its
module and name.
"""

from __future__ import annotations

import importlib
import sys
import threading
import types
from typing import Any

from . import registry
from .closures import is_named
from .errors import SnapshotMismatchError
from .resources import is_resource

#: Types whose instances are values, not objects: equal ones are interchangeable.
_VALUE_TYPES = frozenset(
    {int, float, complex, str, bytes, bool, type(None), type(Ellipsis), type(NotImplemented)}
)
#: Singletons that many unrelated names may be bound to.
_SHARED_EMPTY = (id(()), id(frozenset()))

_lock = threading.Lock()
#: id(object) -> (module name, global name), over every module.
_names: dict[int, tuple[str, str]] = {}
#: How many modules the index was built from (a new import rebuilds it).
_modules_indexed = -1
#: Program module name -> (ids of its global values, ids of those that are objects) when it
#: was last indexed.
_program_values: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}


def reference(obj: Any) -> tuple[str, str] | None:
    """The (module, name) binding `obj` if it is module-level now, else None."""
    entry = _names.get(id(obj))
    if entry is None:
        return None
    module = sys.modules.get(entry[0])
    if module is None or getattr(module, "__dict__", {}).get(entry[1]) is not obj:
        return None
    return entry


def refresh() -> None:
    """Bring the index up to date (called once per snapshot, before pickling)."""
    if len(sys.modules) != _modules_indexed:
        _rebuild()
        return
    for name in registry.program_modules():
        module = sys.modules.get(name)
        if module is not None and _changed(name, module):
            _reindex(name, module)


def _changed(name: str, module: types.ModuleType) -> bool:
    """Whether a global of `module` is bound to another object than when it was indexed
    (rebinding a number or a string, as a counter does, is no change)."""
    values = list(vars(module).values())
    ids = tuple(map(id, values))
    known = _program_values.get(name)
    if known is not None and ids == known[0]:
        return False
    objects = tuple(id(value) for value in values if not _saved_otherwise(value))
    _program_values[name] = (ids, objects)
    return known is None or objects != known[1]


def resolve(module: str, name: str) -> Any:
    """The object `module`'s global `name` is bound to (imports the module if needed)."""
    try:
        namespace = vars(sys.modules.get(module) or importlib.import_module(module))
    except ImportError as exc:
        raise SnapshotMismatchError(
            f"cannot import module {module!r}, which defines the module-level object {name!r} "
            f"the snapshot refers to: {exc}",
            reason="module not importable",
        ) from exc
    try:
        return namespace[name]
    except KeyError:
        raise SnapshotMismatchError(
            f"the snapshot refers to {module}.{name}, which no longer exists",
            reason="module-level object not found",
        ) from None


def reduce_module(module: types.ModuleType) -> tuple:
    """A module is saved by its name."""
    return (importlib.import_module, (module.__name__,))


def _rebuild() -> None:
    global _names, _modules_indexed
    with _lock:
        modules = list(sys.modules.items())
        names: dict[int, tuple[str, str]] = {}
        for module_name, module in modules:
            if isinstance(module, types.ModuleType):
                _index_module(names, module_name, module)
        _names = names
        _modules_indexed = len(modules)
        _program_values.clear()
        for name in registry.program_modules():
            module = sys.modules.get(name)
            if module is not None:
                _changed(name, module)


def _reindex(name: str, module: types.ModuleType) -> None:
    """Add the objects a program module's globals are bound to now (stale entries stay and
    are refused by `reference`, which checks the binding)."""
    global _names
    with _lock:
        names = dict(_names)
        _index_module(names, name, module)
        _names = names


def _saved_otherwise(value: Any) -> bool:
    """Values, resources, modules, and the classes and functions pickle names by itself."""
    if type(value) in _VALUE_TYPES or id(value) in _SHARED_EMPTY:
        return True
    if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
        return is_named(value)
    return isinstance(value, types.ModuleType) or is_resource(value)


def _index_module(names: dict, module_name: str, module: types.ModuleType) -> None:
    namespace = getattr(module, "__dict__", None)
    if type(namespace) is not dict:
        return
    for name, value in list(namespace.items()):
        if _saved_otherwise(value):
            continue
        key = id(value)
        known = names.get(key)
        # The first binding wins, except that a real module is preferred to __main__.
        if known is None or (known[0] == "__main__" and module_name != "__main__"):
            names[key] = (module_name, name)

"""Module-level objects: saved as the name that binds them, never copied.

An object is *module-level* when a global name of an imported module is bound to it, that is
``vars(sys.modules[module])[name] is obj`` at the moment the snapshot is taken, and it is not a
plain value whose identity means nothing: numbers, strings, bytes, None/True/False/Ellipsis,
the empty tuple and the empty frozenset (these are copied, as before). Such an object is saved
as the pair (module, name), and a resume gets back the object that name is bound to then: in
the same process, the very same object; in a new process, the object the module's import
created. It belongs to the code, not to the session, so the session does not carry a copy of
it (nor the changes made to it).

Where the rule applies:

* a module-level object that is not a built-in container (a sentinel, an instance, a compiled
  regex, a lambda, a partial ...) wherever the snapshot meets it: pickle asks the engine about
  every such object (``reducer_override``);
* a module-level list, dict, set, frozenset, tuple or bytearray wherever the engine gets to
  see it: held by a local, by a loop or any list/tuple/dict/set iterator or dict view, by a
  closure cell, a function's defaults, a bound method, an exception, or an attribute of an
  object. Inside another list, dict, set or tuple it is copied: pickle writes built-in
  containers without asking, and asking about every object instead (``persistent_id``)
  would make every save several times slower.

What is *not* module-level:

* objects reachable only through a module-level object (``TABLE["row"]``, ``ITEMS[0]``, an
  attribute of a module-level instance or class): they are saved by value, like any other
  object, unless a global name binds them too;
* classes, functions and methods defined at module level need no name of their own: pickle
  already saves them by their qualified name (and enum members by their class);
* operating-system resources and running state (open files, sockets, locks, threads,
  generators): refused, even when a module global binds them (see resources.py).

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
from .errors import SnapshotMismatchError
from .resources import is_resource

#: Types whose instances are values, not objects: equal ones are interchangeable.
_VALUE_TYPES = frozenset(
    {int, float, complex, str, bytes, bool, type(None), type(Ellipsis), type(NotImplemented)}
)
#: Singletons that many unrelated names may be bound to.
_SHARED_EMPTY = (id(()), id(frozenset()))
#: The built-in containers pickle writes without asking reducer_override.
CONTAINER_TYPES = frozenset({list, dict, set, frozenset, tuple, bytearray})

_MISSING = object()
_lock = threading.Lock()
#: id(object) -> (module name, global name), over every module.
_names: dict[int, tuple[str, str]] = {}
#: The ids of `_names` that are built-in containers.
_containers: frozenset[int] = frozenset()
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


class ModuleReference:
    """Stands for a module-level container in what is pickled: saved as its (module, name)."""

    __slots__ = ("where",)

    def __init__(self, where: tuple[str, str]) -> None:
        self.where = where

    def __reduce__(self) -> tuple:
        return (resolve, self.where)


def holds_container(values: Any) -> bool:
    """Whether any of `values` may be a module-level container (cheap; `referenced` checks)."""
    return not _containers.isdisjoint(map(id, values))


def referenced(value: Any) -> Any:
    """`value`, or a `ModuleReference` standing for it if it is a module-level container."""
    if id(value) in _containers:
        where = reference(value)
        if where is not None:
            return ModuleReference(where)
    return value


def referenced_items(values: tuple) -> tuple:
    """`values` with each module-level container replaced by its reference."""
    return tuple(map(referenced, values)) if holds_container(values) else values


def referenced_values(mapping: dict) -> dict:
    """A copy of `mapping` whose module-level container values are references (or `mapping`
    itself if it holds none)."""
    if not holds_container(mapping.values()):
        return mapping
    return {key: referenced(value) for key, value in mapping.items()}


def is_named(obj: Any) -> bool:
    """Whether pickle can save `obj` by reference: its module and qualified name lead to it."""
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    qualname = getattr(obj, "__qualname__", "")
    if module is None or "<" in qualname:
        return False
    first, *rest = qualname.split(".")
    # not getattr on the module: its __getattr__ may warn or import
    target = getattr(module, "__dict__", {}).get(first, _MISSING)
    for part in rest:
        target = getattr(target, part, _MISSING)
    return target is obj


def reduce_holder(obj: Any, protocol: int) -> Any:
    """For an object whose attributes hold a module-level container: its own reduction with
    those attributes saved as references; NotImplemented (pickle's own) otherwise."""
    if not type(obj).__dictoffset__ or not holds_container(obj.__dict__.values()):
        return NotImplemented
    reduction = obj.__reduce_ex__(protocol)
    if not isinstance(reduction, tuple) or len(reduction) < 3:
        return reduction
    state = reduction[2]
    if isinstance(state, dict):
        state = referenced_values(state)
    elif isinstance(state, tuple) and len(state) == 2 and isinstance(state[0], dict):
        state = (referenced_values(state[0]), state[1])  # (__dict__, __slots__ values)
    return (*reduction[:2], state, *reduction[3:])


def reduce_builtin_method(method: types.BuiltinMethodType) -> Any:
    """A method of a module-level container (``ITEMS.append``) is bound to the module's own."""
    owner = method.__self__
    if id(owner) in _containers and reference(owner) is not None:
        return (getattr, (referenced(owner), method.__name__))
    return NotImplemented


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
    namespace = vars(module)
    ids = tuple(map(id, namespace.values()))  # one C call: no other thread runs meanwhile
    known = _program_values.get(name)
    if known is not None and ids == known[0]:
        return False
    objects = tuple(id(value) for value in list(namespace.values()) if not _saved_otherwise(value))
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
    global _modules_indexed
    with _lock:
        modules = list(sys.modules.items())
        names: dict[int, tuple[str, str]] = {}
        containers: set[int] = set()
        for module_name, module in modules:
            if isinstance(module, types.ModuleType):
                _index_module(names, containers, module_name, module)
        _publish(names, containers)
        _modules_indexed = len(modules)
        _program_values.clear()
        for name in registry.program_modules():
            module = sys.modules.get(name)
            if module is not None:
                _changed(name, module)


def _reindex(name: str, module: types.ModuleType) -> None:
    """Add the objects a program module's globals are bound to now (stale entries stay and
    are refused by `reference`, which checks the binding)."""
    with _lock:
        names, containers = dict(_names), set(_containers)
        _index_module(names, containers, name, module)
        _publish(names, containers)


def _publish(names: dict[int, tuple[str, str]], containers: set[int]) -> None:
    global _names, _containers
    _names, _containers = names, frozenset(containers)


def _saved_otherwise(value: Any) -> bool:
    """Values, resources, modules, and the classes and functions pickle names by itself."""
    if type(value) in _VALUE_TYPES or id(value) in _SHARED_EMPTY:
        return True
    if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
        return is_named(value)
    return isinstance(value, types.ModuleType) or is_resource(value)


def _index_module(
    names: dict, containers: set[int], module_name: str, module: types.ModuleType
) -> None:
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
            if type(value) in CONTAINER_TYPES:
                containers.add(key)

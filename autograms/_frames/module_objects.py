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
``sys.modules`` when a snapshot is first taken. Each module is indexed once, at the first
snapshot that finds it imported, and forgotten when it leaves ``sys.modules``; the modules that
hold instrumented functions (the program itself) are indexed again whenever one of their
globals changes, so a global rebound while the program runs is seen at the next pause. Every
hit is checked against the module's current binding before it is used. Indexing looks at the
type of each global, never at the object (a lazy proxy imports a module when asked for its
``__class__``).

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
from .resources import is_resource_type

#: Types whose instances are values, not objects: equal ones are interchangeable.
_VALUE_TYPES = frozenset(
    {int, float, complex, str, bytes, bool, type(None), type(Ellipsis), type(NotImplemented)}
)
#: Singletons that many unrelated names may be bound to.
_SHARED_EMPTY = (id(()), id(frozenset()))
#: The built-in containers pickle writes without asking reducer_override.
CONTAINER_TYPES = frozenset({list, dict, set, frozenset, tuple, bytearray})

_MISSING = object()
#: Held while the index changes (readers never take it: each entry changes at once).
_lock = threading.Lock()
#: id(object) -> (module name, global name), over every module.
_names: dict[int, tuple[str, str]] = {}
#: The ids of `_names` that are built-in containers.
_containers: set[int] = set()
#: Module name -> the module object that was indexed under it.
_indexed: dict[str, types.ModuleType] = {}
#: Module name -> {id: global name} of the entries of `_names` it set.
_claimed: dict[str, dict[int, str]] = {}
#: Modules found still importing (their body running): indexed at the next refresh.
_pending: set[str] = set()
#: len(sys.modules) when it was last scanned for new modules.
_modules_seen = -1
#: Type -> `_verdict` of it (what indexing 30,000 globals spends most on); a cache, bounded.
_verdicts: dict[type, bool | None] = {}
_VERDICTS_SIZE = 4096
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
    """Bring the index up to date (called once per snapshot, before pickling): index the
    modules imported since the last call, forget those removed, and index again the program
    modules whose globals were rebound."""
    global _modules_seen
    with _lock:
        if len(sys.modules) != _modules_seen or _pending:
            _modules_seen = len(sys.modules)
            _index_new_modules()
        for name in registry.program_modules():
            module = sys.modules.get(name)
            if module is not None and _changed(name, module):
                _index_module(name, module)


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


def _index_new_modules() -> None:
    """Index the modules not indexed yet (or replaced), forget the entries of removed ones."""
    modules = dict(sys.modules)
    for name, module in list(_indexed.items()):
        if modules.get(name) is not module:
            del _indexed[name]
            _forget(name, {})
    _pending.clear()
    for name, module in modules.items():
        if _indexed.get(name) is module or not isinstance(module, types.ModuleType):
            continue
        if getattr(getattr(module, "__spec__", None), "_initializing", False):
            _pending.add(name)  # still running its body: index it when it is complete
        else:
            _index_module(name, module)


def _index_module(module_name: str, module: types.ModuleType) -> None:
    """Enter the objects `module`'s globals are bound to now; drop the entries it claimed
    before that it no longer binds. The index is updated in place, entry by entry (readers
    in other threads see each entry old or new, never missing)."""
    namespace = getattr(module, "__dict__", None)
    claimed: dict[int, str] = {}
    for name, value in list(namespace.items()) if type(namespace) is dict else ():
        key = id(value)
        if key in claimed or _saved_otherwise(value) or not _claims(module_name, key):
            continue
        claimed[key] = name
        if _names.get(key) != (module_name, name):
            _names[key] = (module_name, name)
        if type(value) in CONTAINER_TYPES:
            _containers.add(key)
    _forget(module_name, claimed)
    _claimed[module_name] = claimed
    _indexed[module_name] = module


def _claims(module_name: str, key: int) -> bool:
    """Whether `module_name` may name the object `key`: the first binding found wins, except
    that a real module is preferred to __main__, and a binding that has gone counts no more."""
    known = _names.get(key)
    if known is None or known[0] == module_name:
        return True
    if known[0] == "__main__" and module_name != "__main__":
        return True
    holder = sys.modules.get(known[0])
    return holder is None or id(getattr(holder, "__dict__", {}).get(known[1])) != key


def _forget(module_name: str, kept: dict[int, str]) -> None:
    """Drop the entries `module_name` claimed, except those in `kept`."""
    for key in _claimed.pop(module_name, {}).keys() - kept.keys():
        if _names.get(key, ("",))[0] == module_name:
            del _names[key]
            _containers.discard(key)


def _saved_otherwise(value: Any) -> bool:
    """Values, resources, modules, and the classes and functions pickle names by itself.
    Decided by the type alone: ``isinstance`` would ask a lazy proxy for its ``__class__``,
    which imports what it stands for (and indexing would never end)."""
    kind = type(value)
    verdict = _verdicts.get(kind, _MISSING)
    if verdict is _MISSING:
        verdict = _verdict(kind)
        if len(_verdicts) >= _VERDICTS_SIZE:
            _verdicts.clear()
        _verdicts[kind] = verdict
    if verdict is None:
        return is_named(value)
    return verdict or id(value) in _SHARED_EMPTY


def _verdict(kind: type) -> bool | None:
    """True if instances of `kind` are saved otherwise, False if they are objects, None if
    that depends on whether pickle can name the instance (classes and functions)."""
    if kind in _VALUE_TYPES:
        return True
    if issubclass(kind, (type, types.FunctionType, types.BuiltinFunctionType)):
        return None
    return issubclass(kind, types.ModuleType) or is_resource_type(kind)

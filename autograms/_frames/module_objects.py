"""Module-level objects: saved as the place that holds them, never copied.

An object is *module-level* when, at the moment the snapshot is taken, it is

* bound to a global name of an imported module: ``vars(sys.modules[module])[name] is obj``;
* or one step from a global of a *program module* (one defining instrumented functions): an
  item of a dict or tuple (or of a subclass of one: a namedtuple, an OrderedDict ...) of at
  most `REACH_LIMIT` entries, an attribute of a class the module defines or of an instance it
  binds (in its ``__dict__`` or its ``__slots__``), a default of a function the module defines or of
  a method of such a class (a function's defaults belong to its code);

and it is not a plain value whose identity means nothing: numbers, strings, bytes,
None/True/False/Ellipsis, the empty tuple and the empty frozenset (these are copied). Such an
object is saved as its place, (module, name) or (module, name, steps), and a resume gets back
the object that place holds then: in the same process, the very same object; in a new
process, the object the module's import created. It belongs to the code, not to the session,
so the session does not carry a copy of it (nor the changes made to it). The place is followed,
not the identity at the pause: a global rebound between two turns gives the paused program the
new object (docs/engine.md says why).

Where the rule applies:

* a module-level object that is not a built-in container (a sentinel, an instance, a compiled
  regex, a lambda, a partial ...) wherever the snapshot meets it: pickle asks the engine about
  every such object (``reducer_override``);
* a module-level list, dict, set, frozenset, tuple or bytearray wherever the engine gets to
  see it: held by a local, by a loop or any list/tuple/dict/set iterator or dict view, by a
  closure cell, a function's defaults, a bound method, an exception, or an attribute of an
  object, and inside the lists, dicts, sets, tuples (and their subclasses: OrderedDict,
  defaultdict, Counter ...), deques, partials, attributes and closure cells (on 3.11 every
  local a comprehension reads is one) a local holds, up to `WALK_LIMIT` objects looked into
  (`nested_containers`; beyond, or reached only through another kind of object, it is
  copied): pickle writes built-in containers without asking, and asking about every object
  instead (``persistent_id``) would make every save several times slower.

What is *not* module-level:

* objects further from a global (``TABLE["a"]["b"]``), inside larger containers, or reached
  only from a library module: saved by value, like any other object;
* the items of a module-level list (``job = QUEUE[0]``): a list's items move (an insert at the
  front between two turns makes ``QUEUE[0]`` another object), so a place by position would
  give the paused program another object; saved by value (a dict's items keep their key, a
  tuple's its position; a function the program put there, with its cells, comes back as
  itself in the process that paused: registered_closures.py);
* classes, functions and methods defined at module level need no place of their own: pickle
  already saves them by their qualified name (and enum members by their class);
* operating-system resources and running state (open files, sockets, locks, threads,
  generators): refused, even when a module global binds them (see resources.py).

The places are found by an index from object identity to place, built from ``sys.modules``
when a snapshot first asks about an object that may be module-level: a snapshot whose frames
hold values alone (numbers, strings, bytes, None, booleans) never builds it, so a process whose
pauses hold only those does no work per imported module. Each module is indexed once, at the
first such question that finds it imported, and forgotten when it leaves ``sys.modules``; the
program modules are indexed again whenever one of their globals is rebound, so a global
rebound while the program runs is seen at the next pause (an item added to a module-level dict
is seen only then). Every hit is checked against the module as it is now before it is used, so
a stale entry means a copy, never another object. Indexing looks at the type of each global,
never asks the object (a lazy proxy imports a module when asked for its ``__class__``; instance
attributes are read with ``object.__getattribute__``).

The function named by saved references, `resolve`, is part of the snapshot format: keep its
module and name.
"""

from __future__ import annotations

import collections
import enum
import functools
import gc
import importlib
import sys
import threading
import types
from collections.abc import Iterable, Mapping
from itertools import compress, filterfalse
from operator import is_
from typing import Any, Final

from . import registry
from .errors import SnapshotMismatchError
from .memo import remember
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
#: Whether a snapshot began (`refresh`) since the index was last brought up to date: the
#: next question that needs the index brings it up to date first (`_current`).
_due = False
#: id(object) -> where it is: (module name, global name), or (module name, global name, steps)
#: for an object reached from a program module's global (see `_steps_from`), over every module.
_names: dict[int, tuple] = {}
#: The ids of `_names` that are built-in containers.
_containers: set[int] = set()
#: Module name -> the module object that was indexed under it.
_indexed: dict[str, types.ModuleType] = {}
#: Module name -> {id: where} of the entries of `_names` it set.
_claimed: dict[str, dict[int, tuple]] = {}
#: Modules found still importing (their body running): indexed at the next refresh.
_pending: set[str] = set()
#: len(sys.modules) when it was last scanned for new modules.
_modules_seen = -1
#: Type -> `_verdict` of it (what indexing 30,000 globals spends most on); a cache, bounded.
_verdicts: dict[type, bool | None] = {}
_VERDICTS_SIZE = 4096
#: Type -> its instances' ``__slots__`` attributes (`_slots`); a cache, bounded.
_slot_descriptors: dict[type, dict[str, types.MemberDescriptorType]] = {}
#: Program module name -> (its global values, ids of those that are objects) when it was last
#: indexed.
_program_values: dict[str, tuple[tuple[Any, ...], tuple[int, ...]]] = {}
#: The containers `nested_containers` looks inside, and what it never looks inside.
_WALKED_CONTAINERS = frozenset({list, dict, set, frozenset, tuple})
_NOT_WALKED = (type, types.ModuleType, types.FunctionType, types.MethodType)
#: Library objects whose every reference `nested_containers` looks at (what their reductions
#: save: items, a partial's function and arguments), as it does for the subclasses of the
#: built-in containers (an OrderedDict, a defaultdict, a Counter, a program's dict subclass).
_HOLDERS: Final = (collections.deque, functools.partial, *_WALKED_CONTAINERS)
#: The kinds of object the garbage collector may leave untracked although they are, or hold, a
#: module-level container: CPython untracks a dict or tuple holding only values
#: (``FLAGS = {"beta": False}``, ``{}``), and never tracks a bytearray.
_UNTRACKED_KINDS: Final = frozenset({dict, tuple, bytearray})
#: How many objects `nested_containers` looks inside at most (what a pause costs stays small).
WALK_LIMIT: Final = 10_000
#: What `_surely_none_inside` looks inside in C: the walked containers, closure cells and
#: bytearrays (which hold nothing).
_SURE_TYPES = _WALKED_CONTAINERS | {types.CellType, bytearray}
#: How many objects `_surely_none_inside` looks at before it leaves the question to the walk.
_SURE_LIMIT: Final = 1_000
#: Containers larger than this are not looked into for objects reached from a global (what
#: indexing a program module costs stays small).
REACH_LIMIT: Final = 256


def reference(obj: Any) -> tuple | None:
    """Where `obj` is if it is module-level now (the arguments of `resolve`), else None."""
    if _due:
        _current()
    entry = _names.get(id(obj))
    if entry is None or _follow(entry) is not obj:
        return None
    return entry


def indexed_ids() -> Mapping[int, tuple]:
    """The ids of the objects the index holds as module-level (each to check with `reference`
    before relying on it): a walk of a snapshot's values stops at them, which pickle writes as
    references."""
    return _names


def _follow(where: tuple) -> Any:
    """The object `where` leads to in the modules as they are now (`_MISSING` if none);
    never asks an object anything but its plain attributes."""
    module = sys.modules.get(where[0])
    target = getattr(module, "__dict__", {}).get(where[1], _MISSING)
    for step in where[2] if len(where) > 2 else ():
        target = _step(target, step)
    return target


def _step(target: Any, step: tuple) -> Any:
    """The object one `step` (see `_steps_from`) from `target`, or `_MISSING`; runs no code of
    the program's (no ``__getitem__``, ``__getattr__`` or property of its own)."""
    kind, key = step
    try:
        if kind == "item":
            return _item(target, key)
        if kind == "attr":
            return object.__getattribute__(target, "__dict__").get(key, _MISSING)
        if kind == "slot":
            return _slots(type(target))[key].__get__(target)
        if kind == "default" and type(target) is types.FunctionType:
            return target.__defaults__[key]
        if kind == "kwdefault" and type(target) is types.FunctionType:
            return target.__kwdefaults__[key]
        if kind == "func" and type(target) in (staticmethod, classmethod):
            return target.__func__
    except (LookupError, AttributeError, TypeError):
        pass
    return _MISSING


def _item(target: Any, key: Any) -> Any:
    """The item under `key` of a dict, list or tuple (or of an instance of a subclass of dict
    or tuple, read by the base's own C method: no ``__getitem__`` or ``__missing__`` of the
    program's runs), or `_MISSING`."""
    kind = type(target)
    if kind is list:
        return target[key]
    if issubclass(kind, dict):
        return dict.get(target, key, _MISSING)
    if issubclass(kind, tuple):
        return tuple.__getitem__(target, key)
    return _MISSING


def _slots(kind: type) -> dict[str, types.MemberDescriptorType]:
    """The ``__slots__`` attributes of `kind`'s instances (its own and its bases'), by the name
    they are stored under, each with the descriptor that reads it in C."""
    found = _slot_descriptors.get(kind)
    if found is None:
        found = _declared_slots(kind)
        remember(_slot_descriptors, kind, found, _VERDICTS_SIZE)
    return found


def _declared_slots(kind: type) -> dict[str, types.MemberDescriptorType]:
    found = {}
    for klass in reversed(kind.__mro__):
        namespace = vars(klass)
        declared = namespace.get("__slots__", ())
        for name in (declared,) if isinstance(declared, str) else declared:
            if type(name) is not str:
                continue
            if name.startswith("__") and not name.endswith("__"):
                name = f"_{klass.__name__.lstrip('_')}{name}"  # stored mangled
            descriptor = namespace.get(name)
            if type(descriptor) is types.MemberDescriptorType:
                found[name] = descriptor
    return found


class ModuleReference:
    """Stands for a module-level container in what is pickled: saved as its place (the
    snapshot pickler also saves a copy beside some places: kept_copies.py)."""

    __slots__ = ("where", "container")

    def __init__(self, where: tuple, container: Any) -> None:
        self.where = where
        self.container = container

    def __reduce__(self) -> tuple:
        return (resolve, self.where)


def holds_container(values: Any) -> bool:
    """Whether any of `values` may be a module-level container (cheap; `referenced` checks)."""
    # only built-in containers are entered in `_containers`: id() (an int allocated per call)
    # is asked of those alone, not of every number and string a frame holds
    ids = [id(value) for value in values if type(value) in CONTAINER_TYPES]
    if not ids:
        return False
    if _due:
        _current()
    return not _containers.isdisjoint(ids)


def referenced(value: Any) -> Any:
    """`value`, or a `ModuleReference` standing for it if it is a module-level container."""
    if type(value) not in CONTAINER_TYPES:
        return value
    if _due:
        _current()
    if id(value) in _containers:
        where = reference(value)
        if where is not None:
            return ModuleReference(where, value)
    return value


def nested_containers(values: Iterable[Any]) -> list[tuple[Any, tuple]]:
    """The module-level containers, with their places, held inside the built-in containers,
    closure cells and plain objects' attributes among `values` (looking at no more than
    `WALK_LIMIT` objects; `values` themselves are not listed). Runs no code of the program's."""
    tracked = _may_hold(values)  # numbers, strings, ... hold no container
    if _surely_none_inside(tracked):
        return []
    if _due:
        _current()
    if not _containers:
        return []
    found: dict[int, tuple[Any, tuple]] = {}
    seen: set[int] = set()
    frontier = [value for value in tracked if _walked(value)]
    looked = 0
    while frontier and looked < WALK_LIMIT:
        held = []
        for obj in frontier:
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            looked += 1
            held.extend(_may_hold(_held(obj)))  # skips numbers, strings, ...
        frontier = []
        for obj in held:
            where = reference(obj) if id(obj) in _containers else None
            if where is not None:
                found[id(obj)] = (obj, where)
            elif _walked(obj):
                frontier.append(obj)
    return list(found.values())


def _surely_none_inside(objects: list[Any]) -> bool:
    """True when `objects` are built-in containers or cells, and so is every object the garbage
    collector tracks inside them down to the bottom, none of them a module-level container:
    then `nested_containers` finds none. Checked in C, one level of objects at a time, over
    more than the walk looks at (dict keys too), and given up (False) beyond
    `_SURE_LIMIT` objects or at the first object of another type. Every pause asks this
    about every saved value: the usual answer must cost little."""
    level, looked = objects, 0
    while level:
        looked += len(level)
        if looked > _SURE_LIMIT or not _SURE_TYPES.issuperset(map(type, level)):
            return False
        level = _may_hold(gc.get_referents(*level))
        if level and _due:
            _current()  # the index is asked only of objects inside (lists of values: none)
        if not _containers.isdisjoint(map(id, level)):
            return False
    return True


def _may_hold(objects: Iterable[Any]) -> list[Any]:
    """The objects among `objects` that may be or hold a module-level container: those the
    garbage collector tracks (never a number or a string), and the dicts, tuples and
    bytearrays it does not (see `_UNTRACKED_KINDS`). Decided in C."""
    objects = objects if type(objects) is list else list(objects)
    found = list(filter(gc.is_tracked, objects))
    if len(found) < len(objects):
        kinds = map(_UNTRACKED_KINDS.__contains__, map(type, objects))
        found += filterfalse(gc.is_tracked, compress(objects, kinds))
    return found


def _walked(obj: Any) -> bool:
    """Whether `nested_containers` looks inside `obj`: a built-in container (or an instance of
    a subclass of one), a deque, a partial, or an instance with attributes, not itself
    module-level (saved by its place) nor code, a class or a module."""
    kind = type(obj)
    if kind in _WALKED_CONTAINERS:
        return id(obj) not in _containers or reference(obj) is None
    if kind is types.CellType:
        return True
    return (
        (bool(kind.__dictoffset__) or issubclass(kind, _HOLDERS))
        and not isinstance(obj, _NOT_WALKED)
        and (id(obj) not in _names or reference(obj) is None)  # (an id freed and used again)
        and not is_resource_type(kind)
    )


def _held(obj: Any) -> Iterable[Any]:
    """The objects `obj` holds that `nested_containers` looks at."""
    if type(obj) is dict:
        return obj.values()
    if type(obj) in _WALKED_CONTAINERS:
        return obj
    if type(obj) is types.CellType:  # a cell variable's contents (3.11: any comprehension's)
        return _cell_contents(obj)
    if issubclass(type(obj), _HOLDERS):  # their items, function, arguments and attributes,
        return gc.get_referents(obj)  # read in C (no method of a subclass runs)
    try:  # never the object's own __getattr__
        attributes = object.__getattribute__(obj, "__dict__")
    except AttributeError:
        return ()
    return attributes.values() if type(attributes) is dict else ()


def _cell_contents(cell: types.CellType) -> tuple:
    try:
        return (cell.cell_contents,)
    except ValueError:  # an empty cell
        return ()


def referenced_items(values: tuple) -> tuple:
    """`values` with each module-level container replaced by its reference."""
    return tuple(map(referenced, values)) if holds_container(values) else values


def referenced_frames(frames: tuple[tuple, ...]) -> tuple[tuple, ...]:
    """`frames` (a tuple of values each) with each module-level container replaced by its
    reference, one reference for each container however many values hold it (a copy kept
    beside its place is then one copy: kept_copies.py)."""
    made: dict[int, ModuleReference] = {}

    def one(value: Any) -> Any:
        reference = referenced(value)
        return value if reference is value else made.setdefault(id(value), reference)

    return tuple(tuple(map(one, values)) for values in frames)


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


def reduce_holder(obj: Any, attributes: Any, protocol: int) -> Any:
    """For an object whose attributes (`attributes`, its ``__dict__``) hold a module-level
    container: its own reduction with those attributes saved as references; NotImplemented
    (pickle's own) otherwise."""
    held = attributes.values()
    if CONTAINER_TYPES.isdisjoint(map(type, held)) or not holds_container(held):
        return NotImplemented  # (the first test, in C, is the usual answer)
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
    if type(owner) not in CONTAINER_TYPES:
        return NotImplemented
    if _due:
        _current()
    if id(owner) in _containers and reference(owner) is not None:
        return (getattr, (referenced(owner), method.__name__))
    return NotImplemented


def refresh() -> None:
    """Mark the index out of date (called once per snapshot, before pickling): the snapshot's
    first question that needs it brings it up to date (`_current`)."""
    global _due
    with _lock:  # not while another thread brings it up to date: that one may have missed
        _due = True  # what this snapshot needs (a module imported since it began)


def _current() -> None:
    """Bring the index up to date if a snapshot began since it last was: index the modules
    imported since, forget those removed, and index again the program modules whose globals
    were rebound. A reader that finds it out of date waits here for a complete index."""
    global _modules_seen, _due
    with _lock:
        if not _due:
            return
        if len(sys.modules) != _modules_seen or _pending:
            _modules_seen = len(sys.modules)
            _index_new_modules()
        for name in registry.program_modules():
            module = sys.modules.get(name)
            if module is not None and _changed(name, module):
                _index_module(name, module)
        _due = False


def _changed(name: str, module: types.ModuleType) -> bool:
    """Whether a global of `module` is bound to another object than when it was indexed
    (rebinding a number or a string, as a counter does, is no change)."""
    namespace = vars(module)
    bound = tuple(namespace.values())  # one C call: no other thread runs meanwhile
    known = _program_values.get(name)
    # compared by identity in C, not through id() of every global (an int allocated each):
    # the tuple keeps the objects alive until the next refresh, so none is mistaken for an
    # object allocated at a freed one's address
    if known is not None and len(bound) == len(known[0]) and all(map(is_, bound, known[0])):
        return False
    objects = tuple(id(value) for value in bound if not _saved_otherwise(value))
    _program_values[name] = (bound, objects)
    return known is None or objects != known[1]


def resolve(module: str, name: str, steps: tuple = ()) -> Any:
    """The object `module`'s global `name` is bound to, or the one `steps` lead to from it
    (imports the module if needed)."""
    target = found_at(module, name, steps)
    if target is NOWHERE:
        raise SnapshotMismatchError(
            f"the snapshot refers to {module}.{name}{_spelled(steps)}, which no longer exists",
            reason="module-level object not found",
        )
    return target


#: What `found_at` returns for a place that holds nothing.
NOWHERE: Final = _MISSING


def found_at(module: str, name: str, steps: tuple = ()) -> Any:
    """The object `module`'s global `name` is bound to, or the one `steps` lead to from it, or
    `NOWHERE` (imports the module if needed; raises SnapshotMismatchError if it cannot)."""
    try:
        namespace = vars(sys.modules.get(module) or importlib.import_module(module))
    except ImportError as exc:
        raise SnapshotMismatchError(
            f"cannot import module {module!r}, which defines the module-level object {name!r} "
            f"the snapshot refers to: {exc}",
            reason="module not importable",
        ) from exc
    target = namespace.get(name, _MISSING)
    for step in steps:
        target = _step(target, tuple(step)) if target is not _MISSING else target
    return target


def _spelled(steps: tuple) -> str:
    """`steps` as Python would write them after a name (``['row']``, ``.items``, ...)."""
    spelled = {
        "item": "[{!r}]",
        "attr": ".{}",
        "slot": ".{}",
        "default": ".__defaults__[{}]",
        "kwdefault": ".__kwdefaults__[{!r}]",
        "func": ".__func__",
    }
    return "".join(spelled[kind].format(key) for kind, key in steps)


def reduce_module(module: types.ModuleType) -> tuple:
    """A module is saved by its name when ``sys.modules`` holds it under that name (an import
    finds it again); one made at run time (``types.ModuleType("scratch")``), which no import
    would find, is saved as a value: a new module of its class and name with its
    attributes."""
    name = module.__name__
    if sys.modules.get(name) is module:
        return (importlib.import_module, (name,))
    return (type(module), (name,), dict(vars(module)))


def _index_new_modules() -> None:
    """Index the modules not indexed yet (or replaced), forget the entries of removed ones."""
    modules = dict(sys.modules)
    for name, module in list(_indexed.items()):
        if modules.get(name) is not module:
            del _indexed[name]
            _forget(name, {})
    _pending.clear()
    named_ids: dict[int, Any] = {}  # the classes and functions pickle names, for this pass
    for name, module in modules.items():
        if _indexed.get(name) is module or not isinstance(module, types.ModuleType):
            continue
        if getattr(getattr(module, "__spec__", None), "_initializing", False):
            _pending.add(name)  # still running its body: index it when it is complete
        else:
            _index_module(name, module, named_ids)


def _index_module(
    module_name: str, module: types.ModuleType, named_ids: dict[int, Any] | None = None
) -> None:
    """Enter the objects `module`'s globals are bound to now (and, for a program module, the
    objects reached from them, see `_steps_from`); drop the entries it claimed before that it
    no longer holds. The index is updated in place, entry by entry (readers in other threads
    see each entry old or new, never missing)."""
    namespace = getattr(module, "__dict__", None)
    items = list(namespace.items()) if type(namespace) is dict else []
    claimed: dict[int, tuple] = {}
    names = _names
    for name, value in _unnamed_objects(
        module_name, module, items, {} if named_ids is None else named_ids
    ):
        key = id(value)  # `_enter` inlined: the first snapshot of a process enters thousands
        known = names.get(key)
        if key in claimed or (
            known is not None
            and known[0] != module_name
            and not _claims(module_name, key, (module_name, name))
        ):
            continue
        where = claimed[key] = (module_name, name)
        if known != where:
            names[key] = where
        if type(value) in CONTAINER_TYPES:
            _containers.add(key)
    if module_name in registry.program_modules():
        for name, value in items:
            for steps, reached in _steps_from(module_name, value):
                _enter(module_name, (module_name, name, steps), reached, claimed)
    _forget(module_name, claimed)
    _claimed[module_name] = claimed
    _indexed[module_name] = module


def _enter(module_name: str, where: tuple, value: Any, claimed: dict[int, tuple]) -> None:
    key = id(value)
    if key in claimed or _saved_otherwise(value) or not _claims(module_name, key, where):
        return
    claimed[key] = where
    if _names.get(key) != where:
        _names[key] = where
    if type(value) in CONTAINER_TYPES:
        _containers.add(key)


def _unnamed_objects(
    module_name: str, module: types.ModuleType, items: list, named_ids: dict[int, Any]
) -> list:
    """The (name, value) pairs of `items` that are objects (see `_saved_otherwise`): not
    values, modules or resources, nor the classes and functions pickle names (`is_named`;
    found without its lookups when bound under their own qualified name in the module they say
    defines them; `named_ids` keeps those found so, by id, for the other modules indexed in
    the same pass). One pass: a module's globals are most of what the first snapshot of a
    process costs."""
    verdicts = _verdicts
    current = sys.modules.get(module_name) is module
    left = []
    for name, value in items:
        verdict = verdicts.get(type(value), _MISSING)
        if verdict is _MISSING:
            if _saved_otherwise(value):  # learns the verdict of the type
                continue
        elif verdict is True:
            continue
        elif verdict is None:
            named = named_ids.get(id(value))
            if named is None:
                named = (
                    current
                    and getattr(value, "__qualname__", None) == name
                    and getattr(value, "__module__", None) == module_name
                ) or is_named(value)
                if named:  # the same class or function is bound in many modules
                    named_ids[id(value)] = value
            if named:
                continue
        elif id(value) in _SHARED_EMPTY:
            continue
        left.append((name, value))
    return left


def _steps_from(module_name: str, value: Any) -> list[tuple[tuple, Any]]:
    """The objects one step away from a program module's global `value`, each with the steps
    that lead to it: the items of a small dict or tuple (or of a subclass of one), the
    attributes (``__dict__`` and ``__slots__``) of an instance or of a class the module
    defines, and the defaults of a function the module defines (or of a method of such a
    class). Decided by the type alone, never asking the object."""
    kind = type(value)
    if kind in (dict, tuple):  # not a list's items: a list's positions shift (see above)
        return _items(value, kind)
    if kind is types.FunctionType:
        return _defaults(value, ()) if value.__module__ == module_name else []
    if isinstance(value, type):
        if value.__module__ != module_name:
            return []
        reached = []
        for name, attribute in list(vars(value).items()):
            reached += _defaults(attribute, (("attr", name),))
            if not name.startswith("__"):
                reached.append(((("attr", name),), attribute))
        return reached
    if _saved_otherwise(value):
        return []
    reached = _items(value, dict if issubclass(kind, dict) else tuple)
    if kind.__dictoffset__:
        try:
            attributes = object.__getattribute__(value, "__dict__")
        except AttributeError:
            attributes = None
        if type(attributes) is dict and len(attributes) <= REACH_LIMIT:
            reached += [((("attr", name),), item) for name, item in list(attributes.items())]
    for name, descriptor in _slots(kind).items():
        try:
            reached.append(((("slot", name),), descriptor.__get__(value)))
        except AttributeError:  # not set
            pass
    return reached


def _items(value: Any, base: type) -> list[tuple[tuple, Any]]:
    """The items of a dict or tuple (or of an instance of a subclass of one, read by the base's
    C methods) of at most `REACH_LIMIT` entries, each with its step; none for other objects."""
    if not issubclass(type(value), base) or base.__len__(value) > REACH_LIMIT:
        return []
    pairs = dict.items(value) if base is dict else enumerate(tuple.__iter__(value))
    return [((("item", key),), item) for key, item in list(pairs) if _plain_key(key)]


def _plain_key(key: Any) -> bool:
    """Whether a dict's item under `key` can be a place: the key is saved as a value equal to it
    in any process (a number, a string, bytes, None, a tuple of them), as a reference to itself
    (an enum member, a class or function pickle names) or as its own place (a global of a
    module indexed before, hashed and compared by identity). Decided without asking the key."""
    kind = type(key)
    if kind in _KEY_VALUES:
        return True
    if kind is tuple:
        return all(map(_plain_key, key))
    if issubclass(kind, enum.Enum):
        return True
    if kind in _NAMED_KINDS:  # a class of the common metaclass, a function
        return is_named(key)
    where = _names.get(id(key))
    return (
        where is not None
        and len(where) == 2
        and kind.__hash__ is object.__hash__
        and kind.__eq__ is object.__eq__
    )


#: Keys saved as values equal to them in any process.
_KEY_VALUES: Final = frozenset({str, int, float, bytes, bool, type(None)})
#: Kinds of key pickle saves by their name when it can.
_NAMED_KINDS: Final = frozenset({type, types.FunctionType})


def _defaults(function: Any, steps: tuple) -> list[tuple[tuple, Any]]:
    """The default values of `function` (or of the function a static or class method wraps),
    each with its steps."""
    if type(function) in (staticmethod, classmethod):
        function, steps = function.__func__, (*steps, ("func", None))
    if type(function) is not types.FunctionType:
        return []
    defaults = [((*steps, ("default", index)), item) for index, item in
                enumerate(function.__defaults__ or ())]  # fmt: skip
    keywords = function.__kwdefaults__ or {}
    return defaults + [((*steps, ("kwdefault", name)), item) for name, item in keywords.items()]


def _claims(module_name: str, key: int, where: tuple) -> bool:
    """Whether `module_name` may enter `where` for the object `key`: the first binding found
    wins, except that a global beats a path and a real module beats __main__, and a binding
    that has gone counts no more."""
    known = _names.get(key)
    if known is None or known[0] == module_name:
        return True
    if len(where) == 2 and (len(known) > 2 or known[0] == "__main__"):
        return True
    return id(_follow(known)) != key


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
        remember(_verdicts, kind, verdict, _VERDICTS_SIZE)
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

"""Dicts and sets keyed by objects hashed by their own state, in a cycle with those keys:
written empty where pickle meets them, and filled once every object of the snapshot is built.

Pickle makes an object, remembers it, and only then builds its state; a reference to it met
while that state is built is to the object as it is then, without state. A dict or set keyed
by an object whose ``__hash__`` reads its state, and reached from that object's own state
(``node.index = {node: 0}``), is filled while its key has no state yet: the hash raises (the
session saves but can never be read back) or differs from the one the key will have (a dict
whose keys cannot be found). Such a container is in a reference cycle with its key: when a
snapshot saved objects hashed by their state, the hashed containers those objects reach are
found, and each one that its own state-hashed keys reach is such a container (walked
without running the program's code, in C: `gc.get_referents`, through a function's closure
cells, defaults and attributes, stopping at module-level objects, at most `WALK_LIMIT` objects;
past that, every container found counts as in a cycle). The snapshot writes each one empty
(its type's own empty value, remembered in its stead), and a last pickle fills it (`fill`).

A frozenset cannot be filled later, nor can a dict or set subclass be made empty without its
own reduction: one in such a cycle, or that the walk ran out of objects to tell, is refused at
the pause (`KeyedCycleRefused`), naming the local that holds it, so the session keeps its last
good state. A reduction or ``__setstate__``
of the program's that reads such a container while the snapshot loads sees it empty.
"""

from __future__ import annotations

import enum
import gc
import types
from collections.abc import Callable, Iterable
from typing import Any, Final

from . import module_objects
from .memo import remember

#: How many objects the walks look at; beyond it every dict or set found keyed by a
#: state-hashed object is treated as in a cycle (filled late; a frozenset or subclass, which
#: cannot be, is refused: whether pickle could rebuild it is not known).
WALK_LIMIT: Final = 100_000

#: Exact container types that can be written empty and filled later.
FILLABLE: Final = (dict, set)

_HASHED_CONTAINERS = (dict, set, frozenset)
#: Objects the walk does not enter: pickle saves them by name (their contents are the
#: program's code, not the session's), or they hold no object. A function is entered through
#: what a snapshot saves of one it cannot name (closures.py): its closure cells, defaults and
#: attributes, never its globals or code.
_NOT_ENTERED = (type, types.ModuleType, types.BuiltinFunctionType, types.CodeType)

_verdicts: dict[type, bool] = {}
_VERDICTS_SIZE = 4096


class KeyedCycleRefused(Exception):
    """A frozenset, or a dict or set subclass, keyed by an object hashed by its state and
    reached from that object's own state: no snapshot could be read back."""


def by_state(kind: type) -> bool:
    """Whether instances of `kind` may hash by their state: its ``__hash__`` is written in
    Python (a dataclass's, a class's own), and it is not an enum (saved by name)."""
    verdict = _verdicts.get(kind)
    if verdict is None:
        hash_ = getattr(kind, "__hash__", None)
        verdict = isinstance(hash_, types.FunctionType) and not issubclass(kind, enum.Enum)
        remember(_verdicts, kind, verdict, _VERDICTS_SIZE)
    return verdict


def deferred(hashed: list[Any]) -> list[Any]:
    """The dicts and sets to write empty and fill last (see the module docstring), given the
    objects hashed by their state that a snapshot saved (`hashed`): the hashed containers
    those objects reach that one of their own state-hashed keys reaches too. Raises
    KeyedCycleRefused for such a container that cannot be filled later."""
    budget = [WALK_LIMIT]
    found = []
    for container, keys in _reached_containers(hashed, budget):
        if budget[0] > 0 and not _reaches(keys, container, budget):
            continue  # (past the budget every candidate counts as in a cycle)
        if type(container) not in FILLABLE:
            if budget[0] <= 0:
                raise KeyedCycleRefused(
                    f"a {type(container).__qualname__} keyed by an object hashed by its own "
                    f"state ({type(keys[0]).__qualname__}) may be reached from that object's "
                    f"state, which reaches more than {WALK_LIMIT:,} objects to check: if it is, "
                    "it could not be rebuilt; key it by something else (a name, an id), or use "
                    "a dict or set"
                )
            raise KeyedCycleRefused(
                f"a {type(container).__qualname__} keyed by an object hashed by its own state "
                f"({type(keys[0]).__qualname__}) is reached from that object's state: it could "
                "not be rebuilt; key it by something else (a name, an id), or use a dict or set"
            )
        if module_objects.reference(container) is None:  # a module's own one is not copied
            found.append(container)  # once: `_reached` lists each object once
    return found


def _reached_containers(roots: list[Any], budget: list[int]) -> list[tuple[Any, list[Any]]]:
    """The dicts, sets and frozensets reached from `roots` that have keys hashed by their
    state, each with those keys (looking at no more than the budget's objects)."""
    keyed = []
    for obj in _reached(roots, budget):
        kind = type(obj)
        if issubclass(kind, _HASHED_CONTAINERS):  # the type, never the object's __class__
            keys = _state_hashed(_keys_of(obj, kind))
            if keys:
                keyed.append((obj, keys))
    return keyed


def _reaches(starts: list[Any], target: Any, budget: list[int]) -> bool:
    """Whether `target` is reached from `starts` (spending the budget; True past it)."""
    return any(obj is target for obj in _reached(starts, budget)) or budget[0] <= 0


def _reached(roots: list[Any], budget: list[int]) -> list[Any]:
    """`roots` and the objects reached from them as a snapshot saves them, a level at a time
    (each level's referents in one C call), until none is left or the budget is spent. The
    module-level objects met are not entered: pickle writes them as references."""
    distinct = {id(root): root for root in roots}
    seen = set(distinct)
    reached = level = list(distinct.values())
    module_level = module_objects.indexed_ids()
    while level and budget[0] > 0:
        budget[0] -= len(level)
        found = {
            id(item): item
            for item in _referents(level)
            if id(item) not in seen
            and gc.is_tracked(item)
            and _entered(type(item))
            and (id(item) not in module_level or module_objects.reference(item) is None)
        }
        seen.update(found)
        level = list(found.values())
        reached += level
    return reached


def _referents(level: list[Any]) -> list[Any]:
    """What the objects of `level` hold (a function: what a snapshot saves of it)."""
    functions = [obj for obj in level if type(obj) is types.FunctionType]
    if not functions:
        return gc.get_referents(*level)
    others = [obj for obj in level if type(obj) is not types.FunctionType]
    parts = [
        part
        for function in functions
        for part in (
            function.__closure__,
            function.__defaults__,
            function.__kwdefaults__,
            function.__dict__,
        )
        if part
    ]
    return [*gc.get_referents(*others), *parts]


def _entered(kind: type) -> bool:
    verdict = _entered_types.get(kind)
    if verdict is None:
        verdict = not issubclass(kind, _NOT_ENTERED)
        remember(_entered_types, kind, verdict, _VERDICTS_SIZE)
    return verdict


_entered_types: dict[type, bool] = {}


def _keys_of(container: Any, kind: type) -> Iterable[Any]:
    """The keys (or elements) of a hashed container, read as its base type does (never a
    subclass's own ``keys`` or ``__iter__``)."""
    if issubclass(kind, dict):
        return dict.keys(container)
    return set.__iter__(container) if issubclass(kind, set) else frozenset.__iter__(container)


def _state_hashed(keys: Iterable[Any]) -> list[Any]:
    """The objects hashed by their state among `keys` and inside their tuples and frozensets."""
    pending = list(keys)
    if not any(map(_may_hash_by_state, set(map(type, pending)))):  # an attribute dict, say
        return []
    found = []
    while pending and len(found) < 64:
        key = pending.pop()
        kind = type(key)
        if kind is tuple or kind is frozenset:
            pending.extend(key)
        elif by_state(kind):
            found.append(key)
    return found


def _may_hash_by_state(kind: type) -> bool:
    return kind is tuple or kind is frozenset or by_state(kind)


def empty(container: Any) -> Any:
    """A new empty container of `container`'s type."""
    return type(container)()


def contents(container: Any, replaced: Callable[[Any], Any]) -> list:
    """What `fill` puts back into `container`, each key and item through `replaced`."""
    if type(container) is dict:
        return [(replaced(key), replaced(item)) for key, item in container.items()]
    return list(map(replaced, container))


def fill(pairs: list[tuple[Any, list]]) -> None:
    """Put back the contents of the containers written empty (called when the snapshot's
    last pickle is read, once every object is built)."""
    for container, items in pairs:
        if type(container) is list:
            container.extend(items)
        else:
            container.update(items)


class Fills:
    """The containers written empty (dicts, sets; lists, by plain_containers.py) and their
    contents; pickled as a call of `fill`."""

    def __init__(self, containers: list[Any], replaced: Callable[[Any], Any]) -> None:
        self.pairs = [(container, contents(container, replaced)) for container in containers]

    def __reduce__(self) -> tuple:
        return (fill, (self.pairs,))

"""Dicts and sets keyed by objects hashed by their own state, in a cycle with those keys:
written empty where pickle meets them, and filled once every object of the snapshot is built.

Pickle makes an object, remembers it, and only then builds its state; a reference to it met
while that state is built is to the object as it is then, without state. A dict or set keyed
by an object whose ``__hash__`` reads its state, and reached from that object's own state
(``node.index = {node: 0}``), is filled while its key has no state yet: the hash raises (the
session saves but can never be read back) or differs from the one the key will have (a dict
whose keys cannot be found). Such a container is in a reference cycle with its key, so these
are found as the strongly connected parts of the saved values' object graph that hold a
hashed container and one of its state-hashed keys (walked without running the program's
code, in C: `gc.get_referents`). The snapshot writes each such container empty (its type's
own empty value, remembered in its stead), and a last pickle fills it (`fill`).

A frozenset cannot be filled later, nor can a dict or set subclass be made empty without its
own reduction: one in such a cycle is refused at the pause (`KeyedCycleRefused`), naming the
local that holds it, so the session keeps its last good state. A reduction or ``__setstate__``
of the program's that reads such a container while the snapshot loads sees it empty.
"""

from __future__ import annotations

import enum
import gc
import types
from collections.abc import Iterable
from typing import Any, Final

from . import module_objects
from .memo import remember

#: How many objects the walk looks at; beyond it every hashed container keyed by a
#: state-hashed object is treated as in a cycle (filled late, or refused).
WALK_LIMIT: Final = 20_000

#: Exact container types that can be written empty and filled later.
FILLABLE: Final = (dict, set)

_HASHED_CONTAINERS = (dict, set, frozenset)
#: Objects the walk does not enter: pickle saves them by name (their contents are the
#: program's code, not the session's), or they hold no object.
_NOT_ENTERED = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
                types.CodeType)  # fmt: skip

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


def deferred(values: Iterable[Any]) -> list[Any]:
    """The dicts and sets among (and inside) `values` to write empty and fill last (see the
    module docstring), in the order the walk met them. Raises KeyedCycleRefused for a
    container in such a cycle that cannot be filled later."""
    order, edges, keyed, complete = _walk(values)
    if not keyed:
        return []
    component = _components(order, edges) if complete else None
    found = []
    for container, keys in keyed:
        if component is not None:
            mine = component[id(container)]
            if not any(component.get(id(key)) == mine for key in keys):
                continue
        if type(container) not in FILLABLE:
            raise KeyedCycleRefused(
                f"a {type(container).__qualname__} keyed by an object hashed by its own state "
                f"({type(keys[0]).__qualname__}) is reached from that object's state: it could "
                "not be rebuilt; key it by something else (a name, an id), or use a dict or set"
            )
        if module_objects.reference(container) is None:  # a module's own one is not copied
            found.append(container)
    return found


def _walk(values: Iterable[Any]) -> tuple[list[Any], dict[int, list[int]], list, bool]:
    """The objects reached from `values` (the first WALK_LIMIT), the ids each holds, the hashed
    containers with their state-hashed keys, and whether the walk saw everything."""
    order: list[Any] = []
    edges: dict[int, list[int]] = {}
    keyed: list[tuple[Any, list[Any]]] = []
    frontier = [value for value in values if gc.is_tracked(value)]
    while frontier:
        obj = frontier.pop()
        key = id(obj)
        if key in edges:
            continue
        if len(order) >= WALK_LIMIT:
            return order, edges, keyed, False
        order.append(obj)
        held = [
            item
            for item in gc.get_referents(obj)
            if gc.is_tracked(item) and not issubclass(type(item), _NOT_ENTERED)
        ]
        edges[key] = [id(item) for item in held]
        frontier.extend(held)
        kind = type(obj)
        if issubclass(kind, _HASHED_CONTAINERS):  # the type, never the object's __class__
            keys = _state_hashed(_keys_of(obj, kind))
            if keys:
                keyed.append((obj, keys))
    return order, edges, keyed, True


def _keys_of(container: Any, kind: type) -> Iterable[Any]:
    """The keys (or elements) of a hashed container, read as its base type does (never a
    subclass's own ``keys`` or ``__iter__``)."""
    if issubclass(kind, dict):
        return dict.keys(container)
    return set.__iter__(container) if issubclass(kind, set) else frozenset.__iter__(container)


def _state_hashed(keys: Iterable[Any]) -> list[Any]:
    """The objects hashed by their state among `keys` and inside their tuples and frozensets."""
    found = []
    pending = list(keys)
    while pending and len(found) < 64:
        key = pending.pop()
        kind = type(key)
        if kind is tuple or kind is frozenset:
            pending.extend(key)
        elif by_state(kind):
            found.append(key)
    return found


def _components(order: list[Any], edges: dict[int, list[int]]) -> dict[int, int]:
    """id -> its strongly connected component's number (Tarjan's algorithm, iterative)."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    component: dict[int, int] = {}
    stack: list[int] = []
    on_stack: set[int] = set()
    counter = 0
    for root in order:
        start = id(root)
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            children = edges.get(node, ())
            while position < len(children):
                child = children[position]
                position += 1
                if child not in edges:
                    continue
                if child not in index:
                    work.append((node, position))
                    work.append((child, 0))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                if low[node] == index[node]:
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component[member] = node
                        if member == node:
                            break
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
    return component


def empty(container: Any) -> Any:
    """A new empty container of `container`'s type."""
    return type(container)()


def contents(container: Any) -> list:
    """What `fill` puts back into `container`."""
    return list(container.items()) if type(container) is dict else list(container)


def fill(pairs: list[tuple[Any, list]]) -> None:
    """Put back the contents of the containers written empty (called when the snapshot's
    last pickle is read, once every object is built)."""
    for container, items in pairs:
        container.update(items)


class Fills:
    """The containers written empty and their contents; pickled as a call of `fill`."""

    def __init__(self, containers: list[Any]) -> None:
        self.pairs = [(container, contents(container)) for container in containers]

    def __reduce__(self) -> tuple:
        return (fill, (self.pairs,))

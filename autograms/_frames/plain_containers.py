"""One NaN float held in more than one place: kept one object by the snapshot.

Pickle writes a float where it meets it, never remembering it, so one NaN held by a local and
by a list came back as two floats; since NaN equals nothing, ``x in [x]``, ``x in {x}`` and
``{x: 1}.get(x)`` (which compare by identity first) turned False after a pause.

So when a frame's local holds a NaN, or one of its closure cells does (a variable a nested
function or lambda reads; on 3.11 one any comprehension reads), the saved values are walked
(built-in containers, closure cells and plain objects' attributes, at most `WALK_LIMIT`
containers, never running the program's code) for the places that hold it. When such a NaN is
held by more than one place, every place gets a marker instead (`SharedNaN`): pickle remembers
the float the marker loads as, so every place gets the same float. A local is replaced by the
marker; a cell by a new cell holding it; a container of plain values (numbers, strings, bytes,
None, and tuples and frozensets of them: nothing inside can refer back to it) by a copy holding
it; and a list, dict or set that also holds other objects (which may refer back to it: a copy
would break the cycle) is written empty and filled last, with the marker, once every object is
built (as hashed_keys.py fills its containers). Pickling.py writes the copies and the empty
containers first and the snapshot refers to them, as it does for module-level containers. A
pause whose locals and cells hold no NaN costs one look at each local.

A NaN no local or cell holds (two lists sharing one), one in a tuple that also holds other
objects (a tuple cannot be filled later) or in the attributes of an object that also holds
other objects, is still copied there.

`nan_from_bytes` is part of the snapshot format: keep its module and name.
"""

from __future__ import annotations

import struct
import types
from collections.abc import Iterable
from typing import Any, Final

from . import module_objects

#: How many containers the walk looks into at most (what a pause costs stays small).
WALK_LIMIT: Final = 10_000

_ATOMS = frozenset({int, float, complex, str, bytes, bool, type(None)})
_NESTED = frozenset({tuple, frozenset})
_CONTAINERS = frozenset({list, dict, set, frozenset, tuple})
_NOT_WALKED = (type, types.ModuleType, types.FunctionType, types.MethodType)
#: Containers holding other objects too that can be written empty and filled last.
_FILLABLE = frozenset({list, dict, set})


class SharedNaN:
    """Stands for one NaN float object in what is pickled: pickle remembers the float this
    loads as, so every place that held the NaN gets the same float."""

    __slots__ = ("value",)

    def __init__(self, value: float) -> None:
        self.value = value

    def __reduce__(self) -> tuple:
        return (nan_from_bytes, (struct.pack("<d", self.value),))


def nan_from_bytes(data: bytes) -> float:
    """The float whose IEEE 754 bytes are `data` (a NaN keeps its sign and payload)."""
    return struct.unpack("<d", data)[0]


class Found:
    """What `find` found: copies to write in containers' stead, containers to fill last, and
    markers for NaN floats."""

    __slots__ = ("stand_ins", "filled_last", "markers")

    def __init__(self) -> None:
        #: (container or cell, the object written in its stead), inner containers first
        self.stand_ins: list[tuple[Any, Any]] = []
        #: lists, dicts and sets holding other objects too: written empty, filled last
        self.filled_last: list[Any] = []
        #: id(NaN float) -> its marker, for each NaN held in more than one place
        self.markers: dict[int, SharedNaN] = {}

    def replaced(self, item: Any) -> Any:
        """`item`, or its marker if it is a shared NaN."""
        return self.markers.get(id(item), item) if type(item) is float else item

    def marked(self, values: tuple) -> tuple:
        """`values` with each shared NaN replaced by its marker."""
        markers = self.markers
        if not markers:
            return values
        return tuple(markers.get(id(value), value) if type(value) is float else value
                     for value in values)  # fmt: skip


#: What `find` finds in most snapshots (never changed).
_NOTHING: Final = Found()


def find(values: list[Any]) -> Found:
    """The stand-ins, containers to fill last and markers the saved `values` need (see the
    module docstring)."""
    kinds = set(map(type, values))  # the usual answer, in C
    if float not in kinds and tuple not in kinds:  # (a frame's closure cells are in a tuple)
        return _NOTHING
    nans = {id(value): value for value in values if type(value) is float and value != value}
    for cell in _cells(values):
        contents = _held(cell)
        if contents and type(contents[0]) is float and contents[0] != contents[0]:
            nans[id(contents[0])] = contents[0]
    if not nans:  # the walk is for NaNs a local or a cell holds
        return _NOTHING
    found = Found()
    plain, holders = _places(values, nans)
    counts = dict.fromkeys(nans, 0)
    for item in _floats(values, plain + holders):
        if id(item) in counts:
            counts[id(item)] += 1
    for key, count in counts.items():
        if count > 1:
            found.markers[key] = SharedNaN(nans[key])
    if not found.markers:
        return found
    made: dict[int, Any] = {}
    for container in plain:
        if _holds_marked(container, found):
            _stand_in(container, found, made)
    for holder in holders:
        if not any(id(item) in found.markers for item in _items(holder)):
            continue
        if type(holder) is types.CellType:
            found.stand_ins.append((holder, types.CellType(found.replaced(_held(holder)[0]))))
        else:
            found.filled_last.append(holder)
    return found


def _cells(values: list[Any]) -> list[types.CellType]:
    """The closure cells of the frames among `values` (each frame's are a tuple)."""
    return [
        cell
        for value in values
        if type(value) is tuple
        for cell in value
        if type(cell) is types.CellType
    ]


def _floats(values: list[Any], plain: list[Any]) -> Iterable[float]:
    """The floats among `values` and directly inside the `plain` containers (dict keys too)."""
    for value in values:
        if type(value) is float:
            yield value
    for container in plain:
        for item in _items(container):
            if type(item) is float:
                yield item


def _items(container: Any) -> Iterable[Any]:
    if type(container) is dict:
        return (*container.keys(), *container.values())
    if type(container) is types.CellType:
        return _held(container)
    return container


def _holds_marked(container: Any, found: Found) -> bool:
    """Whether `container` holds a shared NaN, itself or in a tuple or frozenset inside."""
    markers = found.markers
    return bool(markers) and any(
        type(item) is float
        and id(item) in markers
        or type(item) in _NESTED
        and _holds_marked(item, found)
        for item in _items(container)
    )


def _stand_in(container: Any, found: Found, made: dict[int, Any]) -> Any:
    """What is written in `container`'s stead (entered into `found`, inner ones first): a copy
    whose shared NaNs are markers and whose inner plain containers are their own stand-ins."""
    known = made.get(id(container))
    if known is not None:
        return known

    def replaced(item: Any) -> Any:
        if type(item) is float:
            return found.markers.get(id(item), item)
        if type(item) in _NESTED and id(item) in made:
            return made[id(item)]
        return item

    for item in _items(container):
        if type(item) in _NESTED and _holds_marked(item, found):
            _stand_in(item, found, made)
    kind = type(container)
    if kind is dict:
        stand_in: Any = {replaced(key): replaced(value) for key, value in container.items()}
    else:
        stand_in = kind(map(replaced, container))
    made[id(container)] = stand_in
    found.stand_ins.append((container, stand_in))
    return stand_in


def _places(values: list[Any], nans: dict[int, float]) -> tuple[list[Any], list[Any]]:
    """The containers of plain values reached from `values` (not module-level ones, which are
    saved as references), and the cells and the lists, dicts and sets holding other objects
    too that hold one of `nans` themselves (not an object's attributes: pickle copies those
    into the new object); at most `WALK_LIMIT` containers looked into."""
    seen: set[int] = set()
    plain: list[Any] = []
    holders: list[Any] = []
    attributes: set[int] = set()
    frontier = [value for value in values if _walked(value)]
    looked = 0
    while frontier and looked < WALK_LIMIT:
        inner = []
        for obj in frontier:
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            looked += 1
            held = _held(obj)
            kind = type(obj)
            if kind in _CONTAINERS and _all_plain(held):
                plain.append(obj)
                inner.extend(item for item in held if type(item) in _NESTED)
                continue
            if (kind in _FILLABLE and id(obj) not in attributes or kind is types.CellType) and any(
                type(item) is float and id(item) in nans for item in held
            ):
                holders.append(obj)
            if kind not in _CONTAINERS and kind is not types.CellType and held:
                attributes.add(id(held[0]))  # an object's attributes: held[0] (see _held)
            inner.extend(item for item in held if _walked(item))
        frontier = inner
    return plain, holders


def _all_plain(items: Iterable[Any]) -> bool:
    """Whether every one of `items` is a plain value or a tuple or frozenset of them."""
    items = list(items)
    if _ATOMS.issuperset(map(type, items)):  # in C: the usual answer is quick
        return True
    return all(type(item) in _ATOMS or type(item) in _NESTED and _nested_plain(item, 0)
               for item in items)  # fmt: skip


def _nested_plain(container: Any, depth: int) -> bool:
    if depth > 20:  # deeper tuples are not worth the walk: treated as not plain
        return False
    return all(type(item) in _ATOMS or type(item) in _NESTED and _nested_plain(item, depth + 1)
               for item in container)  # fmt: skip


def _walked(obj: Any) -> bool:
    """Whether the walk looks inside `obj`: a built-in container, a cell or an object with
    attributes, not module-level (saved as a reference) nor code, a class or a module."""
    kind = type(obj)
    if kind in _CONTAINERS or kind is types.CellType:
        return _not_module_level(obj)
    return bool(kind.__dictoffset__) and not isinstance(obj, _NOT_WALKED) and _not_module_level(obj)


def _not_module_level(obj: Any) -> bool:
    return id(obj) not in module_objects.indexed_ids() or module_objects.reference(obj) is None


def _held(obj: Any) -> list[Any]:
    """The objects `obj` holds that the walk looks at (a dict's keys too)."""
    kind = type(obj)
    if kind is dict:
        return [*obj.keys(), *obj.values()]
    if kind in _CONTAINERS:
        return list(obj)
    if kind is types.CellType:
        try:
            return [obj.cell_contents]
        except ValueError:  # an empty cell
            return []
    try:  # never the object's own __getattr__
        attributes = object.__getattribute__(obj, "__dict__")
    except AttributeError:
        return []
    if type(attributes) is not dict:
        return []
    return [attributes, *attributes.values()] if _not_module_level(attributes) else []

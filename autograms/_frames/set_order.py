"""Sets and frozensets of plain values come back listing their elements in the order they had.

A set lists its elements in the order of its hash table's slots, which depends on the table's
size, the order the elements went in and the slots its deleted elements left (dummies). Pickle
writes a set's elements in that order and loads them into a new set, one by one: with
colliding hashes, a table grown by other inserts or a set that had deletions, the new set lists
them in another order, and a program that showed ``list(drinks)`` before a pause and picks
``list(drinks)[n]`` after it picks another element than plain Python (which lists an unchanged
set in the same order every time).

So after a snapshot is pickled, each set or frozenset it holds (found in the pickler's memo,
once a search of the pickle for the opcodes that make sets finds one: copying the memo costs
thousands of instructions, the search a few) whose elements are plain values (numbers, strings,
bytes, None, booleans, tuples of them), enum members, decimals, fractions or objects of plain
values whose class hashes them in Python (a frozen dataclass): their hashes do not depend on the
objects' addresses, and that a load would list in another order is saved again as its layout:
the elements in their order, the table's size, the slot of each element, the dummies' slots and
where ``pop`` starts. A load builds a set of that table size and writes the entries into those
slots (`_Table`: the layout of CPython's set object, checked on live sets before first use, else
never used), then checks that every element is found and that the set lists them in the saved
order; where it is not (another process whose string hashes differ: PYTHONHASHSEED), it is the
set pickle would have made. Same process, or the same hash seed: the same order.

`set_in_order` is part of the snapshot format: keep its module and name.
"""

from __future__ import annotations

import ctypes
import pickle
import sys
from enum import Enum
from operator import is_, itemgetter
from types import FunctionType
from typing import Any, Final

#: The set types handled (subclasses are left to pickle).
SET_TYPES: Final = frozenset({set, frozenset})
_ATOMS = frozenset({int, float, complex, str, bytes, bool, type(None)})
#: Tables larger than this are not laid out again (reading one costs a pass over its slots).
SIZE_LIMIT: Final = 1 << 16


class OrderedSet:
    """Stands for a set in what is pickled: loads as a set listing its elements in the saved
    order where it can."""

    __slots__ = ("kind", "elements", "layout")

    def __init__(self, kind: type, elements: tuple, layout: tuple) -> None:
        self.kind, self.elements, self.layout = kind, elements, layout

    def __reduce__(self) -> tuple:
        return (set_in_order, (self.kind, self.elements, *self.layout))


#: What the C pickler writes for a set and a frozenset (protocol 4 or later): the opcode that
#: makes it, then the one that memoizes it (two bytes: rarely met by chance in binary data).
_SET_MADE = (pickle.EMPTY_SET + pickle.MEMOIZE, pickle.FROZENSET + pickle.MEMOIZE)


def may_hold_sets(blob: bytes) -> bool:
    """Whether a pickle may hold a set or frozenset (searched in C; the same bytes in its data
    are a false alarm, which only costs a look)."""
    return _SET_MADE[0] in blob or _SET_MADE[1] in blob


def stand_ins(memoized: Any, skipped: set[int]) -> list[tuple[Any, OrderedSet]]:
    """For each set among `memoized` (a pickler's memo values: (index, object)), not in
    `skipped` (ids of containers written otherwise), of plain values and listed by a load in
    another order: the set and what to write in its stead."""
    objects = list(map(itemgetter(1), memoized))
    if _TABLE is None or SET_TYPES.isdisjoint(map(type, objects)):  # in C: the usual answer
        return []
    sets = [obj for obj in objects if type(obj) in SET_TYPES and id(obj) not in skipped]
    found = []
    for each in sets:
        laid_out = layout_of(each)
        if laid_out is not None:
            found.append((each, OrderedSet(type(each), *laid_out)))
    return found


def _plain(elements: tuple) -> bool:
    """Whether `elements` hash alike in any copy of them: values, tuples of them, enum
    members, decimals and fractions, and the objects `_hashed_by_values` accepts."""
    if _ATOMS.issuperset(map(type, elements)):
        return True
    return all(
        type(item) in _ATOMS
        or type(item) is tuple
        and _plain(item)
        or isinstance(item, Enum)
        or (type(item).__module__, type(item).__qualname__) in _NUMBER_CLASSES
        or _hashed_by_values(item)
        for item in elements
    )


#: Library numbers hashed by their value alike in every process, pickled whole from a string
#: (named, not imported: a set holding one means its module is loaded already).
_NUMBER_CLASSES: Final = frozenset({("decimal", "Decimal"), ("fractions", "Fraction")})


def _hashed_by_values(item: Any) -> bool:
    """Whether `item`'s class hashes it in Python (a frozen dataclass, a class's own
    ``__hash__``: by what it holds rather than by its address) and its attributes are plain
    values (pickle then makes it whole before the layout names it, wherever it is)."""
    kind = type(item)
    if not isinstance(getattr(kind, "__hash__", None), FunctionType) or any(
        "__slots__" in vars(klass) for klass in kind.__mro__[:-1]
    ):
        return False
    try:  # never the object's own __getattr__
        attributes = object.__getattribute__(item, "__dict__")
    except AttributeError:
        return False
    return type(attributes) is dict and _plain(tuple(attributes.values()))


def _loads_alike(each: set | frozenset, elements: tuple) -> bool:
    """`_TABLE.same_as_loaded`, or True (left to pickle) when an element's own ``__hash__``
    raises: pickle's load would fail the same way."""
    try:
        return _TABLE.same_as_loaded(each, elements)
    except Exception:  # noqa: BLE001 - the program's __hash__; pickle will say what fails
        return True


def set_in_order(
    kind: type, elements: tuple, size: int, slots: tuple, dummies: tuple, finger: int
) -> set | frozenset:
    """A `kind` of `elements`, laid out in a table of `size` at `slots` (with dummies at
    `dummies`), when that gives a valid set listing them in this order; else `kind(elements)`."""
    if _TABLE is not None and size <= SIZE_LIMIT and len(slots) == len(elements):
        made = _TABLE.build(kind, elements, size, slots, dummies, finger)
        if made is not None:
            return made
    return made_as_base(kind, elements)


def made_as_base(kind: type, elements: Any) -> set | frozenset:
    """A `kind` (set, frozenset or a subclass) of `elements`, made as its base makes one: no
    ``__new__`` or ``__init__`` of a subclass runs (library_subclasses.py says why)."""
    base = set if issubclass(kind, set) else frozenset
    made = base.__new__(kind, elements)
    if base is set:
        set.__init__(made, elements)
    return made


def layout_of(obj: set | frozenset) -> tuple[tuple, tuple] | None:
    """For a set or frozenset (or an instance of a subclass) of plain values that a load of
    its elements would list otherwise: its elements in order and its layout, the arguments
    of `set_in_order` after its kind; else None."""
    if _TABLE is None:
        return None
    elements = tuple(set.__iter__(obj) if isinstance(obj, set) else frozenset.__iter__(obj))
    if not _plain(elements) or _loads_alike(obj, elements):
        return None
    layout = _TABLE.layout(obj)
    return None if layout is None else (elements, layout)


#: Py_IncRef and Py_DecRef taking an object's address (prototypes of our own: setting
#: ``argtypes`` on ``ctypes.pythonapi``'s functions would change them for every user).
_INCREF = ctypes.PYFUNCTYPE(None, ctypes.c_void_p)(("Py_IncRef", ctypes.pythonapi))
_DECREF = ctypes.PYFUNCTYPE(None, ctypes.c_void_p)(("Py_DecRef", ctypes.pythonapi))


class _Table:
    """CPython's set object: ``fill``, ``used``, ``mask``, ``table``, ``hash`` and ``finger``
    after the object header, the table an array of (key, hash) entries; the dummy key marks a
    deleted element. Read and written only once `_check` found this layout on live sets."""

    HEADER = 2 * ctypes.sizeof(ctypes.c_ssize_t)
    WORD = ctypes.sizeof(ctypes.c_ssize_t)

    def __init__(self) -> None:
        self.dummy = 0

    def _field(self, obj: Any, index: int) -> ctypes.c_ssize_t:
        return ctypes.c_ssize_t.from_address(id(obj) + self.HEADER + index * self.WORD)

    def _entries(self, obj: Any) -> tuple[int, Any]:
        size = self._field(obj, 2).value + 1
        table = self._field(obj, 3).value
        return size, (ctypes.c_ssize_t * (2 * size)).from_address(table)

    def same_as_loaded(self, obj: Any, elements: tuple) -> bool:
        """Whether pickle's load of `obj` (its `elements` added one by one to a new set)
        makes the same set: for a frozenset, listed in the same order; for a set, also the
        same table (slots and dummies) and the same place for ``pop`` to start, on which the
        order after later changes depends."""
        loaded = made_as_base(type(obj), elements)
        if isinstance(obj, frozenset):  # compared by identity: no __eq__ of the program's runs
            return len(loaded) == len(elements) and all(map(is_, loaded, elements))
        fields = (0, 1, 2, 5)  # fill, used, mask, finger
        if [self._field(obj, i).value for i in fields] != [
            self._field(loaded, i).value for i in fields
        ]:
            return False
        return self._bytes(obj) == self._bytes(loaded)

    def _bytes(self, obj: Any) -> bytes:
        _, entries = self._entries(obj)
        return ctypes.string_at(ctypes.addressof(entries), ctypes.sizeof(entries))

    def layout(self, obj: Any) -> tuple | None:
        """(table size, slot of each element in order, dummy slots, finger) of `obj`."""
        size, entries = self._entries(obj)
        if size > SIZE_LIMIT:
            return None
        keys = entries[0::2]
        dummy = self.dummy
        slots = tuple(index for index, key in enumerate(keys) if key and key != dummy)
        dummies = tuple(index for index, key in enumerate(keys) if key == dummy)
        if len(slots) != len(obj):
            return None
        return (size, slots, dummies, self._field(obj, 5).value)

    def build(
        self, kind: type, elements: tuple, size: int, slots: tuple, dummies: tuple, finger: int
    ) -> Any:
        """A new `kind` laid out as said, or None where that is no valid set of this order."""
        fillers = [object() for _ in range(max(5, size // 4) if size > 8 else 1)]
        # a dict of n keys sizes it to the power of 2 > 2n
        made = made_as_base(kind, dict.fromkeys(fillers))
        if self._field(made, 2).value + 1 != size:
            return None
        _, entries = self._entries(made)
        for filler in fillers:  # the set's references to them (the list keeps them alive)
            _DECREF(id(filler))
        ctypes.memset(ctypes.addressof(entries), 0, ctypes.sizeof(entries))
        for element, slot in zip(elements, slots, strict=True):
            _INCREF(id(element))
            entries[2 * slot], entries[2 * slot + 1] = id(element), hash(element)
        for slot in dummies:
            entries[2 * slot], entries[2 * slot + 1] = self.dummy, -1
        self._field(made, 0).value = len(elements) + len(dummies)
        self._field(made, 1).value = len(elements)
        self._field(made, 5).value = finger
        listed = tuple(made)
        if all(map(is_, listed, elements)) and all(element in made for element in elements):
            return made
        return None  # dropping it releases the elements it holds


def _check() -> _Table | None:
    """A `_Table` if live sets show the layout it assumes, else None (sets then load as pickle
    makes them)."""
    free_threaded = hasattr(sys, "_is_gil_enabled") and not sys._is_gil_enabled()
    if sys.implementation.name != "cpython" or free_threaded:
        return None
    table = _Table()
    try:
        probe = {"a", "b", "c"}
        size, entries = table._entries(probe)
        used = table._field(probe, 1).value
        keys = set(entries[0::2]) - {0}
        if size != 8 or used != 3 or keys != set(map(id, probe)):
            return None
        probe.discard("b")
        (dummy,) = set(entries[0::2]) - {0} - set(map(id, probe))
        table.dummy = dummy
        sample = frozenset(range(40)) - {3}
        rebuilt = table.build(frozenset, tuple(sample), *table.layout(sample))
        return table if rebuilt == sample and tuple(rebuilt) == tuple(sample) else None
    except (ValueError, TypeError, OverflowError):
        return None


_TABLE = _check()

"""Iterators and views over a dict or set, saved as *where they are in* that container.

Pickle saves a dict or set iterator as a list of the items it has still to give: after a
resume the loop runs over a copy, never sees the program's changes to the dict, and never
raises "dictionary changed size during iteration". Here the iterator is saved with the dict
itself (so both come back as one object graph) and its state:

* how many of the dict's items it has passed (its position counted in live items, which stays
  meaningful when the dict comes back without the holes deleted items left);
* the dict size it expects -- when the program changed the size before the pause, the next
  step raises exactly as it would have;
* how many items it may still give.

A resume makes a fresh iterator of the same type over the restored dict, steps it past the
items already given and sets those fields. Reversed iterators work the same way from the end.

A set iterator is saved with the set, its expected size and the elements it has still to give.
Set order follows hashes, so a set restored in another process (string hashes differ) may list
its elements in another order; the iterator is then positioned only if the elements already
given come first, and otherwise continues as a small iterator over the remaining elements
(which still checks the set's size).

``dict.keys()``/``values()``/``items()`` views are saved as their dict and kind. List, tuple,
range, enumerate, zip, map, filter and reversed-list iterators need nothing more: pickle
already saves them with their underlying objects (a module-level list or tuple a list or tuple
iterator runs over is saved as a reference, see module_objects.py).

A ``deque`` iterator (forwards or reversed) is saved with its deque, its position and whether
the deque was changed under it; a resume makes a fresh iterator at that position and, if the
deque was changed, leaves it so that its next step raises "deque mutated during iteration", as
the saved one would have (pickle's own copy forgets the change).

An ``OrderedDict`` iterator (over the OrderedDict, its views, or reversed) is saved with the
OrderedDict, its kind, the key it gives next, whether the OrderedDict was changed under it (so
the next step raises "mutated during iteration") and the size it expects; a resume makes a
fresh iterator, steps it to that key and sets those fields. OrderedDict views are saved as
their OrderedDict and kind.

The fields are read and written in the C iterator objects (the layouts of
Objects/dictobject.c, Objects/odictobject.c, Objects/setobject.c and
Modules/_collectionsmodule.c, the same in CPython
3.11-3.13; checked on import). The functions the saved data names (`dict_iterator`,
`set_iterator`, `exhausted_iterator`, `dict_view`, `odict_iterator`,
`exhausted_odict_iterator`, `odict_view`, `deque_iterator`) are part of the snapshot format:
keep their module and names.
"""

from __future__ import annotations

import ctypes
import gc
from collections import OrderedDict, deque
from collections.abc import Iterator
from typing import Any, Final

from . import module_objects
from .errors import UnsupportedPythonError

_WORD: Final = ctypes.sizeof(ctypes.c_ssize_t)
_HEAD: Final = 2 * _WORD  # PyObject_HEAD: reference count, type
# dictiterobject: di_dict, di_used, di_pos, di_result, len
_DI_DICT, _DI_USED, _DI_POS, _DI_LEN = _HEAD, _HEAD + _WORD, _HEAD + 2 * _WORD, _HEAD + 4 * _WORD
# PyDictObject: ma_used, a version tag, ma_keys, ma_values; PyDictKeysObject: dk_refcnt, four
# small fields in one word, dk_usable, dk_nentries
_MA_KEYS, _MA_VALUES, _DK_NENTRIES = _HEAD + 2 * _WORD, _HEAD + 3 * _WORD, 3 * _WORD
# setiterobject: si_set, si_used, si_pos, len
_SI_SET, _SI_USED, _SI_POS, _SI_LEN = _HEAD, _HEAD + _WORD, _HEAD + 2 * _WORD, _HEAD + 3 * _WORD

#: Dict iterator type -> (view method, reversed).
_DICT_KINDS: Final = {
    type(iter({}.keys())): ("keys", False),
    type(iter({}.values())): ("values", False),
    type(iter({}.items())): ("items", False),
    type(reversed({}.keys())): ("keys", True),
    type(reversed({}.values())): ("values", True),
    type(reversed({}.items())): ("items", True),
}
DICT_ITERATOR_TYPES: Final = tuple(_DICT_KINDS)
SET_ITERATOR: Final = type(iter(set()))
DICT_VIEWS: Final = {
    type({}.keys()): "keys",
    type({}.values()): "values",
    type({}.items()): "items",
}
_NO_EXPECTED_SIZE = -1  # the iterator already raised and stays broken ("sticky" state)


def _field(obj: Any, offset: int) -> ctypes.c_ssize_t:
    return ctypes.c_ssize_t.from_address(id(obj) + offset)


def _container(iterator: Any, offset: int) -> Any:
    """The dict or set `iterator` runs over, or None once it is exhausted."""
    address = _field(iterator, offset).value
    if address == 0:
        return None
    return next(item for item in gc.get_referents(iterator) if id(item) == address)


# -- dict iterators --------------------------------------------------------------------------


def reduce_dict_iterator(iterator: Any) -> tuple:
    method, backwards = _DICT_KINDS[type(iterator)]
    mapping = _container(iterator, _DI_DICT)
    if mapping is None:
        return (exhausted_iterator, (method, backwards))
    expected = _field(iterator, _DI_USED).value
    size_change = None if expected == _NO_EXPECTED_SIZE else expected - len(mapping)
    state = (_passed(iterator, mapping), size_change, _field(iterator, _DI_LEN).value)
    return (dict_iterator, (module_objects.referenced(mapping), method, backwards, *state))


def _passed(iterator: Any, mapping: dict) -> int:
    """How many of `mapping`'s live items `iterator` is past: the dict's size less what a copy
    of the iterator, unbounded and expecting the current size, still finds."""
    method, backwards = _DICT_KINDS[type(iterator)]
    position = _field(iterator, _DI_POS).value
    if backwards:  # a reversed iterator does not bound its position: keep it in the table
        position = min(position, _last_position(mapping))
    probe = _fresh(mapping, method, backwards)
    _field(probe, _DI_POS).value = position
    _field(probe, _DI_LEN).value = len(mapping)
    return len(mapping) - sum(1 for _ in probe)


def _last_position(mapping: dict) -> int:
    """The last position a reversed iterator may read in `mapping` now: it may have been made
    when the dict's table was larger (the program changed the dict, so its next step raises)."""
    if _field(mapping, _MA_VALUES).value:  # a split table: positions are in insertion order
        return len(mapping) - 1
    return ctypes.c_ssize_t.from_address(_field(mapping, _MA_KEYS).value + _DK_NENTRIES).value - 1


def _fresh(mapping: dict, method: str, backwards: bool) -> Iterator:
    view = getattr(dict, method)(mapping)
    return reversed(view) if backwards else iter(view)


def dict_iterator(
    mapping: dict,
    method: str,
    backwards: bool,
    passed: int,
    size_change: int | None,
    remaining: int,
) -> Iterator:
    """An iterator over `mapping` in the state `reduce_dict_iterator` described."""
    iterator = _fresh(mapping, method, backwards)
    for _ in range(passed):
        if next(iterator, _END) is _END:
            return iterator
    expected = _NO_EXPECTED_SIZE if size_change is None else len(mapping) + size_change
    _field(iterator, _DI_USED).value = expected
    _field(iterator, _DI_LEN).value = remaining
    return iterator


def exhausted_iterator(method: str, backwards: bool) -> Iterator:
    """An exhausted dict iterator of the given kind."""
    iterator = _fresh({}, method, backwards)
    next(iterator, None)
    return iterator


_END = object()


def reduce_dict_view(view: Any) -> tuple:
    (mapping,) = gc.get_referents(view)
    return (dict_view, (module_objects.referenced(mapping), DICT_VIEWS[type(view)]))


def dict_view(mapping: dict, method: str) -> Any:
    """``mapping.keys()`` (or values, items) as the plain dict view type."""
    return getattr(dict, method)(mapping)


# -- list and tuple iterators ----------------------------------------------------------------


def reduce_sequence_iterator(iterator: Any) -> tuple:
    """Pickle's own reduction (the sequence and the position), with a module-level sequence
    saved as a reference."""
    reduction = iterator.__reduce__()
    return (reduction[0], module_objects.referenced_items(reduction[1]), *reduction[2:])


SEQUENCE_ITERATOR_TYPES: Final = (type(iter([])), type(reversed([])), type(iter(())))


# -- set iterators ---------------------------------------------------------------------------


def reduce_set_iterator(iterator: Any) -> tuple:
    members = _container(iterator, _SI_SET)
    if members is None:
        return (set_iterator, (frozenset(), (), 0, 0))
    expected = _field(iterator, _SI_USED).value
    size_change = None if expected == _NO_EXPECTED_SIZE else expected - len(members)
    remaining, left = _still_to_give(iterator, members), _field(iterator, _SI_LEN).value
    return (set_iterator, (module_objects.referenced(members), remaining, size_change, left))


def _still_to_give(iterator: Any, members: set | frozenset) -> tuple:
    """What a copy of `iterator`, unbounded and expecting the current size, still finds."""
    probe = iter(members)
    _field(probe, _SI_POS).value = _field(iterator, _SI_POS).value
    _field(probe, _SI_LEN).value = len(members)
    return tuple(probe)


def set_iterator(
    members: set | frozenset, remaining: tuple, size_change: int | None, left: int
) -> Iterator:
    """An iterator over `members` that gives `remaining` next (see the module docstring)."""
    iterator = iter(members)
    still = set(remaining)
    for _ in range(len(members) - len(remaining)):
        if next(iterator, _END) in still:
            return RemainingSetIterator(members, remaining, size_change)
    expected = _NO_EXPECTED_SIZE if size_change is None else len(members) + size_change
    _field(iterator, _SI_USED).value = expected
    _field(iterator, _SI_LEN).value = left
    return iterator


class RemainingSetIterator:
    """Iterates over the elements of a set it had still to give when it was saved, raising as
    a set iterator does when the set's size changes."""

    __slots__ = ("_members", "_remaining", "_expected")

    def __init__(self, members: set | frozenset, remaining: tuple, size_change: int | None):
        self._members = members
        self._remaining = list(reversed(remaining))
        self._expected = None if size_change is None else len(members) + size_change

    def __iter__(self) -> RemainingSetIterator:
        return self

    def __next__(self) -> Any:
        if self._expected != len(self._members):
            self._expected = None
            raise RuntimeError("Set changed size during iteration")
        while self._remaining:
            element = self._remaining.pop()
            if element in self._members:
                return element
        raise StopIteration

    def __reduce__(self) -> tuple:
        size_change = None if self._expected is None else self._expected - len(self._members)
        remaining = tuple(reversed(self._remaining))
        return (set_iterator, (self._members, remaining, size_change, len(remaining)))


# -- OrderedDict iterators and views ---------------------------------------------------------

# odictiterobject: kind (an int), di_odict, di_size, di_state, di_current (the next key)
_OI_KIND, _OI_DICT, _OI_SIZE = _HEAD, _HEAD + _WORD, _HEAD + 2 * _WORD
_OI_STATE, _OI_CURRENT = _HEAD + 3 * _WORD, _HEAD + 4 * _WORD
_ODICT_REVERSED, _ODICT_KEYS, _ODICT_VALUES = 1, 2, 4
_ODICT_METHODS: Final = {
    _ODICT_KEYS: "keys",
    _ODICT_VALUES: "values",
    _ODICT_KEYS | _ODICT_VALUES: "items",
}
ODICT_ITERATOR: Final = type(iter(OrderedDict()))
ODICT_VIEWS: Final = {
    type(OrderedDict().keys()): "keys",
    type(OrderedDict().values()): "values",
    type(OrderedDict().items()): "items",
}


def reduce_odict_iterator(iterator: Any) -> tuple:
    """An OrderedDict iterator as its OrderedDict, its kind, the key it gives next, whether
    the OrderedDict was changed under it (its next step raises) and the size it expects."""
    kind = ctypes.c_int.from_address(id(iterator) + _OI_KIND).value
    mapping = _container(iterator, _OI_DICT)
    if mapping is None or not _field(iterator, _OI_CURRENT).value:
        return (exhausted_odict_iterator, (kind,))
    address = _field(iterator, _OI_CURRENT).value
    current = next(item for item in gc.get_referents(iterator) if id(item) == address)
    state = ctypes.c_size_t.from_address(id(iterator) + _OI_STATE).value
    fresh = OrderedDict.__iter__(mapping)  # made now: it expects the OrderedDict's state now
    mutated = state != ctypes.c_size_t.from_address(id(fresh) + _OI_STATE).value
    size_change = _field(iterator, _OI_SIZE).value - len(mapping)
    reference = module_objects.referenced(mapping)
    return (odict_iterator, (reference, kind, current, mutated, size_change))


def _fresh_odict_iterator(mapping: OrderedDict, kind: int) -> Iterator:
    view = getattr(OrderedDict, _ODICT_METHODS[kind & ~_ODICT_REVERSED])(mapping)
    return reversed(view) if kind & _ODICT_REVERSED else iter(view)


def odict_iterator(
    mapping: OrderedDict, kind: int, current: Any, mutated: bool, size_change: int
) -> Iterator:
    """An iterator over `mapping` in the state `reduce_odict_iterator` described."""
    iterator = _fresh_odict_iterator(mapping, kind)
    order = OrderedDict.__reversed__ if kind & _ODICT_REVERSED else OrderedDict.__iter__
    keys = list(order(mapping))
    position = next((index for index, key in enumerate(keys) if key is current), None)
    if position is None and current in mapping:
        position = keys.index(current)
    if position is None or mutated:  # the next step raises, wherever the iterator stands
        if not _field(iterator, _OI_CURRENT).value:  # an empty OrderedDict: give it a key
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(current))
            _field(iterator, _OI_CURRENT).value = id(current)
        # behind the OrderedDict's state, as a changed-under iterator is: the state only
        # grows, so no later change can make them agree again (one step ahead could)
        state = ctypes.c_size_t.from_address(id(iterator) + _OI_STATE)
        state.value = (state.value - 1) % (1 << (8 * _WORD))
    else:
        for _ in range(position):
            next(iterator)
    _field(iterator, _OI_SIZE).value = len(mapping) + size_change
    return iterator


def exhausted_odict_iterator(kind: int) -> Iterator:
    """An exhausted OrderedDict iterator of the given kind."""
    iterator = _fresh_odict_iterator(OrderedDict(), kind)
    next(iterator, None)
    return iterator


def reduce_odict_view(view: Any) -> tuple:
    (mapping,) = gc.get_referents(view)
    return (odict_view, (module_objects.referenced(mapping), ODICT_VIEWS[type(view)]))


def odict_view(mapping: OrderedDict, method: str) -> Any:
    """``mapping.keys()`` (or values, items) as the OrderedDict view type."""
    return getattr(OrderedDict, method)(mapping)


# -- deque iterators -------------------------------------------------------------------------

# dequeiterobject: b (a block), index, deque, state (the deque's state when it was made), counter
_QI_DEQUE, _QI_STATE, _QI_COUNTER = _HEAD + 2 * _WORD, _HEAD + 3 * _WORD, _HEAD + 4 * _WORD
_DEQUE_KINDS: Final = {type(iter(deque())): False, type(reversed(deque())): True}
DEQUE_ITERATOR_TYPES: Final = tuple(_DEQUE_KINDS)


def _deque_state(iterator: Any) -> int:
    return ctypes.c_size_t.from_address(id(iterator) + _QI_STATE).value


def reduce_deque_iterator(iterator: Any) -> tuple:
    """A deque iterator as its deque, its position and whether the deque was changed under
    it (its next step raises)."""
    _, (items, position) = iterator.__reduce__()
    mutated = _deque_state(iterator) != _deque_state(type(iterator)(items, 0))
    backwards = _DEQUE_KINDS[type(iterator)]
    return (deque_iterator, (module_objects.referenced(items), backwards, position, mutated))


def deque_iterator(items: deque, backwards: bool, position: int, mutated: bool) -> Iterator:
    """An iterator over `items` in the state `reduce_deque_iterator` described."""
    kind = DEQUE_ITERATOR_TYPES[backwards]
    iterator = kind(items, 0 if mutated else max(position, 0))
    if mutated:
        ctypes.c_size_t.from_address(id(iterator) + _QI_STATE).value += 1
    return iterator


# -- layout check ----------------------------------------------------------------------------


def _check_layout() -> None:
    """Refuse to run if the C iterator layouts are not the ones this module reads."""
    mapping, members = {"a": 1, "b": 2, "c": 3, "d": 4}, {1, 2, 3}
    del mapping["d"]
    items, elements = iter(mapping.items()), iter(members)
    next(items)
    next(elements)
    fields = [_field(items, offset).value for offset in (_DI_DICT, _DI_USED, _DI_POS, _DI_LEN)]
    set_fields = [_field(elements, offset).value for offset in (_SI_SET, _SI_USED, _SI_LEN)]
    known = fields == [id(mapping), 3, 1, 2] and set_fields == [id(members), 3, 2]
    ordered = OrderedDict(a=1, b=2)
    odict_items = reversed(ordered.items())
    next(odict_items)
    odict_fields = [_field(odict_items, offset).value for offset in (_OI_DICT, _OI_SIZE)]
    known = known and odict_fields == [id(ordered), 2]
    known = known and ctypes.c_int.from_address(id(odict_items) + _OI_KIND).value == 7
    known = known and _field(odict_items, _OI_CURRENT).value == id(next(iter(ordered)))
    known = known and _deque_layout_known()
    if not known or _field(mapping, _MA_VALUES).value or _last_position(mapping) != 3:
        raise UnsupportedPythonError(
            "the dict and set iterator layouts of this CPython are not the ones the engine "
            "knows (3.11-3.13)",
            reason="unknown iterator layout",
        )


def _deque_layout_known() -> bool:
    items = deque("abc")
    walked = reversed(items)
    next(walked)
    if [_field(walked, offset).value for offset in (_QI_DEQUE, _QI_COUNTER)] != [id(items), 2]:
        return False
    before = _deque_state(iter(items))
    items.append("d")
    return _deque_state(iter(items)) != before


_check_layout()

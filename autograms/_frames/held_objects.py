"""Objects a callable handed to a module holds, which the paused frames hold too: the object
itself in the process that paused, else a copy.

``HANDLERS.append(c.on_event)`` with ``c`` a local, ``HANDLERS.append(partial(record, box))``,
or a closure registered in a module list whose cell holds a list the frame also holds: plain
Python keeps one object, which the module's callable changes between turns and the program
reads after its pause. The module's callable is no value of the snapshot (it stays where the
program put it), so a copy made for the frames would split the object in two: the callback
would count into an object the program no longer sees. registered_closures.py finds such
objects (its scan, one step below the callables it registers) and says how a load finds them
again (`held_token`); here they are saved as that token with a copy beside it, as kept_copies.py
saves a module-level object at a place the program changes:

* loaded in the process that paused while the callable is alive, it is the very object the
  snapshot saved (what the callback did to it between turns is what the frame sees);
* elsewhere (another process, or once the callable is gone), the copy.

Like a module-level object, such an object then belongs to the process: a turn that fails does
not undo what it did to the object.

A snapshot whose frames hold more than numbers, strings, bytes and None makes the scan before
it is written (cheap: a module's globals are looked at again only once one is rebound); when
the scan finds such objects, pickling.py asks `held_token` about every object it meets and
saves those as held wherever it meets them. Lists, dicts and sets, which pickle writes without
asking, are written first as "the object or a new empty one" and memoized in the object's stead
(`EmptyUnlessHeld`), then filled last when they are the copy (`Fills`): the snapshot is written
again when the first pass met one (`stand_ins`), or met an object before a scan made in the
middle of it (by a cell) found it. Tuples and frozensets are copied: equal, immutable, their
identity seldom read.

`held_or_made`, `fill_unless_held` and `fill_copies` are named by snapshots: keep their module
and names.
"""

from __future__ import annotations

from typing import Any

from . import hashed_keys, kept_copies, module_objects, registered_closures

#: The built-in containers written empty first and filled last when copied.
CONTAINERS = frozenset({list, dict, set})


def reduce_held(token: tuple, reduction: tuple) -> tuple:
    """The reduction that saves the held object `token` names, with the copy `reduction` (its
    own, as pickle takes it) beside it."""
    make, arguments, state, listitems, dictitems, setter = (*reduction, None, None, None, None)[:6]
    copy = (state, kept_copies.listed(listitems), kept_copies.listed(dictitems), setter)
    saved = (token, copy)
    return (held_or_made, (token, make, arguments), saved, None, None, fill_unless_held)


def held_or_made(token: tuple, make: Any, arguments: tuple) -> Any:
    """The held object itself if this process still has it, else a new one made by `make`."""
    original = registered_closures.held_original(*token)
    return make(*arguments) if original is registered_closures.NOWHERE else original


def fill_unless_held(obj: Any, saved: tuple) -> None:
    """Give `obj` what its copy saved, unless it is the held object itself."""
    token, copy = saved
    if registered_closures.held_original(*token) is not obj:
        kept_copies.fill_copy(obj, *copy)


class EmptyUnlessHeld:
    """What a held list, dict or set is written as first: the object itself, or an empty one of
    its type that `Fills` fills."""

    __slots__ = ("kind", "token")

    def __init__(self, token: tuple, kind: type) -> None:
        self.token = token
        self.kind = kind

    def __reduce__(self) -> tuple:
        return (held_or_made, (self.token, self.kind, ()))


def stand_ins(memo: dict[int, tuple[int, Any]], skipped: set[int]) -> list[tuple[Any, Any]] | None:
    """When the snapshot just written met held objects before the scan that found them (or met
    held containers, which pickle writes without asking): each held container of `memo` (the
    pickler's, copied) not among `skipped`, with its `EmptyUnlessHeld`, for writing the
    snapshot again; else None (the snapshot stands)."""
    found = registered_closures.scanned()
    if found is None or not found.held:
        return None
    pending = [
        memo[key][1]
        for key in found.held
        if key in memo
        and key not in found.saved
        and type(memo[key][1]) not in registered_closures.WALKED_ONLY
        and module_objects.reference(memo[key][1]) is None
    ]
    if not pending:
        return None
    containers = [obj for obj in pending if type(obj) in CONTAINERS and id(obj) not in skipped]
    return [(obj, EmptyUnlessHeld(_token(obj), type(obj))) for obj in containers]


def _token(obj: Any) -> tuple:
    token = registered_closures.held_token(obj)
    assert token is not None  # found among the held objects just now
    return token


class Fills:
    """The held containers written empty, with their contents: filled when they are copies."""

    def __init__(self, held: list[tuple[Any, EmptyUnlessHeld]], replaced: Any) -> None:
        self.entries = [
            (container, stand_in.token, hashed_keys.contents(container, replaced))
            for container, stand_in in held
        ]

    def __reduce__(self) -> tuple:
        return (fill_copies, (self.entries,))


def fill_copies(entries: list[tuple[Any, tuple, list]]) -> None:
    """Put back the contents of the held containers a load made anew."""
    for container, token, items in entries:
        if registered_closures.held_original(*token) is not container:
            hashed_keys.fill([(container, items)])

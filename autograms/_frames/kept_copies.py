"""Module-level objects at places the running program changes: saved as the place, with a copy
beside it for when the place holds nothing any more.

A module-level object is saved as where it is (module_objects.py). Some places are the code's:
a global name, a class's attribute, a tuple's item, a function's default; the program's import
makes them again in any process. Others are what the program does at run time: an item of a
module-level dict (a cache, a registry: ``CACHE["rows"]``, ``REG["mine"] = mine``) or an
attribute of an instance a module binds (``BOT.current = rows``). Such a place may hold nothing
when the session resumes: the app evicted the entry between turns, or a new process (a worker,
a restart) started with the dict its import made. Plain Python would go on with the object the
local held, so the snapshot carries a copy of it beside the place: a resume gets the object the
place holds if there is one (the very same object in the process that paused), else the copy.

A built-in container found at such a place inside a local's containers is written before the
snapshot proper (module_objects.nested_containers), where copies are not made: it is saved as
its place alone.

The copy costs what copying the object costs, only for objects at such places: a pause whose
frames hold no module-level object, or only objects bound to globals, writes nothing more.
The copy is made as the snapshot copies any value (a module-level container inside a copied
container is the snapshot's reference to it if it has one, else copied too). When a snapshot
cannot be written with its copies (an object at such a place holds a lock, a client, anything
a snapshot refuses), it is written again with every module-level object as its place alone:
the place is followed as before, and a resume finding it empty is refused naming it.

`made_or_found` and `fill_if_made` are named by snapshots: keep their module and names.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from . import module_objects

#: Whether the snapshot being written in this thread or task saves places alone (its second
#: attempt, after a first one failed).
_places_alone: ContextVar[bool] = ContextVar("autograms_frames_places_alone", default=False)


def places_alone() -> bool:
    """Whether the snapshot being written saves module-level objects as their places alone."""
    return _places_alone.get()


@contextlib.contextmanager
def writing_places_alone() -> Iterator[None]:
    """Within it, module-level objects are saved as their places alone, without copies."""
    token = _places_alone.set(True)
    try:
        yield
    finally:
        _places_alone.reset(token)


def kept(where: tuple) -> bool:
    """Whether a copy is saved beside the place `where` (an item of a module-level dict or
    dict subclass, an attribute of an instance a module binds)."""
    if len(where) < 3 or len(where[2]) != 1 or _places_alone.get():
        return False  # a global itself, or a method's default
    kind = where[2][0][0]
    if kind == "slot":
        return True
    if kind not in ("item", "attr"):
        return False  # a function's default
    owner_kind = type(module_objects.found_at(where[0], where[1]))
    return issubclass(owner_kind, dict) if kind == "item" else not issubclass(owner_kind, type)


def container_copy(container: Any, reference: Any) -> tuple:
    """The reduction of a copy of a built-in container, written as `reference` (which pickle
    memoizes before the items: a list or dict holding itself holds `reference` instead).
    The copy never holds the container itself, which pickle would memoize as a copy."""
    kind = type(container)
    if kind is list:
        return (list, (), None, [reference if item is container else item for item in container])
    if kind is dict:
        items = [(key, reference if item is container else item) for key, item in container.items()]
        return (dict, (), None, None, items)
    if kind is set:
        return (set, (), list(container), None, None, set.update)
    if kind is bytearray:
        return (bytearray, (bytes(container),))
    return (kind, ((*container,),))  # a tuple, a frozenset


def reduce_kept(where: tuple, reduction: tuple) -> tuple:
    """The reduction that saves the module-level object at `where` as that place, with the copy
    `reduction` (its own, as pickle takes it) beside it."""
    make, arguments, state, listitems, dictitems, setter = (*reduction, None, None, None, None)[:6]
    saved = (where, state, listed(listitems), listed(dictitems), setter)
    return (made_or_found, (*where, make, arguments), saved, None, None, fill_if_made)


def listed(items: Any) -> list | None:
    return items if items is None or type(items) is list else list(items)


def made_or_found(module: str, name: str, steps: tuple, make: Any, arguments: tuple) -> Any:
    """The object at the place (module, name, steps) if it holds one, else a new object made by
    `make` that `fill_if_made` fills."""
    found = module_objects.found_at(module, name, steps)
    return make(*arguments) if found is module_objects.NOWHERE else found


def fill_if_made(obj: Any, saved: tuple) -> None:
    """Give `obj` what the copy saved, as pickle would, unless it is the object at the place."""
    where, *copy = saved
    if module_objects.found_at(*where) is obj:
        return  # the module's own object: its contents are the module's
    fill_copy(obj, *copy)


def fill_copy(obj: Any, state: Any, listitems: Any, dictitems: Any, setter: Any) -> None:
    """Give the copy `obj` its saved state, items and entries, as pickle would."""
    if listitems:
        obj.extend(listitems)
    for key, value in dictitems or ():
        obj[key] = value
    if setter is not None:
        setter(obj, state)
    elif state is not None:
        _set_state(obj, state)


def _set_state(obj: Any, state: Any) -> None:
    """What pickle's BUILD does with `state`."""
    set_state = getattr(obj, "__setstate__", None)
    if set_state is not None:
        set_state(state)
        return
    slots = None
    if isinstance(state, tuple) and len(state) == 2:
        state, slots = state
    if state:
        vars(obj).update(state)
    for name, value in (slots or {}).items():
        setattr(obj, name, value)

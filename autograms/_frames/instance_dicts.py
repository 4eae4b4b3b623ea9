"""Instance dictionaries that something besides their object holds.

Pickle saves an object's ``__dict__`` as its state and, on load, copies that state into the new
object's own dictionary. The dictionary's identity is lost, and some programs rely on it:
objects sharing one dictionary (the Borg idiom, ``self.__dict__ = shared``), a dict subclass
that is its own attribute dictionary (``self.__dict__ = self``), a local holding
``vars(obj)``. Such a dictionary is saved as itself and put back as the new object's
``__dict__`` (`restore_shared`), so whatever shared it shares it again.

Whether anything else holds the dictionary is read from its reference count, compared with
the count of a dictionary only its object holds (measured on import, so it holds on every
version). A false alarm costs nothing: putting the saved dictionary back is what a copy
into a new one would give, plus the identity.

`restore_shared` is part of the snapshot format: keep its module and name.
"""

from __future__ import annotations

import copyreg
import sys
from typing import Any


class _Probe:
    pass


def _alone() -> int:
    probe = _Probe()
    probe.value = 1
    attributes = object.__getattribute__(probe, "__dict__")
    return sys.getrefcount(attributes)


#: ``sys.getrefcount(attributes)`` of an instance dictionary only its object and the one
#: local `attributes` hold
ALONE = _alone()


def is_shared(obj: Any) -> bool:
    """Whether `obj` (whose class has a ``__dict__``) has an instance dictionary that
    something else holds too, that is `obj` itself, or of a dict subclass."""
    try:
        attributes = object.__getattribute__(obj, "__dict__")
    except AttributeError:
        return False
    references = sys.getrefcount(attributes)  # (as an argument below it would count twice)
    return held_elsewhere(obj, attributes, references)


def held_elsewhere(obj: Any, attributes: Any, references: int) -> bool:
    """Whether `obj`'s instance dictionary `attributes`, counted `references` as `ALONE`
    counts, is held elsewhere (or is `obj` itself, or of a dict subclass)."""
    return references > ALONE or attributes is obj or type(attributes) is not dict


#: how pickle makes an object its class leaves to `object`'s reduction
_OBJECT_REBUILDS = (copyreg.__newobj__, copyreg.__newobj_ex__, copyreg._reconstructor)


def reduce_sharing(obj: Any, protocol: int) -> Any:
    """`obj`'s own reduction with its instance dictionary saved as itself, put back whole;
    NotImplemented when its class saves or restores its state in a way of its own."""
    kind = type(obj)
    if getattr(kind, "__setstate__", None) is not None or (
        getattr(kind, "__getstate__", None) is not object.__getstate__
    ):
        return NotImplemented
    reduction = obj.__reduce_ex__(protocol)
    if not isinstance(reduction, tuple) or reduction[0] not in _OBJECT_REBUILDS:
        return NotImplemented
    padded = (*reduction, None, None, None)[:5]
    if not is_plain(padded[2]):
        return NotImplemented
    return (*padded[:2], shared_state(obj, padded[2]), *padded[3:5], restore_shared)


def is_plain(state: Any) -> bool:
    """Whether `state` is what pickle's default ``BUILD`` takes: None, a dict, or a dict and
    the slots' values."""
    if isinstance(state, tuple) and len(state) == 2:
        state = state[0]
    return state is None or isinstance(state, dict)


def shared_state(obj: Any, state: Any) -> tuple[dict, dict | None]:
    """The state `restore_shared` puts back: `obj`'s instance dictionary itself and the
    values of its slots (from pickle's `state`, which leaves an empty dictionary out)."""
    slots = state[1] if isinstance(state, tuple) and len(state) == 2 else None
    return (object.__getattribute__(obj, "__dict__"), slots)


def restore_shared(obj: Any, state: tuple[dict, dict | None]) -> None:
    """Make the saved dictionary `obj`'s ``__dict__``, then set its slots as pickle would."""
    attributes, slots = state
    object.__setattr__(obj, "__dict__", attributes)
    for name, value in (slots or {}).items():
        setattr(obj, name, value)

"""Weak references, saved as what they refer to (and their callback).

A live reference is rebuilt on the object the snapshot restores: a module-level object (the
very same one, see module_objects.py) or one the snapshot holds anyway. If nothing else in the
snapshot keeps the object alive, it is not kept alive after the resume either, just as its
owner had let go of it. A dead reference comes back dead.

`ref_to` and `dead_ref` are part of the snapshot format: keep their module and names.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any


class _Gone:
    """Something to refer to for an instant, so a reference can be made dead."""


def reduce_ref(ref: weakref.ReferenceType) -> tuple:
    target = ref()
    if target is None:
        return (dead_ref, ())
    return (ref_to, (target, ref.__callback__))


def ref_to(target: Any, callback: Callable[[weakref.ReferenceType], Any] | None) -> weakref.ref:
    """A weak reference to `target`."""
    return weakref.ref(target, callback)


def dead_ref() -> weakref.ref:
    """A weak reference whose object is gone."""
    return weakref.ref(_Gone())

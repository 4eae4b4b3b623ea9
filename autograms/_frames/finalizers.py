"""Finalizers of the objects a pause copies: run once, when the program drops the object.

A pause ends the paused frames, and every turn resumes from the saved values: each object a
paused local holds (and is not module-level) dies when the frames are dropped, and the resume
gets a copy. Its ``__del__``, or a ``weakref.finalize`` watching it (a
``tempfile.TemporaryDirectory`` deletes its directory through one), would then run at every
pause, while the program still holds the object. So the duty passes to the copy, the object
the program goes on with:

* a live ``weakref.finalize`` the snapshot saves (weakrefs.py makes it again, alive, on the
  restored object) is detached from the original once the snapshot is written, before the
  unwind drops the frames;
* an object whose class defines ``__del__`` in Python that the snapshot copies is marked then
  as already finalized (the flag CPython sets once ``__del__`` has run, PEP 442), so its
  ``__del__`` does not run when it dies. An original that something outside the snapshot
  still holds (an object two steps from a module global, say) lives on without it: the copy
  is the one the program goes on with.

A snapshot is also loaded without being resumed (the dialog layer reads the state saved with
it between turns), and every load makes copies. So the copies a load makes are *quiet* until
a resume makes them the program's (`arm`): an object with ``__del__`` is made
through `quietly` (the snapshot's reduction of such an object calls it) and marked finalized;
a finalizer is taken out of ``weakref.finalize``'s registry (`made`). A load that is not
resumed is let go with all of them quiet; saving it again (`saving`) saves its finalizers
alive.

The copy's finalizer runs when the program drops it, as plain Python runs the original's. A
conversation that is never resumed never runs it.

`quietly` is part of the snapshot format: keep its module and name.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import types
import weakref
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from .errors import Reason, UnsupportedPythonError
from .memo import remember
from .versions import GC_FINALIZED_FLAG, GC_PREV_OFFSET

#: The objects and finalizers the snapshot a pause is writing copies, by id (the pause sets a
#: dict, then gives it to `hand_over`); None when no pause is writing one (saved state alone
#: hands nothing over).
NOTED: ContextVar[dict[int, Any] | None] = ContextVar("autograms_frames_noted", default=None)

_verdicts: dict[type, bool] = {}
_VERDICTS_SIZE = 4096


def has_del(kind: type) -> bool:
    """Whether instances of `kind` run a ``__del__`` written in Python when they die."""
    verdict = _verdicts.get(kind)
    if verdict is None:
        verdict = isinstance(getattr(kind, "__del__", None), types.FunctionType) and bool(
            kind.__flags__ & _HAVE_GC
        )
        remember(_verdicts, kind, verdict, _VERDICTS_SIZE)
    return verdict


_HAVE_GC = 1 << 14  # Py_TPFLAGS_HAVE_GC: only a collected type keeps the finalized flag


def note(obj: Any) -> None:
    """The snapshot being written copies `obj` (a ``weakref.finalize``, or an object whose
    class has ``__del__``)."""
    notes = NOTED.get()
    if notes is not None:
        notes[id(obj)] = obj


def hand_over(notes: dict[int, Any]) -> None:
    """The snapshot is written: the copies it holds take over the finalizers of the noted
    originals, which the unwind is about to drop. Detach their ``weakref.finalize`` objects
    and mark the objects with ``__del__`` as finalized."""
    for obj in notes.values():
        if type(obj) is weakref.finalize:
            obj.detach()
        else:
            _set_finalized(obj, True)
    notes.clear()


def quiet_reduction(obj: Any, reduction: Any) -> Any:
    """How the snapshot saves `obj`, an object with ``__del__`` it copies: its `reduction`
    (a reduce tuple, or what else reducer_override may give), made through `quietly`."""
    note(obj)
    if not isinstance(reduction, tuple):
        return reduction
    return (quietly, (reduction[0], reduction[1]), *reduction[2:])


#: Quiet copies: the objects with ``__del__`` a load made, and each finalizer it made with its
#: entry in the finalizers' registry, taken out of it.
Quiet = list[Any | tuple[weakref.finalize, Any]]


def arm(quiet: Quiet) -> None:
    """The copies are the program's now: their finalizers run when it drops them."""
    for item in quiet:
        if type(item) is tuple:
            finalizer, entry = item
            if entry.weakref() is not None:  # (one whose object is gone has nothing to do)
                _REGISTRY[finalizer] = entry
        else:
            _set_finalized(item, False)
    quiet.clear()


@contextlib.contextmanager
def saving(quiet: Quiet) -> Iterator[None]:
    """While a load's values are saved again: its finalizers alive, as they were."""
    finalizers = [item for item in quiet if type(item) is tuple]
    _REGISTRY.update(finalizers)
    try:
        yield
    finally:
        for finalizer, _ in finalizers:
            _REGISTRY.pop(finalizer, None)


#: weakref.finalize's own registry: a finalizer runs only while it has its entry there.
_REGISTRY: dict[weakref.finalize, Any] = weakref.finalize._registry  # type: ignore[attr-defined]

#: The quiet copies the snapshot being loaded makes (a load sets a list, then keeps it with
#: the values it loaded); None outside a load (then nothing is quiet).
LOADING: ContextVar[Quiet | None] = ContextVar("autograms_frames_loading", default=None)


def quietly(make: Callable[..., Any], args: tuple) -> Any:
    """``make(*args)``, kept from running ``__del__`` until the load it belongs to is resumed."""
    obj = make(*args)
    quiet = LOADING.get()
    if quiet is not None and has_del(type(obj)):
        _set_finalized(obj, True)
        quiet.append(obj)
    return obj


def made(finalizer: weakref.finalize) -> None:
    """A load made `finalizer`: keep it from running until the load is resumed."""
    quiet = LOADING.get()
    if quiet is not None:
        entry = _REGISTRY.pop(finalizer, None)
        if entry is not None:
            quiet.append((finalizer, entry))


def _set_finalized(obj: Any, finalized: bool) -> None:
    """Set or clear the flag CPython reads to run ``__del__`` at most once (PEP 442)."""
    flags = ctypes.c_size_t.from_address(id(obj) - GC_PREV_OFFSET)
    if finalized:
        flags.value |= GC_FINALIZED_FLAG
    else:
        flags.value &= ~GC_FINALIZED_FLAG


class _Probe:
    def __init__(self, ran: list[bool]) -> None:
        self.ran = ran

    def __del__(self) -> None:
        self.ran.append(True)


def _check_layout() -> None:
    """Refuse to run if marking an object finalized does not work as this module expects."""
    ran: list[bool] = []
    probe = _Probe(ran)
    if not has_del(_Probe) or gc.is_finalized(probe):
        raise _layout_error()
    _set_finalized(probe, True)
    marked = gc.is_finalized(probe)
    _set_finalized(probe, False)
    cleared = not gc.is_finalized(probe)
    _set_finalized(probe, True)
    del probe
    if not marked or not cleared or ran or not isinstance(_REGISTRY, dict):
        raise _layout_error()


def _layout_error() -> UnsupportedPythonError:
    return UnsupportedPythonError(
        "the garbage collector header of this CPython is not the one the engine knows (3.11-3.13)",
        reason=Reason.UNKNOWN_GC_LAYOUT,
    )


_check_layout()

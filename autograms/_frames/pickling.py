"""Serialization of a paused program's values: the C pickler, taught what plain pickle refuses
or would silently copy.

What a snapshot saves, and where each rule lives:

========================================  ===================================================
module-level objects (``MISSING``, a      a reference (module, name): the very same object
module list, a compiled regex, ...)       comes back (module_objects.py)
cells, nested functions, lambdas,         their contents, code (by where it is) and closure,
bound methods, code objects               so closures stay shared (closures.py)
modules                                   by name
dict / set iterators, dict views          with the dict or set they run over, so the loop
                                          sees the program's changes (live_iterators.py)
exceptions                                with cause, context, notes and a rebuilt traceback
                                          (saved_exceptions.py)
weak references                           their object and callback (weakrefs.py)
open files, sockets, locks, threads,      refused, even module-level ones (resources.py)
generators, frames
anything else                             as plain pickle saves it
========================================  ===================================================

A snapshot is two pickles in one stream, sharing one memo: the frames' values, then the state
the caller saves alongside them (the dialog layer's memory). Each is written in one pass of the
C pickler through its hooks: `reducer_override` (the types above, resources refused), the usual
copyreg dispatch and, for the frames only, `persistent_id`, called for every object, which
saves module-level lists, dicts and sets by reference too. The state, often large (a
conversation log), is spared that per-object call: module-level objects in it are saved by
reference too, except built-in containers, which pickle never asks about and which are copied.

Only when a pass fails is it done again handing the objects that neither pickle nor these rules
can save (a class defined inside a function, a property object, ...) to dill, one object at a
time, each as a small dill pickle inside the C pickle: dill never pickles a whole snapshot,
and the resource guard holds inside it too.
"""

from __future__ import annotations

import copyreg
import io
import pickle
import types
import weakref
from collections.abc import Callable
from typing import Any

from . import closures, live_iterators, module_objects, saved_exceptions, weakrefs
from .resources import ResourceRefused, is_resource

PROTOCOL = 5

#: Exact type -> reducer returning a reduce tuple (or NotImplemented).
_REDUCERS: dict[type, Callable[[Any], Any]] = {
    types.CellType: closures.reduce_cell,
    types.FunctionType: closures.reduce_function,
    types.MethodType: closures.reduce_method,
    types.CodeType: closures.reduce_code,
    types.ModuleType: module_objects.reduce_module,
    types.TracebackType: saved_exceptions.reduce_traceback,
    weakref.ReferenceType: weakrefs.reduce_ref,
    live_iterators.SET_ITERATOR: live_iterators.reduce_set_iterator,
    **dict.fromkeys(live_iterators.DICT_ITERATOR_TYPES, live_iterators.reduce_dict_iterator),
    **dict.fromkeys(live_iterators.DICT_VIEWS, live_iterators.reduce_dict_view),
}
#: Types whose instances need nothing from reducer_override (not resources, exceptions or
#: classes); a cache, bounded.
_plain_types: set[type] = set()
_PLAIN_TYPES_SIZE = 4096


def _reduce(obj: Any) -> Any:
    """reducer_override of every pass: a reduce tuple, or NotImplemented for pickle's own."""
    kind = type(obj)
    reducer = _REDUCERS.get(kind)
    if reducer is not None:
        return reducer(obj)
    if kind in _plain_types:
        return NotImplemented
    if is_resource(obj):
        raise ResourceRefused(obj)
    if isinstance(obj, BaseException):
        return saved_exceptions.reduce_exception(obj)
    if isinstance(obj, type):
        return NotImplemented if closures.is_named(obj) else _by_dill(obj)
    if len(_plain_types) >= _PLAIN_TYPES_SIZE:
        _plain_types.clear()
    _plain_types.add(kind)
    return NotImplemented


class _StatePickler(pickle.Pickler):
    """For the state saved alongside the frames: module-level objects other than built-in
    containers are saved by reference (reducer_override is not asked about those)."""

    def reducer_override(self, obj: Any) -> Any:
        where = module_objects.reference(obj)
        if where is not None:
            return (module_objects.resolve, where)
        return _reduce(obj)


class _FramesPickler(pickle.Pickler):
    """For the frames' values: every module-level object is saved by reference."""

    def persistent_id(self, obj: Any) -> tuple[str, str] | None:
        return module_objects.reference(obj)

    def reducer_override(self, obj: Any) -> Any:
        return _reduce(obj)


class _DillFallback:
    """Also hands the objects whose own reduction fails to dill, one object each."""

    def reducer_override(self, obj: Any) -> Any:
        reduction = super().reducer_override(obj)  # type: ignore[misc]
        if reduction is not NotImplemented or type(obj) in copyreg.dispatch_table:
            return reduction
        if isinstance(obj, type):
            return NotImplemented
        try:
            return obj.__reduce_ex__(PROTOCOL)
        except Exception:  # noqa: BLE001 - pickle cannot save it: dill may
            return _by_dill(obj)


class _StatePicklerWithDill(_DillFallback, _StatePickler):
    pass


class _FramesPicklerWithDill(_DillFallback, _FramesPickler):
    pass


class _SnapshotUnpickler(pickle.Unpickler):
    def persistent_load(self, pid: tuple[str, str]) -> Any:
        return module_objects.resolve(*pid)


def dump_snapshot(frames: Any, state: Any) -> bytes:
    """Serialize the frames' values, then the state saved alongside them (objects they share
    stay shared). Raises ResourceRefused, or the pickler's error if it cannot."""
    module_objects.refresh()
    try:
        return _dump_pair(_FramesPickler, _StatePickler, frames, state)
    except ResourceRefused:
        raise
    except Exception:  # noqa: BLE001 - something only dill can save: hand it just that
        return _dump_pair(_FramesPicklerWithDill, _StatePicklerWithDill, frames, state)


def _dump_pair(frames_class: type, state_class: type, frames: Any, state: Any) -> bytes:
    buffer = io.BytesIO()
    frames_pickler = frames_class(buffer, protocol=PROTOCOL)
    frames_pickler.dump(frames)
    state_pickler = state_class(buffer, protocol=PROTOCOL)
    state_pickler.memo = frames_pickler.memo  # one memo: shared objects stay shared
    state_pickler.dump(state)
    return buffer.getvalue()


def load_snapshot(blob: bytes | memoryview) -> tuple[Any, Any]:
    """The frames' values and the state `dump_snapshot` saved. Untrusted input must be
    authenticated first.

    Snapshots written before this format (one pickle of the pair, plain pickle or dill) load
    too: a dill stream names the dill functions it needs, so dill (slow to import) is only
    loaded for those.
    """
    stream = io.BytesIO(blob)
    unpickler = _SnapshotUnpickler(stream)
    frames = unpickler.load()
    if stream.tell() == len(blob):
        return frames  # the older format: one pickle of (frames, state)
    return frames, unpickler.load()


def dumps(value: Any) -> bytes:
    """Serialize one value as the frames' values are (see `dump_snapshot`)."""
    module_objects.refresh()
    try:
        return _dump(_FramesPickler, value)
    except ResourceRefused:
        raise
    except Exception:  # noqa: BLE001 - something only dill can save: hand it just that
        return _dump(_FramesPicklerWithDill, value)


def _dump(pickler_class: type[pickle.Pickler], value: Any) -> bytes:
    buffer = io.BytesIO()
    pickler_class(buffer, protocol=PROTOCOL).dump(value)
    return buffer.getvalue()


def loads(blob: bytes | memoryview) -> Any:
    """Deserialize what `dumps` produced. Untrusted input must be authenticated first."""
    return _SnapshotUnpickler(io.BytesIO(blob)).load()


def _by_dill(obj: Any) -> tuple:
    """`obj` as a dill pickle inside the C pickle (resources refused inside it too)."""
    import dill  # slow to import (tens of ms); only objects pickle cannot save need it

    class GuardedPickler(dill.Pickler):
        def persistent_id(self, inner: Any) -> None:
            if is_resource(inner):
                raise ResourceRefused(inner)
            return None

    buffer = io.BytesIO()
    GuardedPickler(buffer, protocol=PROTOCOL, recurse=True).dump(obj)
    return (dill.loads, (buffer.getvalue(),))

"""Serialization of snapshots: plain pickle first (fast, C), dill only for what pickle refuses.

dill "pickles" open files and restores them at the wrong position without complaint (engine
notes, pitfall P9), and it happily copies locks and sockets. On the dill path a
`persistent_id` guard therefore refuses operating-system resources outright. Plain pickle
already refuses them.
"""

from __future__ import annotations

import copyreg
import io
import pickle
import sys
import threading
import types
from collections import ChainMap
from collections.abc import Iterable
from typing import Any

PROTOCOL = 5

_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))
_RESOURCE_TYPES: tuple[type, ...] = (
    io.IOBase,
    threading.Thread,
    threading.Condition,
    threading.Semaphore,
    threading.Event,
    types.GeneratorType,
    types.CoroutineType,
    types.AsyncGeneratorType,
    types.FrameType,
    *_LOCK_TYPES,
)


class ResourceRefused(TypeError):
    """An operating-system resource or live execution state was found while pickling."""

    def __init__(self, value: Any) -> None:
        super().__init__(describe_resource(value))
        self.value = value


def _is_resource(value: Any) -> bool:
    if isinstance(value, _RESOURCE_TYPES):
        return True
    socket = sys.modules.get("socket")  # no socket can exist unless the module was imported
    return socket is not None and isinstance(value, socket.socket)


def describe_resource(value: Any) -> str:
    kind = type(value)
    name = f"{kind.__module__}.{kind.__qualname__}".removeprefix("builtins.")
    if isinstance(value, io.IOBase) or (_is_resource(value) and "socket" in name):
        return f"{name} is an operating-system resource (open file or socket)"
    if isinstance(value, (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)):
        return f"{name} holds a running frame, which cannot be saved"
    return f"{name} cannot be saved"


# Exception classes whose instances would not survive pickle's default (cls(*args) cannot
# rebuild them: their __init__ needs arguments .args does not hold). Appended to, never
# cleared; used as a private dispatch table, so the process's own pickling is unchanged.
_exception_reducers: dict[type, Any] = {}
_exception_classes_ok: set[type] = set()


def _reduce_exception(exc: BaseException) -> tuple:
    return (copyreg.__newobj__, (type(exc),), {**exc.__dict__, "args": exc.args})


def make_restorable(values: Iterable[Any]) -> None:
    """Make sure the exceptions among `values` unpickle: an exception a paused frame keeps
    (a handled exception, a local) must come back as itself, whatever its __init__."""
    for value in values:
        if isinstance(value, BaseException):
            kind = type(value)
            if kind not in _exception_classes_ok and kind not in _exception_reducers:
                _check_exception(value)


def _check_exception(exc: BaseException) -> None:
    try:
        pickle.loads(pickle.dumps(exc, protocol=PROTOCOL))
    except Exception:  # noqa: BLE001 - whatever goes wrong, rebuild it ourselves
        _exception_reducers[type(exc)] = _reduce_exception
    else:
        _exception_classes_ok.add(type(exc))


def dumps(value: Any) -> bytes:
    """Serialize `value`; raises the underlying error if neither pickler can."""
    try:
        if not _exception_reducers:
            return pickle.dumps(value, protocol=PROTOCOL)
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=PROTOCOL)
        pickler.dispatch_table = ChainMap(_exception_reducers, copyreg.dispatch_table)
        pickler.dump(value)
        return buffer.getvalue()
    except Exception:  # noqa: BLE001 - any pickling failure sends us to dill
        pass
    return _dill_dumps(value)


def _dill_dumps(value: Any) -> bytes:
    import dill  # slow to import (tens of ms); only snapshots plain pickle refuses need it

    class GuardedPickler(dill.Pickler):
        def persistent_id(self, obj: Any) -> None:
            if _is_resource(obj):
                raise ResourceRefused(obj)
            return None

    buffer = io.BytesIO()
    pickler = GuardedPickler(buffer, protocol=PROTOCOL, recurse=True)
    pickler.dispatch_table = ChainMap(_exception_reducers, copyreg.dispatch_table)
    pickler.dump(value)
    return buffer.getvalue()


def loads(blob: bytes) -> Any:
    """Deserialize what `dumps` produced. Untrusted input must be authenticated first.

    Plain `pickle` reads both formats: a dill stream names the dill functions it needs, so
    dill (slow to import) is only loaded for snapshots that used it.
    """
    return pickle.loads(blob)

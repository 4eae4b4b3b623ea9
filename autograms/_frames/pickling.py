"""Serialization of snapshots: plain pickle first (fast, C), dill only for what pickle refuses.

dill "pickles" open files and restores them at the wrong position without complaint (engine
notes, pitfall P9), and it happily copies locks and sockets. On the dill path a
`persistent_id` guard therefore refuses operating-system resources outright. Plain pickle
already refuses them.
"""

from __future__ import annotations

import io
import pickle
import socket
import threading
import types
from typing import Any

import dill

PROTOCOL = 5

_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))
_RESOURCE_TYPES: tuple[type, ...] = (
    io.IOBase,
    socket.socket,
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


def describe_resource(value: Any) -> str:
    kind = type(value)
    name = f"{kind.__module__}.{kind.__qualname__}".removeprefix("builtins.")
    if isinstance(value, (io.IOBase, socket.socket)):
        return f"{name} is an operating-system resource (open file or socket)"
    if isinstance(value, (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)):
        return f"{name} holds a running frame, which cannot be saved"
    return f"{name} cannot be saved"


class _GuardedPickler(dill.Pickler):
    def persistent_id(self, obj: Any) -> None:
        if isinstance(obj, _RESOURCE_TYPES):
            raise ResourceRefused(obj)
        return None


def dumps(value: Any) -> bytes:
    """Serialize `value`; raises the underlying error if neither pickler can."""
    try:
        return pickle.dumps(value, protocol=PROTOCOL)
    except Exception:  # noqa: BLE001 - any pickling failure sends us to dill
        pass
    buffer = io.BytesIO()
    _GuardedPickler(buffer, protocol=PROTOCOL, recurse=True).dump(value)
    return buffer.getvalue()


def loads(blob: bytes) -> Any:
    """Deserialize what `dumps` produced. Untrusted input must be authenticated first.

    Plain `pickle` reads both formats: a dill stream names the dill functions it needs, so
    dill (slow to import) is only loaded for snapshots that used it.
    """
    return pickle.loads(blob)

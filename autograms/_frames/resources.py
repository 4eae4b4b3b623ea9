"""Operating-system resources and running state: never saved in a snapshot.

dill "pickles" open files and restores them at the wrong position without complaint (engine
notes, pitfall P9), and it copies locks and sockets as if they were data. Every way the engine
serializes a value therefore refuses these objects outright, even when a module global binds
them: a resumed program would get something that only looks like what it had. In-memory
files (``io.StringIO``, ``io.BytesIO``) hold no resource: they are values (memory_files.py);
nor do generators not started yet or finished (generators.py).
"""

from __future__ import annotations

import inspect
import io
import sys
import threading
import types
from abc import get_cache_token
from typing import Any

from .memo import remember

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
#: File types that are values, not resources.
_MEMORY_FILE_TYPES = (io.StringIO, io.BytesIO)
_RUNNING_TYPES = (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)


class ResourceRefused(TypeError):
    """An operating-system resource or live execution state was found while pickling."""

    def __init__(self, value: Any, why: str | None = None) -> None:
        super().__init__(why or describe_resource(value))
        self.value = value


def is_resource(value: Any) -> bool:
    """Whether `value` is an operating-system resource or running state."""
    if isinstance(value, _RESOURCE_TYPES):
        return not isinstance(value, _MEMORY_FILE_TYPES)
    socket = sys.modules.get("socket")  # no socket can exist unless the module was imported
    return socket is not None and isinstance(value, socket.socket)


#: Type -> (its MRO and the ABC cache token when asked, `is_resource_type` of it): a pause's
#: walk of the saved objects asks it of each, and io.IOBase's check goes through the ABC
#: machinery. An entry holds while the class's bases and every ABC's registrations (which the
#: token counts) are unchanged.
_kinds: dict[type, tuple[tuple[type, ...], Any, bool]] = {}
_KINDS_SIZE = 4096


def is_resource_type(kind: type) -> bool:
    """Whether instances of `kind` are operating-system resources or running state."""
    known = _kinds.get(kind)
    token = get_cache_token()
    if known is not None and known[0] is kind.__mro__ and known[1] == token:
        return known[2]
    verdict = _is_resource_type(kind)
    remember(_kinds, kind, (kind.__mro__, token, verdict), _KINDS_SIZE)
    return verdict


def _is_resource_type(kind: type) -> bool:
    if issubclass(kind, _RESOURCE_TYPES):
        return not issubclass(kind, _MEMORY_FILE_TYPES)
    socket = sys.modules.get("socket")
    return socket is not None and issubclass(kind, socket.socket)


def _not_started(generator: types.GeneratorType) -> bool:
    return inspect.getgeneratorstate(generator) == inspect.GEN_CREATED


def describe_resource(value: Any) -> str:
    """Why `value` cannot be saved, naming its type."""
    kind = type(value)
    name = f"{kind.__module__}.{kind.__qualname__}".removeprefix("builtins.")
    if isinstance(value, io.IOBase) or (is_resource(value) and "socket" in name):
        return f"{name} is an operating-system resource (open file or socket)"
    if isinstance(value, types.GeneratorType) and _not_started(value):
        # refused for its closure (generators.py saves the others)
        return f"{name} not started yet reads closure variables, which cannot be saved with it"
    if isinstance(value, _RUNNING_TYPES):
        return f"{name} holds a running frame, which cannot be saved"
    return f"{name} cannot be saved"

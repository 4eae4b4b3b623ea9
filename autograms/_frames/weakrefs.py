"""Weak references, proxies, finalizers and weak containers, saved as what they refer to.

A live reference is rebuilt on the object the snapshot restores: a module-level object (the
very same one, see module_objects.py) or one the snapshot holds anyway. If nothing else in the
snapshot keeps the object alive, it is not kept alive after the resume either, just as its
owner had let go of it. A dead reference comes back dead. The same holds for:

* ``weakref.proxy`` objects: a proxy again (not the object itself), with its callback;
* ``weakref.finalize``: alive with the same object, function, arguments and ``atexit`` flag
  while it had not run, dead otherwise;
* ``WeakValueDictionary``, ``WeakKeyDictionary`` and ``WeakSet``: their live entries, held
  weakly again after the resume.

A proxy hides its object from Python code (every attribute is the object's), so the object is
read from the C reference object (``PyWeakReference.wr_object``, the same in CPython 3.11-3.13;
checked on import).

`ref_to`, `dead_ref`, `proxy_to`, `dead_proxy`, `finalizer`, `dead_finalizer` and
`weak_container` are part of the snapshot format: keep their module and names.
"""

from __future__ import annotations

import ctypes
import gc
import weakref
from collections.abc import Callable
from typing import Any

from . import finalizers
from .errors import Reason, UnsupportedPythonError

_WR_OBJECT = 2 * ctypes.sizeof(ctypes.c_ssize_t)  # after PyObject_HEAD
PROXY_TYPES = (weakref.ProxyType, weakref.CallableProxyType)
WEAK_CONTAINERS = (weakref.WeakValueDictionary, weakref.WeakKeyDictionary, weakref.WeakSet)


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


def reduce_proxy(proxy: Any) -> tuple:
    target = _proxied(proxy)
    if target is None:
        return (dead_proxy, ())
    callbacks = gc.get_referents(proxy)  # a proxy's only strong reference is its callback
    return (proxy_to, (target, callbacks[0] if callbacks else None))


def _proxied(proxy: Any) -> Any:
    """The object `proxy` refers to, or None if it is gone."""
    address = ctypes.c_void_p.from_address(id(proxy) + _WR_OBJECT).value
    return ctypes.cast(address, ctypes.py_object).value if address else None


def proxy_to(target: Any, callback: Callable[[Any], Any] | None) -> Any:
    """A weak proxy for `target`."""
    return weakref.proxy(target, callback)


def dead_proxy() -> Any:
    """A weak proxy whose object is gone."""
    return weakref.proxy(_Gone())


def reduce_finalizer(finalizer: weakref.finalize) -> tuple:
    details = finalizer.peek()
    if details is None:
        return (dead_finalizer, ())
    finalizers.note(finalizer)  # the restored one takes over (see finalizers.py)
    return (finalizer_for, (*details, finalizer.atexit))


def finalizer_for(
    target: Any, function: Callable[..., Any], args: tuple, kwargs: dict, atexit: bool
) -> weakref.finalize:
    """A live finalizer calling `function(*args, **kwargs)` when `target` is collected."""
    finalizer = weakref.finalize(target, function, *args, **kwargs)
    finalizer.atexit = atexit
    finalizers.made(finalizer)  # quiet until the load is resumed
    return finalizer


def dead_finalizer() -> weakref.finalize:
    """A finalizer that has already run (or was detached)."""
    finalizer = weakref.finalize(_Gone(), _nothing)
    finalizer.detach()
    return finalizer


def _nothing() -> None:
    return None


def reduce_weak_container(container: Any) -> tuple:
    """A weak dict or set as its type and live entries (each held weakly again)."""
    kind = type(container)
    entries = list(container) if kind is weakref.WeakSet else dict(container.items())
    return (weak_container, (kind, entries))


def weak_container(kind: type, entries: Any) -> Any:
    """A `kind` (WeakValueDictionary, WeakKeyDictionary or WeakSet) holding `entries`."""
    return kind(entries)


def _check_layout() -> None:
    """Refuse to run if the C weak reference layout is not the one this module reads."""
    target = _Gone()
    proxy = weakref.proxy(target)
    if _proxied(proxy) is not target:
        raise UnsupportedPythonError(
            "the weak reference layout of this CPython is not the one the engine knows (3.11-3.13)",
            reason=Reason.UNKNOWN_WEAKREF_LAYOUT,
        )
    del target
    if _proxied(proxy) is not None:
        raise UnsupportedPythonError(
            "a dead weak proxy of this CPython does not look dead to the engine",
            reason=Reason.UNKNOWN_WEAKREF_LAYOUT,
        )


_check_layout()

"""Functions that instrumented bytecode calls. Each receives what it needs on the stack and
finds its calling frame with ``sys._getframe(1)``; none of them is user-facing.
"""

from __future__ import annotations

import inspect
import sys
import weakref
from contextvars import ContextVar
from typing import Any

from .errors import JumpSignal, PauseSignal
from .registry import lookup


class _Missing:
    """Marks a local that was unbound when the frame paused."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<unbound>"


MISSING = _Missing()

_accepts_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def bypass(signal: BaseException) -> bool:
    """At a user handler's entry: should this engine signal skip the handler?

    A pause skips every handler. A jump skips the handlers of its target frame; in frames it
    leaves behind (RETURNTO) the handlers run, so `finally` and `__exit__` do their work.
    """
    return type(signal) is PauseSignal or signal.frame is sys._getframe(1)


def jumps_within(signal: BaseException, sites: frozenset[int]) -> bool:
    """At the cleanup of an ``except ... as name`` block: is this a GOTO to one of the block's
    own labelled calls? Then the name stays bound, as in a loop written inside the block."""
    return type(signal) is JumpSignal and signal.frame is sys._getframe(1) and signal.site in sites


def catch(exc: BaseException) -> int:
    """For an exception leaving an instrumented frame: the call site to jump to, or -1.

    A GOTO/RETURNTO aimed at the calling frame becomes a jump to the labelled call. Any other
    exception propagates; the frame's leave hook sees it unless the frame is only pausing.
    """
    frame = sys._getframe(1)
    if type(exc) is JumpSignal and exc.frame is frame:
        return exc.site
    if type(exc) is not PauseSignal:
        info = lookup(frame.f_code)
        if info is not None and info.hooks is not None:
            info.hooks.leave(exc)
    return -1


def accepts_address(function: Any) -> bool:
    """Whether `function` can take an ``ADDRESS=`` keyword argument."""
    key = getattr(function, "__func__", function)
    try:
        return _accepts_cache[key]
    except (KeyError, TypeError):
        pass
    result = _signature_accepts_address(function)
    try:
        _accepts_cache[key] = result
    except TypeError:
        pass  # not weak-referenceable (a builtin); ask again next time
    return result


def _signature_accepts_address(function: Any) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    for parameter in parameters:
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            return True
        if parameter.name == "ADDRESS" and parameter.kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        ):
            return True
    return False


#: The resume context of the twin about to be entered (see `restore`).
resuming: ContextVar[Any] = ContextVar("autograms_frames_resuming", default=None)


def restore() -> tuple:
    """In a twin's resume entry: the values it stores into its locals, then what continues
    its paused call, then its site index.

    The resume hands each twin its context through `resuming`, set just before the twin is
    called (by the driver for the outermost frame, here for the next one). The context lets
    go of the values: from now on the frame alone keeps them alive, as it would have without
    the pause.
    """
    context = resuming.get()
    if context is None:
        raise RuntimeError("a resume twin was called outside a resume")
    resuming.set(context.child)
    values = context.restore_values
    context.restore_values = None
    for signal in context.jumps:  # a RETURNTO in flight to this frame (jumps.reduce_jump)
        signal.frame = sys._getframe(1)
    return values


def construct(initialise: Any, instance: Any) -> Any:
    """Continue a constructor call paused in its ``__init__`` (the twin `initialise`): like
    ``K()``, give the caller the instance, after checking what __init__ returned."""
    result = initialise()
    if result is not None:
        raise TypeError(f"__init__() should return None, not '{type(result).__name__}'")
    return instance


def unknown_site(site: int) -> None:
    raise AssertionError(f"resume reached unknown call site {site}")

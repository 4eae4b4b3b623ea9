"""The decorators that make functions part of a program.

* ``@autograms_function(conv_scope="global")`` -- the function can pause (``reply``), be
  resumed in another process and be jumped into (GOTO/RETURNTO); each call has a
  conversation scope, opened only if the call records into the conversation or pauses
  (``_scopes``), so a call that does neither costs about what a plain call costs. It stays the
  same function object (methods bind as usual).
* ``@autograms_node`` -- a helper called with ``ADDRESS=...`` logs that node; a pause inside
  it resumes inside it when the function can be instrumented, else after the node's call.
* ``@autograms_external()`` -- a function that runs in the conversation's memory but may not
  pause or jump; decorated functions it calls run normally.
"""

from __future__ import annotations

import functools
import inspect
import sys
import warnings
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, TypeVar

from . import _call_modes, _frames
from ._call_modes import ENTRY_GATE
from ._context import get_memory
from ._frames.runtime import accepts_address
from ._globals import routes_for
from ._state import SCOPES
from ._turns import AutogramsReturn, call_root, mark_chatbot

F = TypeVar("F", bound=Callable[..., Any])


def _enter(scope: str, function: Callable[..., Any], gate: _frames.Gate) -> bool:
    """Run while a memory outside a turn under the engine is current (`ENTRY_GATE`): open
    the call's conversation scope; True diverts a root call (see `_root_call`)."""
    memory = get_memory()
    if memory is None or memory.scopes.lazy:
        return False
    if memory.takes_root_call(function):
        return True
    memory.open_scope(scope, function.__qualname__, sys._getframe(1), gate)
    return False


def _root_call(function: Callable[..., Any]) -> AutogramsReturn:
    """A decorated function called while a session is current but no turn runs (AutoGRAMS'
    ``with use_memory(memory): chatbot()``): one turn of that session, with this function as
    its program. Called from the function's own frame, whose locals are its arguments."""
    args, kwargs = _call_arguments(function, sys._getframe(1).f_locals)
    return call_root(get_memory(), function, args, kwargs)


def _call_arguments(
    function: Callable[..., Any], values: Mapping[str, Any]
) -> tuple[tuple, dict[str, Any]]:
    args: list = []
    kwargs: dict[str, Any] = {}
    for parameter in inspect.signature(function).parameters.values():
        value = values[parameter.name]
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            args.append(value)
        elif parameter.kind is parameter.VAR_POSITIONAL:
            args.extend(value)
        elif parameter.kind is parameter.KEYWORD_ONLY:
            kwargs[parameter.name] = value
        else:
            kwargs.update(value)
    return tuple(args), kwargs


def _leave(exc: BaseException | None) -> None:
    """Run by a frame whose function has a scope open (its gate is open) as it returns, or on
    its behalf by the engine as an exception leaves it."""
    memory = get_memory()
    if memory is not None:
        memory.leave_scope(sys._getframe(1 if exc is None else 2))


def _resumed(gate: _frames.Gate) -> None:
    memory = get_memory()
    if memory is not None:
        memory.resumed_scope(sys._getframe(1), gate)


def autograms_function(
    conv_scope: str = "global",
    globals_to_declare: dict[str, Any] | None = None,
    recompile_at_restart: bool = True,
) -> Callable[[F], F]:
    """Make a function resumable: it may pause at ``reply`` and continue in any process.

    `conv_scope` says what the call's conversation turns become when it returns: "global"
    keeps them in the caller's conversation, "normal" drops them, "local" also hides the
    caller's turns from it. `globals_to_declare` and `recompile_at_restart` are accepted for
    AutoGRAMS compatibility and have no effect (nothing is recompiled on a resume).
    """
    if conv_scope not in SCOPES:
        raise ValueError(f"conv_scope must be one of {', '.join(SCOPES)}, not {conv_scope!r}")
    if globals_to_declare:
        warnings.warn(
            "globals_to_declare is not needed: module globals work as in plain Python; use "
            "set_persistent_globals() for per-session ones",
            DeprecationWarning,
            stacklevel=2,
        )

    def decorate(function: F) -> F:
        inner = getattr(function, "__func__", function)  # staticmethod / classmethod objects
        gate = _frames.Gate()  # open while a frame of this function has a scope open
        hooks = _frames.FrameHooks(
            enter=partial(_enter, conv_scope, inner, gate),
            leave=_leave,
            divert=partial(_root_call, inner),
            enter_gate=ENTRY_GATE,
            leave_gate=gate,
            resumed=partial(_resumed, gate),
        )
        _frames.instrument(inner, hooks, routes_for(inner.__module__))
        inner.__autograms_scope__ = conv_scope
        _call_modes.add(inner)
        return function

    return decorate


def autograms_chatbot(
    conv_scope: str = "global", globals_to_declare: dict[str, Any] | None = None
) -> Callable[[F], F]:
    """AutoGRAMS' root-function decorator: ``autograms_function`` for a root that takes a
    ``user_reply`` parameter (a TypeError if it does not), which holds the user's current
    message on every turn -- when the program starts and each time it continues."""
    as_function = autograms_function(conv_scope, globals_to_declare)

    def decorate(function: F) -> F:
        mark_chatbot(getattr(function, "__func__", function))
        return as_function(function)

    return decorate


def is_autograms_function(function: Any) -> bool:
    """Whether `function` was decorated with ``@autograms_function``."""
    return hasattr(getattr(function, "__func__", function), "__autograms_scope__")


def autograms_node(function: F) -> F:
    """A node: called with ``ADDRESS="label"``, it logs that node before running.

    The function receives ``ADDRESS`` only if its signature takes it (or ``**kwargs``).
    """
    try:
        _frames.instrument(function, routes=routes_for(function.__module__))
    except _frames.ContinuationError:
        pass  # not resumable inside (a closure, a generator ...): pauses resume after the call
    takes_address = accepts_address(function)

    @functools.wraps(function)
    def node(*args: Any, **kwargs: Any) -> Any:
        address = kwargs.get("ADDRESS")
        memory = get_memory() if address is not None else None
        if address is not None:
            if memory is not None:  # a reply the node makes names it as its last_node
                memory.set_node(address, replying=True)
            if not takes_address:
                del kwargs["ADDRESS"]
        result = function(*args, **kwargs)
        if memory is not None:  # (a pause skips this: its reply consumed the node already)
            memory.leave_node()
        return result

    node.__signature__ = _with_address(function)
    _frames.mark_transparent(node)
    return node  # type: ignore[return-value]


def _with_address(function: Callable[..., Any]) -> inspect.Signature:
    """`function`'s signature with a keyword-only ADDRESS, so callers may always pass one."""
    signature = inspect.signature(function)
    if "ADDRESS" in signature.parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values()
    ):
        return signature
    address = inspect.Parameter("ADDRESS", inspect.Parameter.KEYWORD_ONLY, default=None)
    parameters = list(signature.parameters.values())
    keyword_index = next(
        (i for i, p in enumerate(parameters) if p.kind is inspect.Parameter.VAR_KEYWORD),
        len(parameters),
    )
    parameters.insert(keyword_index, address)
    return signature.replace(parameters=parameters)


def autograms_external() -> Callable[[F], F]:
    """Run the function in the conversation's memory (a "normal" scope: its model calls see
    the conversation, its own turns are dropped) without letting it pause or jump."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def external(*args: Any, **kwargs: Any) -> Any:
            memory = get_memory()
            if memory is None:
                return function(*args, **kwargs)
            reason = f"inside @autograms_external function {function.__qualname__}"
            memory.push_scope("normal", function.__qualname__)
            try:
                with memory.pausing_forbidden(reason):
                    return function(*args, **kwargs)
            finally:
                memory.pop_scope()

        return external  # type: ignore[return-value]

    return decorate

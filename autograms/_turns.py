"""One turn of a program on a session: start or continue it, and what it hands back.

`Autogram.reply` runs a turn here, and so does a root function called directly while a
session is current (AutoGRAMS' ``with use_memory(memory): chatbot()``): the decorated
function's entry hook diverts such a call to `call_root`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._record import Record
from . import _frames
from ._control import ExitPayload, ReplyPayload
from ._errors import ConversationError
from .memory import MemoryObject
from .session import program_name

if TYPE_CHECKING:
    from .models.records import ChatModel

#: the parameter of an ``@autograms_chatbot`` root that receives the user's message
USER_REPLY = "user_reply"


class TurnResult(Record):
    """How a turn ended."""

    __slots__ = ("text", "data", "kind", "value")

    #: the reply (or EXIT's ``"reply"``), None when the program returned or exited silently
    text: str | None
    #: the reply's ``data``, or what EXIT was given
    data: Any
    #: "reply", "exit" (the program is paused) or "return" (it returned)
    kind: str
    #: what the root function returned, when it did
    value: Any

    def __init__(self, text: str | None, data: Any, kind: str, value: Any = None) -> None:
        self.text = text
        self.data = data
        self.kind = kind
        self.value = value


#: `AutogramsReturn`'s default data: a new empty dict each time.
_NO_DATA = object()


class AutogramsReturn(Record):
    """What calling a root function directly returns (AutoGRAMS' shape)."""

    __slots__ = ("func_return", "memory", "data")
    __hash__ = None  # type: ignore[assignment]  # a mutable value

    #: what the function returned (None while it is paused)
    func_return: Any
    #: the session, changed by the turn
    memory: MemoryObject
    #: ``{"reply": text}`` after a reply, ``{"reply": None}`` after a return, EXIT's data
    data: Any

    def __init__(self, func_return: Any, memory: MemoryObject, data: Any = _NO_DATA) -> None:
        self.func_return = func_return
        self.memory = memory
        self.data = {} if data is _NO_DATA else data

    @property
    def reply(self) -> str | None:
        """The reply (None when the function returned), as AutoGRAMS' docs describe it."""
        return self.data.get("reply") if isinstance(self.data, dict) else None


def run_turn(
    memory: MemoryObject,
    root: Callable[..., Any],
    message: str | None,
    *,
    args: tuple = (),
    kwargs: dict[str, Any] | None = None,
    model: ChatModel | None = None,
    model_source: Callable[[], ChatModel] | None = None,
    supervisor_mode: bool | None = None,
) -> TurnResult:
    """Start `root` (with `args`/`kwargs`) or continue the paused program, after recording
    the user's `message` (None: none this turn; the paused call then returns the last one).
    The turn's model: `model`, else the one `model_source` gives when first called."""
    kwargs = kwargs or {}
    with memory.turn(
        model, model_source=model_source, supervisor_mode=supervisor_mode, driven=True
    ) as turn:
        work = turn.memory
        if message is not None:
            work.add_user_reply(message)
        if turn.paused:
            if is_chatbot(root):
                _override_root_locals(turn.loaded, _bound_arguments(root, args, kwargs, message))
            value = message if message is not None else work.extract_last_user_reply() or ""
            outcome = _frames.resume(turn.loaded, value, attachment=turn.saved_state)
        else:
            call_kwargs = _with_user_reply(root, message, args, kwargs)
            outcome = _frames.run(root, args, call_kwargs, attachment=turn.saved_state)
        if isinstance(outcome, _frames.Finished):
            work.program_returned()
        turn.finish(outcome)
    return _result(outcome)


def _result(outcome: _frames.Outcome) -> TurnResult:
    if isinstance(outcome, _frames.Finished):
        return TurnResult(None, None, "return", outcome.value)
    payload = outcome.payload
    if isinstance(payload, ReplyPayload):
        return TurnResult(payload.text, payload.data, "reply")
    if isinstance(payload, ExitPayload):
        return TurnResult(payload.text, payload.data, "exit")
    raise ConversationError(f"the program paused with an unknown payload {payload!r}")


def call_root(
    memory: MemoryObject,
    function: Callable[..., Any],
    args: tuple,
    kwargs: dict[str, Any],
    *,
    message: str | None = None,
    model: ChatModel | None = None,
    model_source: Callable[[], ChatModel] | None = None,
) -> AutogramsReturn:
    """A decorated function called directly while `memory` is current and no turn runs, or
    through ``Autogram.apply``: one turn of the session with `function` as its program
    (AutoGRAMS' root call), after recording the user's `message` if given (by default an
    ``@autograms_chatbot`` root's ``user_reply`` argument)."""
    memory = memory.resolve()
    if memory.is_paused and memory.root_function is not None:
        paused, called = program_name(memory.root_function), program_name(function)
        if paused != called:
            raise ConversationError(
                f"{called} was called as the program of a session paused in {paused}; call "
                f"{paused} to continue it",
                function=called,
            )
    if memory.root_function is None:
        memory.root_function = function
    if message is None and is_chatbot(function):
        message = _bound_arguments(function, args, kwargs, None).get(USER_REPLY)
    result = run_turn(
        memory,
        function,
        message,
        args=args,
        kwargs=kwargs,
        model=model,
        model_source=model_source,
    )
    memory.after_root_turn()
    memory.reply_data = result.data
    if result.kind == "reply":  # reply(text, data={...}): the data with the reply in it
        data = result.data if isinstance(result.data, dict) else {}
        return AutogramsReturn(None, memory, {**data, "reply": result.text})
    if result.kind == "exit":
        return AutogramsReturn(None, memory, result.data)
    return AutogramsReturn(result.value, memory, {"reply": None})


# -- @autograms_chatbot roots -------------------------------------------------------------------


def mark_chatbot(function: Callable[..., Any]) -> None:
    """Make `function` an ``@autograms_chatbot`` root: it must take ``user_reply``, which
    holds the user's current message on every turn."""
    if USER_REPLY not in inspect.signature(function).parameters:
        raise TypeError(
            f"{function.__qualname__} is decorated with @autograms_chatbot and must have a "
            f"parameter named {USER_REPLY!r}"
        )
    function.__autograms_chatbot__ = True


def is_chatbot(function: Any) -> bool:
    return getattr(getattr(function, "__func__", function), "__autograms_chatbot__", False)


def _with_user_reply(
    root: Callable[..., Any], message: str | None, args: tuple, kwargs: dict[str, Any]
) -> dict[str, Any]:
    """A root that takes ``user_reply`` receives the message when it starts (unless the
    call gives it)."""
    signature = inspect.signature(root)
    if USER_REPLY not in signature.parameters or USER_REPLY in kwargs:
        return kwargs
    try:
        if USER_REPLY in signature.bind_partial(*args, **kwargs).arguments:
            return kwargs
    except TypeError:
        return kwargs  # the call itself will say what is wrong
    return {**kwargs, USER_REPLY: message or ""}


def _bound_arguments(
    function: Callable[..., Any], args: tuple, kwargs: dict[str, Any], message: str | None
) -> dict[str, Any]:
    signature = inspect.signature(function)
    if message is not None:
        kwargs = _with_user_reply(function, message, args, kwargs)
    try:
        return dict(signature.bind_partial(*args, **kwargs).arguments)
    except TypeError:
        return {}


def _override_root_locals(loaded: _frames.Loaded, values: dict[str, Any]) -> None:
    """On resume, an ``@autograms_chatbot`` root's arguments take the values of this call
    (AutoGRAMS gives the paused root the new ``user_reply``)."""
    saved = loaded.frames[0].values
    for name, value in values.items():
        if name in saved:  # a parameter captured by a closure lives in a cell: left as it is
            saved[name] = value

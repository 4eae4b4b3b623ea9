"""One call of a model helper: its session, the model that answers it, the keywords its
model call takes, and what its log entries carry.

Keyword arguments follow AutoGRAMS:

* per-call model settings (``model=``, ``temperature=``, ``max_tokens=``, ``max_turns=``,
  ``multi_modal_inputs=`` ...) go to the model call;
* ``supervisor=`` and ``supervisor_kwargs=`` configure supervision (`autograms.supervisors`); any
  other keyword of a call given a supervisor is the supervisor's, never sent to the model;
* AutoGRAMS keywords that only steered its own client (``model_type=``, ``handle_errors=``,
  ``handle_refusal=``, ``ignore_config=``) are accepted and have no effect;
* any other keyword is refused with a TypeError naming the helper -- except in test mode,
  where AutoGRAMS ignored it too: there it is ignored, with a warning at the bot's line.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ._position import code_position, user_frame
from .supervisors import SUPERVISOR_KEYWORDS, SupervisedModel, default_answer, run_supervisor
from .supervisors import supervisor_name
from ._errors import SupervisorError
from .config import AutogramConfig
from .memory import MemoryObject, require_memory
from .models.errors import DecisionError, StructuredOutputError
from .models.options import CALL_OPTIONS, REQUEST_PARAMS
from .models.records import ChatModel, ModelCall, Result

T = TypeVar("T")

#: keywords a model call takes
MODEL_KEYWORDS = REQUEST_PARAMS | CALL_OPTIONS
#: AutoGRAMS keywords that steered its own client; accepted, no effect here
INERT_KEYWORDS = frozenset({"model_type", "handle_errors", "handle_refusal", "ignore_config"})


@dataclass
class HelperCall:
    """One helper call: its session, the model that answers it, the keywords for that model,
    and what its log entries carry."""

    memory: MemoryObject
    model: ChatModel
    helper: str
    options: dict[str, Any]
    supervisor_info: dict[str, Any] | None = None
    #: the name of the supervisor whose output stands in for the model's answer, if any
    supervisor: str | None = None

    @property
    def config(self) -> AutogramConfig:
        return self.memory.config

    def value(self, result: Result[T]) -> T:
        """`result`'s value, its model calls logged."""
        self.log(result.calls)
        return result.value

    @contextlib.contextmanager
    def reading_answer(self) -> Iterator[None]:
        """Where the answer is parsed: a supervisor's output that cannot be read as this
        helper's answer is the supervisor's fault, and the error names it."""
        try:
            yield
        except (DecisionError, StructuredOutputError) as exc:
            if self.supervisor is None:
                raise
            raise SupervisorError(
                f"supervisor {self.supervisor} of {self.helper}() gave an answer "
                f"{self.helper}() cannot use: {exc.reason}; it answered {exc.output[:200]!r}",
                helper=self.helper,
                output=exc.output,
            ) from exc

    def log(self, calls: Sequence[ModelCall]) -> None:
        """Log model calls of this helper call, with the bot's position that made it."""
        self.memory.log_model_calls(
            tuple(calls),
            self.helper,
            code_position=code_position(),
            supervisor_info=self.supervisor_info,
        )


def start_call(
    helper: str,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    answer: Callable[[Any], str] | None = None,
    *,
    memory: MemoryObject | None = None,
    supervisable: bool = True,
    named: Mapping[str, Any] | None = None,
) -> HelperCall:
    """Begin a call of `helper` with arguments `args` and keywords `kwargs`: sort the
    keywords, and in supervisor mode run the supervisor it was given, whose output (turned
    into answer text by `answer`, default `default_answer`) replaces the model's answer.
    The supervisor is called with `args` and the keywords as the helper was (AutoGRAMS'
    ``{**kwargs, **supervisor_kwargs}``); `named` are the helper's own parameters the caller
    gave by keyword, which it receives too."""
    memory = memory or require_memory(f"{helper}()")
    given = dict(kwargs)
    supervisor = given.pop("supervisor", None)
    supervisor_kwargs = given.pop("supervisor_kwargs", None) or {}
    options = model_options(helper, given, memory.test_mode, supervised=supervisor is not None)
    call = HelperCall(memory, memory.model, helper, options)
    if supervisor is not None and supervisable and memory.supervisor_mode:
        keywords = {**(named or {}), **given, **supervisor_kwargs}
        verdict = run_supervisor(memory, helper, supervisor, args, keywords)
        output = verdict.output
        encode = answer or functools.partial(default_answer, helper)
        text = output if isinstance(output, str) else encode(output)
        call.model = SupervisedModel(text, memory.model)
        call.supervisor_info = verdict.info()
        call.supervisor = supervisor_name(supervisor)
    return call


def model_options(
    helper: str, kwargs: Mapping[str, Any], test_mode: bool, *, supervised: bool
) -> dict[str, Any]:
    """The keywords of a helper call that go to its model call (see the module docstring)."""
    options: dict[str, Any] = {}
    for name, value in kwargs.items():
        if name in MODEL_KEYWORDS:
            options[name] = value
        elif name in INERT_KEYWORDS or name in SUPERVISOR_KEYWORDS or supervised:
            continue
        elif test_mode:
            _warn_ignored(helper, name)
        else:
            raise TypeError(
                f"{helper}() got an unexpected keyword argument {name!r}: the model call takes "
                f"{sorted(CALL_OPTIONS)} and the request parameters {sorted(REQUEST_PARAMS)}; "
                "keywords for a supervisor need supervisor= (or supervisor_kwargs=)"
            )
    return options


def _warn_ignored(helper: str, name: str) -> None:
    message = (
        f"{helper}() ignores keyword argument {name!r} in test mode; a real model call refuses it"
    )
    frame = user_frame()
    if frame is None:
        warnings.warn(message, UserWarning, stacklevel=2)
        return
    warnings.warn_explicit(
        message,
        UserWarning,
        frame.f_code.co_filename,
        frame.f_lineno,
        module=frame.f_globals.get("__name__"),
        registry=frame.f_globals.setdefault("__warningregistry__", {}),
    )


def with_model(kwargs: Mapping[str, Any], model: str | None) -> dict[str, Any]:
    """`kwargs` plus ``model=`` when a helper took the model name as a parameter of its own."""
    return {**kwargs, "model": model} if model else dict(kwargs)

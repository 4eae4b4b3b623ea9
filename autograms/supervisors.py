"""Supervisors: in supervisor mode, a helper's answer can come from a function of the user's
instead of the model (simulations whose transcripts train or distil a model). The AutoGRAMS
import path ``autograms.supervisors``.

With ``Autogram(..., supervisor_mode=True)``, a helper call such as
``yes_or_no("Is the user ready?", supervisor=judge, supervisor_kwargs={"strict": True})``

1. calls ``judge("Is the user ready?", strict=True)`` (with the helper's other keywords too) in
   a "normal" conversation scope, so whatever it thinks is forgotten afterwards; it may call
   helpers but not reply, EXIT, GOTO or RETURNTO;
2. turns what it returns -- the helper's kind of value, the raw answer text, or a
   `SupervisorReturn` holding either -- into the text the model would have answered (an
   output the helper cannot read as its answer raises `SupervisorError` naming the supervisor);
3. runs the helper as usual with that text standing in for the model's answer: parsing,
   conversation records and the log entry are those of a real call, and the log entry carries
   ``supervisor_info`` (score, rejected output, tags), the training signal.

Without supervisor mode the supervisor is never called, and keywords meant for it (any the
model call does not take) are not sent to the model.

    def formal(instruction):
        return SupervisorReturn(silent_thought(f"{instruction} Be formal."),
                                rejected_output=silent_thought(f"{instruction} Be casual."))

    reply_instruction("Greet the user.", supervisor=formal)
"""

from __future__ import annotations

import decimal
import functools
import json
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._errors import SupervisorError
from .memory import MemoryObject, get_memory
from .models.records import ChatModel, ChatRequest, ChatResult, EmbeddingRequest, EmbeddingResult
from .models.records import ModelCall
from .models.usage import request_summary

#: keywords of a supervisable call that configure its supervision
SUPERVISOR_KEYWORDS = ("supervisor", "supervisor_kwargs")
#: ``function_type`` values of `supervisable` (AutoGRAMS' names; "binary" and "boolean" agree)
FUNCTION_TYPES = ("reply", "generation", "binary", "boolean", "selection", "json")


@dataclass
class SupervisorReturn:
    """What a supervisor may return: the output standing in for the model's, and what a
    training set needs to know about it."""

    #: the helper's value (a bool for yes_or_no, an index for multiple_choice, ...) or the
    #: raw answer text
    output: Any
    #: a quality score of the output (a Decimal, Fraction or numpy float is kept as the
    #: float the log can save)
    score: float | None = None
    #: a worse output, for preference training (DPO)
    rejected_output: Any = None
    #: labels for filtering training data
    tags: list[str] | None = field(default=None)

    def __post_init__(self) -> None:
        self.tags = list(self.tags or [])
        score = self.score
        if isinstance(score, numbers.Real | decimal.Decimal) and not isinstance(score, int):
            self.score = float(score)

    def info(self) -> dict[str, Any]:
        """The ``supervisor_info`` of the log entry."""
        return {"score": self.score, "rejected_output": self.rejected_output, "tags": self.tags}


def run_supervisor(
    memory: MemoryObject,
    helper: str,
    supervisor: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
) -> SupervisorReturn:
    """Call ``supervisor(*args, **kwargs)`` in a "normal" scope where pausing is refused."""
    name = supervisor_name(supervisor)
    memory.push_scope("normal", name)
    try:
        with memory.pausing_forbidden(f"inside supervisor {name} of {helper}()"):
            output = supervisor(*args, **kwargs)
    finally:
        memory.pop_scope()
    if output is None:
        raise SupervisorError(
            f"supervisor {name} of {helper}() returned None; return the output (or a "
            "SupervisorReturn) that stands in for the model's",
            helper=helper,
        )
    return output if isinstance(output, SupervisorReturn) else SupervisorReturn(output)


def supervisor_name(supervisor: Callable[..., Any]) -> str:
    """How errors name `supervisor`: its qualified name."""
    return getattr(supervisor, "__qualname__", repr(supervisor))


def default_answer(helper: str, output: Any) -> str:
    """The raw model answer a supervisor's `output` stands for: text as it is, a bool as
    "Yes"/"No", anything else as JSON."""
    if isinstance(output, str):
        return output
    if isinstance(output, bool):
        return "Yes" if output else "No"
    try:
        return json.dumps(_plain(output))
    except TypeError as exc:
        raise SupervisorError(
            f"the supervisor of {helper}() returned {type(output).__name__}, which is neither "
            f"text nor JSON: {exc}",
            helper=helper,
            output=output,
        ) from exc


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)  # a pydantic model instance
    return dump() if callable(dump) else value


class SupervisedModel:
    """A `ChatModel` that answers every chat request with the supervisor's answer (and
    passes embeddings on to the real model)."""

    def __init__(self, answer: str, model: ChatModel) -> None:
        self.answer = answer
        self.model = model

    def complete(self, request: ChatRequest) -> ChatResult:
        call = ModelCall(
            kind=request.kind,
            model="supervisor",
            endpoint="supervisor",
            prompt_tokens=0,
            completion_tokens=0,
            request=request_summary(request),
            output=self.answer,
            sent=request,
        )
        return ChatResult(text=self.answer, call=call)

    def embed(self, request: EmbeddingRequest) -> EmbeddingResult:
        return self.model.embed(request)


def supervisable(function_type: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Let a function of your own be supervised the way AutoGRAMS' helpers were: it accepts
    ``supervisor=`` and ``supervisor_kwargs=``; in supervisor mode the supervisor runs first
    and the function is called with ``_forced_output=`` (the answer text) and
    ``_supervisor_info=``. The library's own helpers are supervisable already."""
    if function_type not in FUNCTION_TYPES:
        raise ValueError(f"function_type must be one of {FUNCTION_TYPES}, not {function_type!r}")

    def decorate(base: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(base)
        def supervised(*args: Any, **kwargs: Any) -> Any:
            supervisor = kwargs.pop("supervisor", None)
            supervisor_kwargs = kwargs.pop("supervisor_kwargs", None) or {}
            memory = get_memory()
            if supervisor is None or memory is None or not memory.supervisor_mode:
                return base(*args, **kwargs)
            helper = base.__qualname__
            verdict = run_supervisor(memory, helper, supervisor, args, kwargs | supervisor_kwargs)
            output = verdict.output
            if function_type == "selection" and isinstance(output, int):
                output = _chosen(helper, output, args, kwargs)
            answer = default_answer(helper, output)
            return base(*args, **kwargs, _forced_output=answer, _supervisor_info=verdict.info())

        return supervised

    return decorate


def _chosen(helper: str, index: int, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
    """The choice text a supervisor's index names (``choices=`` or the second argument)."""
    choices = kwargs.get("choices", args[1] if len(args) > 1 else None)
    if not isinstance(choices, Sequence) or not 0 <= index < len(choices):
        raise SupervisorError(
            f"the supervisor of {helper}() returned index {index}, which names none of the "
            f"choices {choices!r}",
            helper=helper,
            output=index,
        )
    return str(choices[index])


__all__ = ["SupervisorError", "SupervisorReturn", "supervisable"]

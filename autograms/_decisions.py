"""Decision helpers: yes_or_no, multiple_choice, their logit form, and TRANSITION's choice.

Two modes (``AutogramConfig.classifier_mode``):

- ``json`` (default): a structured answer ``{"answer": <label>}`` whose label is constrained
  to the offered ones; works with every server form, including schema-in-prompt;
- ``logit``: one output token with ``logit_bias`` +100 on each label's token; needs a
  server with logit_bias and a model tiktoken knows (OpenAI models).

An answer that names no offered label gets one repair request; if that fails too,
`DecisionError` is raised. There is no silent "first choice" fallback.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ._prompts import Conversation, assemble, choice_question, yes_no_question
from .config import AutogramConfig
from .models.errors import DecisionError, ModelConfigError
from .models.options import split_kwargs
from .models.records import ChatModel, ChatRequest, ModelCall, OutputSpec, Result
from .models.structured import complete_with_repair, parse_json
from .models.tokens import counter_for_model

#: output-token cap of a json-mode decision
DECISION_MAX_TOKENS = 100
#: logit_bias given to each label's token in logit mode
LABEL_BIAS = 100
_WORD = re.compile(r"[A-Za-z0-9]+")


def yes_or_no(
    model: ChatModel,
    config: AutogramConfig,
    conversation: Conversation,
    question: str,
    max_turns: int | None = 1,
    **kwargs: Any,
) -> Result[bool]:
    """True if the model answers Yes to ``question`` about the last ``max_turns`` turns."""
    text, labels = yes_no_question(question, config.default_question_prompt)
    result = _decide(
        model, config, conversation, question, text, labels, labels, max_turns, kwargs, "yes_or_no"
    )
    return Result(result.value == 0, result.calls, result.text)


def multiple_choice(
    model: ChatModel,
    config: AutogramConfig,
    conversation: Conversation,
    question: str,
    choices: Sequence[str],
    max_turns: int | None = 1,
    **kwargs: Any,
) -> Result[int]:
    """Index of the choice the model picks (no model call for a single choice)."""
    if not choices:
        raise ValueError(f"multiple_choice needs at least one choice for {question!r}")
    if len(choices) == 1:
        return Result(0, (), "")
    text, labels = choice_question(question, choices, config.default_question_prompt)
    return _decide(
        model,
        config,
        conversation,
        question,
        text,
        labels,
        choices,
        max_turns,
        kwargs,
        "multiple_choice",
    )


def multiple_choice_logits(
    model: ChatModel,
    config: AutogramConfig,
    conversation: Conversation,
    question: str,
    choices: Sequence[str],
    max_turns: int | None = 1,
    **kwargs: Any,
) -> Result[list[float]]:
    """Log-probability of each choice (-inf for choices outside the server's top 20)."""
    if config.resolved_classifier_mode != "logit":
        raise ModelConfigError(
            "classifier_mode",
            "multiple_choice_logits needs classifier_mode='logit': json mode has no "
            "per-choice probabilities",
        )
    text, labels = choice_question(question, choices, config.default_question_prompt)
    result, top = _decide_logit(
        model,
        config,
        conversation,
        question,
        text,
        labels,
        choices,
        max_turns,
        kwargs,
        "multiple_choice_logits",
        logprobs=True,
    )
    if not top:
        raise DecisionError(
            question, choices, result.text, "the server returned no logprobs", result.calls
        )
    best = {label: -math.inf for label in labels}
    for token, logprob in top:
        label = token.strip()
        if label in best:
            best[label] = max(best[label], logprob)
    return Result([best[label] for label in labels], result.calls, result.text)


def decide_transition(
    model: ChatModel,
    config: AutogramConfig,
    conversation: Conversation,
    question: str,
    transitions: Mapping[str, str],
    max_turns: int | None = None,
    **kwargs: Any,
) -> Result[str]:
    """The destination TRANSITION goes to: ``transitions`` maps answers to destinations.

    Yes/no keys ask a yes/no question; other keys a multiple choice; one key needs no call.
    ``max_turns`` defaults to ``config.default_transition_context``.
    """
    keys = list(transitions)
    if not keys:
        raise ValueError(f"TRANSITION {question!r} has no transitions")
    if max_turns is None:
        max_turns = config.default_transition_context
    if len(keys) == 1:
        return Result(transitions[keys[0]], (), "")
    if sorted(key.lower() for key in keys) == ["no", "yes"]:
        answer = yes_or_no(model, config, conversation, question, max_turns, **kwargs)
        chosen = next(k for k in keys if k.lower() == ("yes" if answer.value else "no"))
        return Result(transitions[chosen], answer.calls, answer.text)
    index = multiple_choice(model, config, conversation, question, keys, max_turns, **kwargs)
    return Result(transitions[keys[index.value]], index.calls, index.text)


def _decide(
    model: ChatModel,
    config: AutogramConfig,
    conversation: Conversation,
    question: str,
    text: str,
    labels: Sequence[str],
    choices: Sequence[str],
    max_turns: int | None,
    kwargs: Mapping[str, Any],
    helper: str,
) -> Result[int]:
    if config.resolved_classifier_mode == "logit":
        result, _ = _decide_logit(
            model,
            config,
            conversation,
            question,
            text,
            labels,
            choices,
            max_turns,
            kwargs,
            helper,
            logprobs=False,
        )
        return result
    options = split_kwargs(helper, kwargs)
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["answer"],
        "properties": {"answer": {"type": "string", "enum": list(labels)}},
    }
    request = ChatRequest(
        messages=_messages(
            config, conversation, text, options.model, max_turns, options.multi_modal_inputs
        ),
        kind="decision",
        role="classifier",
        model=options.model,
        timeout=options.timeout,
        output=OutputSpec("decision", schema),
        choices=tuple(labels),
        params={"temperature": 0, "max_tokens": DECISION_MAX_TOKENS, **options.params},
    )
    return complete_with_repair(
        model, request, lambda out: read_label(out, labels, choices), _failure(question, choices)
    )


def _decide_logit(
    model: ChatModel,
    config: AutogramConfig,
    conversation: Conversation,
    question: str,
    text: str,
    labels: Sequence[str],
    choices: Sequence[str],
    max_turns: int | None,
    kwargs: Mapping[str, Any],
    helper: str,
    *,
    logprobs: bool,
) -> tuple[Result[int], tuple[tuple[str, float], ...]]:
    options = split_kwargs(helper, kwargs)
    model_name = options.model or config.resolved_classifier_path
    counter = counter_for_model(model_name)
    if not counter.exact:
        raise ModelConfigError(
            "classifier_mode",
            f"classifier_mode 'logit' needs the token ids of model {model_name!r}, which "
            "tiktoken does not know; use classifier_mode='json'",
        )
    bias = {str(counter.encode(label)[0]): LABEL_BIAS for label in labels}
    params: dict[str, Any] = {
        "temperature": 0,
        "max_tokens": 1,
        "logit_bias": bias,
        **options.params,
    }
    if logprobs:
        params.update(logprobs=True, top_logprobs=20)
    request = ChatRequest(
        messages=_messages(
            config, conversation, text, options.model, max_turns, options.multi_modal_inputs
        ),
        kind="decision",
        role="classifier",
        model=options.model,
        timeout=options.timeout,
        choices=tuple(labels),
        params=params,
    )
    answer = model.complete(request)
    try:
        index = read_label(answer.text, labels, choices)
    except ValueError as exc:
        raise DecisionError(
            question,
            choices,
            answer.text,
            f"{exc}; does the server honour logit_bias?",
            [answer.call],
        ) from exc
    return Result(index, (answer.call,), answer.text), answer.top_logprobs


def _messages(
    config: AutogramConfig,
    conversation: Conversation,
    text: str,
    model_name: str | None,
    max_turns: int | None,
    parts: Sequence[Mapping[str, Any]] | None,
) -> list[dict[str, Any]]:
    counter = counter_for_model(model_name or config.resolved_classifier_path)
    return assemble(
        conversation,
        text,
        config,
        counter,
        role="classifier",
        max_turns=max_turns,
        question=True,
        multi_modal_inputs=parts,
    )


def _failure(question: str, choices: Sequence[str]) -> Any:
    def fail(reason: str, output: str, calls: list[ModelCall]) -> DecisionError:
        return DecisionError(question, choices, output, reason, calls)

    return fail


def read_label(output: str, labels: Sequence[str], choices: Sequence[str] = ()) -> int:
    """Index of the label (or choice text) a model's answer names; raises ValueError.

    Accepts ``{"answer": "B"}``, ``B``, ``"B. pizza"``, ``yes.``, or the choice text itself.
    """
    answer = output
    try:
        value = parse_json(output)
    except ValueError:
        value = None
    if isinstance(value, dict) and "answer" in value:
        answer = str(value["answer"])
    elif isinstance(value, str):
        answer = value
    answer = answer.strip().strip("\"'`*.:").strip()
    lowered = [label.lower() for label in labels]
    word = _WORD.match(answer)
    for candidate in (answer, word.group(0) if word else ""):
        if candidate.lower() in lowered:
            return lowered.index(candidate.lower())
    texts = [choice.strip().lower() for choice in choices]
    if answer.lower() in texts:
        return texts.index(answer.lower())
    raise ValueError(f"answer {answer[:60]!r} is none of {list(labels)}")

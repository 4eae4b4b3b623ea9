"""Decision helpers: yes_or_no, multiple_choice, their logit form, and TRANSITION's choice.

Two modes (``AutogramConfig.classifier_mode``):

- ``json`` (default): a structured answer ``{"answer": <label>}`` whose label is constrained
  to the offered ones; works with every server form, including schema-in-prompt;
- ``logit``: one output token with ``logit_bias`` +100 on each label's token; needs a
  server with logit_bias and a model tiktoken knows (OpenAI models).

An answer that names no offered label gets one repair request; if that fails too,
`DecisionError` is raised. There is no silent "first choice" fallback.

The helpers build the prompt from a `Conversation`; `decide` and `label_logprobs` take
ready-made OpenAI messages (AutoGRAMS' ``call_classifier`` and ``completions_*`` helpers).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ._prompts import Conversation, assemble, choice_question, window, yes_no_question
from .config import AutogramConfig
from .models.errors import DecisionError, ModelConfigError
from .models.options import CallOptions, split_kwargs
from .models.records import ChatModel, ChatRequest, ModelCall, OutputSpec, Result
from .models.structured import complete_with_repair, parse_json
from .models.tokens import counter_for_model

#: logit_bias given to each label's token in logit mode
LABEL_BIAS = 100
_WORD = re.compile(r"[A-Za-z0-9]+")


def require_choices(helper: str, argument: str, choices: Sequence[Any]) -> None:
    """Refuse an empty choice list before any model call, naming the helper's argument."""
    if not choices:
        raise ValueError(f"{helper}() needs at least one choice in {argument}; got none")


def yes_or_no(
    client: ChatModel,
    config: AutogramConfig,
    conversation: Conversation,
    question: str,
    max_turns: int | None = 1,
    **kwargs: Any,
) -> Result[bool]:
    """True if the model answers Yes to ``question`` about the last ``max_turns`` turns."""
    text, labels = yes_no_question(question, config.default_question_prompt)
    messages = _messages(config, conversation, text, max_turns, kwargs, "yes_or_no")
    baseline = _baseline_messages(config, conversation, text, max_turns, kwargs, "yes_or_no")
    result = decide(
        client,
        config,
        messages,
        question,
        labels,
        labels,
        "yes_or_no",
        baseline_messages=baseline,
        **kwargs,
    )
    return Result(result.value == 0, result.calls, result.text)


def multiple_choice(
    client: ChatModel,
    config: AutogramConfig,
    conversation: Conversation,
    question: str,
    choices: Sequence[str],
    max_turns: int | None = 1,
    **kwargs: Any,
) -> Result[int]:
    """Index of the choice the model picks (no model call for a single choice)."""
    require_choices("multiple_choice", "choices", choices)
    if len(choices) == 1:
        return Result(0, (), "")
    text, labels = choice_question(question, choices, config.default_question_prompt)
    messages = _messages(config, conversation, text, max_turns, kwargs, "multiple_choice")
    baseline = _baseline_messages(config, conversation, text, max_turns, kwargs, "multiple_choice")
    return decide(
        client,
        config,
        messages,
        question,
        labels,
        choices,
        "multiple_choice",
        baseline_messages=baseline,
        **kwargs,
    )


def multiple_choice_logits(
    client: ChatModel,
    config: AutogramConfig,
    conversation: Conversation,
    question: str,
    choices: Sequence[str],
    max_turns: int | None = 1,
    **kwargs: Any,
) -> Result[list[float]]:
    """Log-probability of each choice (-inf for choices outside the server's top 20).

    Works in either ``classifier_mode``: it always asks for one token with its logprobs,
    biased towards the labels when tiktoken knows the model's token ids.
    """
    text, labels = choice_question(question, choices, config.default_question_prompt)
    messages = _messages(config, conversation, text, max_turns, kwargs, "multiple_choice_logits")
    return label_logprobs(
        client, config, messages, question, labels, "multiple_choice_logits", **kwargs
    )


def decide_transition(
    client: ChatModel,
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
        answer = yes_or_no(client, config, conversation, question, max_turns, **kwargs)
        chosen = next(k for k in keys if k.lower() == ("yes" if answer.value else "no"))
        return Result(transitions[chosen], answer.calls, answer.text)
    index = multiple_choice(client, config, conversation, question, keys, max_turns, **kwargs)
    return Result(transitions[keys[index.value]], index.calls, index.text)


def decide(
    client: ChatModel,
    config: AutogramConfig,
    messages: Sequence[Mapping[str, Any]],
    question: str,
    labels: Sequence[str],
    choices: Sequence[str],
    helper: str,
    *,
    baseline_messages: Sequence[Mapping[str, Any]] | None = None,
    **kwargs: Any,
) -> Result[int]:
    """Index of the label the model answers to ``messages`` (in the config's classifier
    mode). ``choices`` are the texts the labels stand for; ``question`` names the decision
    in errors; ``baseline_messages`` are the messages without the user's words (for models
    that calibrate label scores, see `autograms.models.choices`). Keywords: model, timeout
    and request parameters."""
    options = split_kwargs(helper, _without_prompt_options(kwargs))
    if config.resolved_classifier_mode == "logit":
        request = _logit_request(
            config, messages, labels, options, logprobs=False, require_bias=True
        )
        answer = client.complete(request)
        try:
            index = read_label(answer.text, labels, choices)
        except ValueError as exc:
            reason = f"{exc}; does the server honour logit_bias?"
            raise DecisionError(question, choices, answer.text, reason, [answer.call]) from exc
        return Result(index, (answer.call,), answer.text)
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string", "enum": list(labels)}},
        "additionalProperties": False,
        "required": ["answer"],
    }
    # as AutoGRAMS' json-mode decision: the config's generation arguments and the call's
    # settings, at temperature 0 whatever they say, and no max_tokens unless asked for
    params = {**(config.chatbot_generation_args or {}), **options.params, "temperature": 0}
    request = ChatRequest(
        messages=list(messages),
        kind="decision",
        role="classifier",
        model=options.model,
        timeout=options.timeout,
        output=OutputSpec("decision_schema", schema),
        choices=tuple(labels),
        params=params,
        baseline_messages=baseline_messages,
    )
    return complete_with_repair(
        client, request, lambda out: read_label(out, labels, choices), _failure(question, choices)
    )


def label_logprobs(
    client: ChatModel,
    config: AutogramConfig,
    messages: Sequence[Mapping[str, Any]],
    question: str,
    labels: Sequence[str],
    helper: str,
    **kwargs: Any,
) -> Result[list[float]]:
    """Log-probability of each label as the model's next token after ``messages`` (-inf for
    labels outside the server's top 20)."""
    options = split_kwargs(helper, _without_prompt_options(kwargs))
    request = _logit_request(config, messages, labels, options, logprobs=True, require_bias=False)
    answer = client.complete(request)
    if not answer.top_logprobs:
        reason = "the server returned no logprobs"
        raise DecisionError(question, labels, answer.text, reason, [answer.call])
    best = {label: -math.inf for label in labels}
    for token, logprob in answer.top_logprobs:
        label = token.strip()
        if label in best:
            best[label] = max(best[label], logprob)
    return Result([best[label] for label in labels], (answer.call,), answer.text)


def _logit_request(
    config: AutogramConfig,
    messages: Sequence[Mapping[str, Any]],
    labels: Sequence[str],
    options: CallOptions,
    *,
    logprobs: bool,
    require_bias: bool,
) -> ChatRequest:
    """A one-token request, its token biased towards the labels' first tokens (when tiktoken
    knows the model; otherwise an error if `require_bias`)."""
    model_name = options.model or config.resolved_classifier_path
    counter = counter_for_model(model_name)
    # one token at temperature 0, as AutoGRAMS asks for it, whatever the call's settings say
    params: dict[str, Any] = {**options.params, "temperature": 0, "max_tokens": 1}
    if counter.exact:
        params["logit_bias"] = {str(counter.encode(label)[0]): LABEL_BIAS for label in labels}
    elif require_bias:
        raise ModelConfigError(
            "classifier_mode",
            f"classifier_mode 'logit' needs the token ids of model {model_name!r}, which "
            "tiktoken does not know; use classifier_mode='json'",
        )
    if logprobs:
        params.update(logprobs=True, top_logprobs=20)
    return ChatRequest(
        messages=list(messages),
        kind="decision",
        role="classifier",
        model=options.model,
        timeout=options.timeout,
        choices=tuple(labels),
        params=params,
    )


#: keywords that shape the prompt, used before a decision's messages exist
_PROMPT_OPTIONS = ("max_turns", "multi_modal_inputs")


def _without_prompt_options(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if k not in _PROMPT_OPTIONS}


def _messages(
    config: AutogramConfig,
    conversation: Conversation,
    text: str,
    max_turns: int | None,
    kwargs: Mapping[str, Any],
    helper: str,
) -> list[dict[str, Any]]:
    """The classifier-role prompt asking ``text`` about the conversation."""
    options = split_kwargs(helper, kwargs)
    counter = counter_for_model(options.model or config.resolved_classifier_path)
    return assemble(
        conversation,
        text,
        config,
        counter,
        role="classifier",
        max_turns=max_turns,
        question=True,
        multi_modal_inputs=options.multi_modal_inputs,
    )


#: what stands for the user's words in a decision's baseline prompt
CONTENT_FREE = "N/A"


def _baseline_messages(
    config: AutogramConfig,
    conversation: Conversation,
    text: str,
    max_turns: int | None,
    kwargs: Mapping[str, Any],
    helper: str,
) -> list[dict[str, Any]] | None:
    """The decision's prompt with the words of the last user message replaced by
    `CONTENT_FREE`: the question asked about no message in particular, which a model that
    scores labels uses to measure its own leaning (see `autograms.models.choices`); None
    when the conversation has no user message."""
    turns = conversation.turns
    for index in range(len(turns) - 1, -1, -1):
        if turns[index].get("role") == "user":
            # only the turns the prompt shows are copied (showing them again shows them all)
            shown = window(turns, max_turns)
            start = len(turns) - len(shown)
            if index >= start:
                shown[index - start] = {**turns[index], "content": CONTENT_FREE}
            baseline = dataclasses.replace(conversation, turns=shown)
            return _messages(config, baseline, text, None, kwargs, helper)  # shown: windowed
    return None


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

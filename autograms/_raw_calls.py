"""AutoGRAMS' lower-level model calls, on prompts the caller built rather than on the
conversation: turn lists (``call_model``, ``call_classifier``, ``call_object_model``, which take
what ``get_turn_history`` returns) and raw prompts or messages (``call_completion``,
``completions_classifier``, ``completions_logits``).

All of them go through the chat-completions endpoint, as every other helper does. AutoGRAMS
sent the last three to the legacy completions endpoint with a Hugging Face chat template (and
they failed there: two called functions that do not exist); here a raw prompt is the one user
message of a chat request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from . import _decisions, _generation
from ._helper_call import HelperCall, start_call, with_model
from ._prompts import merge_system_prompt, messages_from_turns
from .models.errors import DecisionError


def call_model(
    input_turns: Sequence[str],
    output_turns: Sequence[str],
    system_prompt: str,
    system_prompt_in_turns: bool = False,
    model_type: str | None = None,
    model: str | None = None,
    multi_modal_inputs: Sequence[Mapping[str, Any]] | None = None,
    **kwargs: Any,
) -> tuple[str, bool]:
    """The model's reply to a conversation given as turn lists: ``(text, True)``.

    `system_prompt_in_turns` folds the system prompt into the first user message;
    `model_type` is accepted for AutoGRAMS compatibility and has no effect.
    """
    call = start_call(
        "call_model", (input_turns, output_turns, system_prompt), with_model(kwargs, model)
    )
    messages = messages_from_turns(input_turns, output_turns, system_prompt, multi_modal_inputs)
    if system_prompt_in_turns:
        messages = merge_system_prompt(messages)
    result = _generation.complete_messages(call.model, call.config, messages, **call.options)
    return call.value(result), True


def call_classifier(
    input_turns: Sequence[str] | str,
    output_turns: Sequence[str],
    answer_choices: Sequence[str] | str | None = None,
    system_prompt: str | None = None,
    model_type: str | None = None,
    model: str | None = None,
    multi_modal_inputs: Sequence[Mapping[str, Any]] | None = None,
    **kwargs: Any,
) -> tuple[str, bool]:
    """Which of `answer_choices` the model answers to the last input turn (the question):
    ``(answer, True)``, or ``(answer_choices[0], False)`` when it names none of them (the
    failed calls are logged). Decides in the config's ``classifier_mode``.

    AutoGRAMS 0.5's form ``call_classifier(input_str, answer_choices, system_prompt=None,
    ...)`` -- a question text first -- is accepted too.
    """
    if isinstance(input_turns, str):  # 0.5: (input_str, answer_choices, system_prompt, ...)
        if isinstance(answer_choices, str):
            system_prompt = answer_choices
        input_turns, answer_choices, output_turns = [input_turns], output_turns, []
    if answer_choices is None:
        raise TypeError("call_classifier() missing required argument: 'answer_choices'")
    _decisions.require_choices("call_classifier", "answer_choices", answer_choices)
    args = (input_turns, output_turns, answer_choices)
    call = start_call("call_classifier", args, with_model(kwargs, model))
    # sent whole, as AutoGRAMS' call_classifier sends them
    messages = messages_from_turns(input_turns, output_turns, system_prompt, multi_modal_inputs)
    question = input_turns[-1]
    return _choose(call, messages, question, answer_choices)


def _choose(
    call: HelperCall,
    messages: list[dict[str, Any]],
    question: str,
    choices: Sequence[str],
) -> tuple[str, bool]:
    try:
        result = _decisions.decide(
            call.model, call.config, messages, question, choices, choices, call.helper,
            **call.options,
        )  # fmt: skip
    except DecisionError as exc:
        call.log(exc.calls)
        return choices[0], False
    return choices[call.value(result)], True


def call_object_model(
    input_turns: Sequence[str],
    output_turns: Sequence[str],
    system_prompt: str,
    system_prompt_in_turns: bool = False,
    model_type: str | None = None,
    model: str | None = None,
    obj_structure: Any = None,
    multi_modal_inputs: Sequence[Mapping[str, Any]] | None = None,
    **kwargs: Any,
) -> Any:
    """The model's answer to a conversation given as turn lists, shaped by `obj_structure`
    (a pydantic model class, returning an instance, or a JSON schema dict, returning the
    JSON text -- as ``generate_object``)."""
    if obj_structure is None:
        raise TypeError("call_object_model() needs obj_structure (a pydantic model or a schema)")
    args = (input_turns, output_turns, system_prompt)
    call = start_call("call_object_model", args, with_model(kwargs, model))
    messages = messages_from_turns(input_turns, output_turns, system_prompt, multi_modal_inputs)
    if system_prompt_in_turns:
        messages = merge_system_prompt(messages)
    result = _generation.complete_structured(
        call.model, call.config, messages, obj_structure, **call.options
    )
    value = call.value(result)
    return json.dumps(value) if isinstance(obj_structure, Mapping) else value


def call_completion(prompt: str, model: str | None = None, **kwargs: Any) -> tuple[str, bool]:
    """The model's answer to `prompt` (sent as the one user message of a chat request):
    ``(text, True)``."""
    call = start_call("call_completion", (prompt,), with_model(kwargs, model))
    messages = [{"role": "user", "content": prompt}]
    result = _generation.complete_messages(call.model, call.config, messages, **call.options)
    return call.value(result), True


def completions_classifier(
    allowed_tokens: Sequence[str],
    prompt: str | None = None,
    messages: Sequence[Mapping[str, Any]] | None = None,
    model: str | None = None,
    **kwargs: Any,
) -> str:
    """Which of `allowed_tokens` the model answers to `messages` (or to `prompt`); raises
    `DecisionError` if it names none of them."""
    _decisions.require_choices("completions_classifier", "allowed_tokens", allowed_tokens)
    call = start_call("completions_classifier", (allowed_tokens,), with_model(kwargs, model))
    chat = _raw_messages(prompt, messages)
    result = _decisions.decide(
        call.model, call.config, chat, _subject(chat), allowed_tokens, allowed_tokens,
        call.helper, **call.options,
    )  # fmt: skip
    return allowed_tokens[call.value(result)]


def completions_logits(
    allowed_tokens: Sequence[str],
    prompt: str | None = None,
    messages: Sequence[Mapping[str, Any]] | None = None,
    model: str | None = None,
    **kwargs: Any,
) -> list[float]:
    """Log-probability of each of `allowed_tokens` as the model's next token after
    `messages` (or `prompt`); -inf for tokens outside the server's top 20."""
    call = start_call(
        "completions_logits", (allowed_tokens,), with_model(kwargs, model), supervisable=False
    )
    chat = _raw_messages(prompt, messages)
    result = _decisions.label_logprobs(
        call.model, call.config, chat, _subject(chat), allowed_tokens, call.helper, **call.options
    )
    return call.value(result)


def _raw_messages(
    prompt: str | None, messages: Sequence[Mapping[str, Any]] | None
) -> list[dict[str, Any]]:
    if messages is not None:
        return [dict(message) for message in messages]
    if prompt is None:
        raise TypeError("give the prompt or the messages")
    return [{"role": "user", "content": prompt}]


def _subject(messages: Sequence[Mapping[str, Any]]) -> str:
    """The text of the last message, naming the decision in errors."""
    content = messages[-1].get("content", "") if messages else ""
    return content if isinstance(content, str) else str(content)

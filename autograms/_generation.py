"""Generation helpers: free-text replies, structured outputs, embeddings.

Each helper takes a model client, the config and a `Conversation` view, makes its model call(s),
and returns a `Result` (value + `ModelCall` records); nothing here reads or writes
conversation memory. ``autograms.functional`` wraps these with memory.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._prompts import LETTERS, Conversation, assemble, choice_labels, fit_to_budget
from ._reply_stream import ReplyStream, SuffixedText, TidiedText
from ._suffix import splice_suffix
from .config import AutogramConfig
from .models.errors import ModelCallError
from .models.options import CallOptions, chat_params, split_kwargs
from .models.records import (
    ChatModel,
    ChatRequest,
    ChatResult,
    EmbeddingRequest,
    OutputSpec,
    Result,
    StreamingChatModel,
)
from .models.structured import request_structured, spec_from_structure
from .models.tokens import counter_for_model

logger = logging.getLogger("autograms")

#: what a structured request's instruction ends with on servers other than OpenAI's (the
#: schema follows, as a Python dict literal)
SCHEMA_SENTENCE = "Your output must adhere to the following json schema: "

#: reply_suffix's instruction when the config sets none: the required text in bold at the end,
#: word for word what AutoGRAMS' reply_suffix sends (its misspelt "repsonse" too: the same
#: prompt gets the same answers from a model tuned on it); `splice_suffix` takes the bold out
REPLY_SUFFIX_INSTRUCTION = (
    "Respond to the user's last reply, and then include the **bold** text at the end of your "
    "response to direct the conversation:**<instruction>**. It is also okay for the whole "
    "repsonse to be the bold text if it fits the situation."
)


def chat_reply(
    client: ChatModel,
    config: AutogramConfig,
    conversation: Conversation,
    instruction: str,
    *,
    reply_stream: ReplyStream | None = None,
    **kwargs: Any,
) -> Result[str]:
    """The model's reply to ``instruction`` after the conversation (reply_instruction,
    thought, silent_thought). Keywords: model, timeout, max_turns, multi_modal_inputs and
    request parameters (temperature, max_tokens ...). With `reply_stream`, the reply is
    handed to it while the model writes it (see `autograms._reply_stream`)."""
    options = split_kwargs("chat_reply", kwargs)
    messages = _chat_messages(config, conversation, instruction, options)
    return _chat(client, config, messages, options, reply_stream=reply_stream)


def _chat_messages(
    config: AutogramConfig, conversation: Conversation, instruction: str, options: CallOptions
) -> list[dict[str, Any]]:
    """The chatbot-role prompt for ``instruction``, cut to the model's token budget."""
    counter = counter_for_model(options.model or config.chatbot_path)
    return assemble(
        conversation,
        instruction,
        config,
        counter,
        max_turns=options.max_turns,
        multi_modal_inputs=options.multi_modal_inputs,
    )


def local_thought(
    client: ChatModel,
    config: AutogramConfig,
    instruction: str,
    system_prompt: str = "",
    **kwargs: Any,
) -> Result[str]:
    """A one-shot reply to ``instruction`` with no conversation history."""
    return chat_reply(client, config, Conversation(system_prompt, ()), instruction, **kwargs)


def reply_with_suffix(
    client: ChatModel,
    config: AutogramConfig,
    conversation: Conversation,
    suffix: str,
    *,
    reply_stream: ReplyStream | None = None,
    **kwargs: Any,
) -> Result[str]:
    """The model's response to the user cut where it writes ``suffix``, which then follows
    exactly; ``suffix`` alone when the response does not write it (see `autograms._suffix`).
    Nothing is streamed before the model ends: the cut needs the whole answer."""
    template = config.reply_suffix_inst_conversion or REPLY_SUFFIX_INSTRUCTION
    result = chat_reply(
        client,
        config,
        conversation,
        template.replace("<instruction>", suffix),
        reply_stream=None if reply_stream is None else SuffixedText(reply_stream),
        **kwargs,
    )
    # the answer as the model wrote it (AutoGRAMS splices before any tidying), unless
    # error_response stands in for a failed call
    answer = result.text if result.calls else result.value
    return Result(splice_suffix(answer, suffix), result.calls, result.text)


def complete_messages(
    client: ChatModel, config: AutogramConfig, messages: Sequence[Mapping[str, Any]], **kwargs: Any
) -> Result[str]:
    """The reply to raw OpenAI ``messages``, cut to the chat budget (call_chat_completion)."""
    options = split_kwargs("complete_messages", kwargs)
    counter = counter_for_model(options.model or config.chatbot_path)
    fitted = fit_to_budget(messages, config.chatbot_max_input_len, counter)
    return _chat(client, config, fitted, options, post_process=False)


def call_llm(
    client: ChatModel,
    config: AutogramConfig,
    prompt: str,
    call_type: str = "chat_completion",
    **kwargs: Any,
) -> Result[str]:
    """The reply to one prompt (its start cut to fit ``chatbot_max_input_len``)."""
    if call_type != "chat_completion":
        raise ValueError(
            f"call_type {call_type!r} is not supported: only 'chat_completion' is "
            "(the legacy completions endpoint is not used)"
        )
    return complete_messages(client, config, [{"role": "user", "content": prompt}], **kwargs)


def _chat(
    client: ChatModel,
    config: AutogramConfig,
    messages: Sequence[Mapping[str, Any]],
    options: CallOptions,
    *,
    post_process: bool = True,
    reply_stream: ReplyStream | None = None,
) -> Result[str]:
    request = ChatRequest(
        messages=list(messages),
        kind="chat",
        role="chatbot",
        model=options.model,
        params=chat_params(config, options),
        timeout=options.timeout,
    )
    tidy = post_process and config.post_process_response
    try:
        result = _answer(client, config, request, reply_stream, tidy)
        calls = [result.call]
        if _banned_phrase(result.text, config.banned_phrases or []):
            logger.warning("reply contains a banned phrase; generating it once more")
            result = client.complete(request)
            calls.append(result.call)
    except ModelCallError:
        if config.error_response is None:
            raise
        logger.exception("chat call failed; replying with config.error_response")
        return Result(config.error_response, (), "")
    text = tidy_reply(result.text, config.agent_name) if tidy else result.text
    return Result(text, tuple(calls), result.text)


def _answer(
    client: ChatModel,
    config: AutogramConfig,
    request: ChatRequest,
    reply_stream: ReplyStream | None,
    tidy: bool,
) -> ChatResult:
    """The model's answer, streamed to `reply_stream` when there is one and the answer will
    be the reply as written (no banned phrases to regenerate it for)."""
    if reply_stream is None or config.banned_phrases or not isinstance(client, StreamingChatModel):
        return client.complete(request)
    reply_stream.restart()
    on_text = TidiedText(reply_stream, config.agent_name) if tidy else reply_stream.write
    return client.stream(request, on_text)


def _banned_phrase(text: str, phrases: Sequence[str]) -> bool:
    lowered = text.lower()
    return any(phrase.lower() in lowered for phrase in phrases)


def tidy_reply(text: str, agent_name: str) -> str:
    """``text`` without surrounding whitespace and without an echoed "<agent_name>:" label."""
    text = text.strip()
    label = re.match(rf"\s*{re.escape(agent_name)}\s*:\s*", text, re.IGNORECASE)
    return text[label.end() :] if label else text


def generate_object(
    client: ChatModel,
    config: AutogramConfig,
    conversation: Conversation,
    instruction: str,
    obj_structure: Any,
    **kwargs: Any,
) -> Result[Any]:
    """An answer shaped by a pydantic model class (returns an instance) or a JSON schema /
    OpenAI response_format dict (returns the parsed dict; ``Result.text`` holds the JSON)."""
    return _structured(
        client,
        config,
        conversation,
        instruction,
        spec_from_structure(obj_structure),
        kwargs,
        "generate_object",
        shown=obj_structure if isinstance(obj_structure, Mapping) else None,
    )


def generate_list(
    client: ChatModel,
    config: AutogramConfig,
    conversation: Conversation,
    instruction: str,
    **kwargs: Any,
) -> Result[list[str]]:
    """A list of strings."""
    spec = _object_spec("string_list", {"data": {"type": "array", "items": {"type": "string"}}})
    return _field(
        _structured(client, config, conversation, instruction, spec, kwargs, "generate_list"),
        "data",
    )


def generate_list_of_choices(
    client: ChatModel,
    config: AutogramConfig,
    conversation: Conversation,
    instruction: str,
    choices: Sequence[str],
    **kwargs: Any,
) -> Result[list[str]]:
    """A list whose items are taken from ``choices``."""
    items = {"type": "string", "enum": list(choices)}
    spec = _object_spec("choice_list", {"data": {"type": "array", "items": items}})
    return _field(
        _structured(
            client, config, conversation, instruction, spec, kwargs, "generate_list_of_choices"
        ),
        "data",
    )


def generate_fixed_dict(
    client: ChatModel,
    config: AutogramConfig,
    conversation: Conversation,
    instruction: str,
    keys: Sequence[str],
    **kwargs: Any,
) -> Result[dict[str, str]]:
    """A dict with exactly ``keys``, each a string."""
    spec = _object_spec("fixed_dict", {key: {"type": "string"} for key in keys})
    return _structured(
        client, config, conversation, instruction, spec, kwargs, "generate_fixed_dict"
    )


def generate_fixed_list(
    client: ChatModel,
    config: AutogramConfig,
    conversation: Conversation,
    instruction: str,
    num_items: int,
    **kwargs: Any,
) -> Result[list[str]]:
    """Exactly ``num_items`` strings."""
    keys = [f"item{i}" for i in range(1, num_items + 1)]
    result = generate_fixed_dict(client, config, conversation, instruction, keys, **kwargs)
    return Result([result.value[key] for key in keys], result.calls, result.text)


def generate_list_of_dicts(
    client: ChatModel,
    config: AutogramConfig,
    conversation: Conversation,
    instruction: str,
    keys: Sequence[str],
    **kwargs: Any,
) -> Result[list[dict[str, str]]]:
    """A list of dicts, each with exactly ``keys`` (strings)."""
    item = _object_schema({key: {"type": "string"} for key in keys})
    spec = _object_spec("dict_list", {"data": {"type": "array", "items": item}})
    return _field(
        _structured(
            client, config, conversation, instruction, spec, kwargs, "generate_list_of_dicts"
        ),
        "data",
    )


@dataclass(frozen=True)
class _Step:
    key: str
    prompt: str
    schema: dict[str, Any]
    labels: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()

    def answer(self, value: str) -> str:
        return self.choices[self.labels.index(value)] if self.choices else value


def thought_decision_chain(
    client: ChatModel,
    config: AutogramConfig,
    conversation: Conversation,
    instruction: str,
    chain: Sequence[str | Mapping[str, Any]],
    **kwargs: Any,
) -> Result[list[str]]:
    """Answers to a chain of prompts in one structured call, each seeing the ones before.

    Items are prompts (free-text answers; also ``{"type": "thought", "prompt": ...}``) or
    ``{"question": ..., "choices": [...]}`` decisions (``"type": "decision"`` optional), whose
    answers are the chosen choice texts.
    """
    steps = [_chain_step(i, item) for i, item in enumerate(chain, 1)]
    spec = _object_spec("chain", {step.key: step.schema for step in steps})
    listing = "\n".join(f"{step.key}: {step.prompt}" for step in steps)
    prompt = f"{instruction}\n\nAnswer each step in order:\n{listing}".strip()
    result = _structured(client, config, conversation, prompt, spec, kwargs, "thought_chain")
    answers = [step.answer(result.value[step.key]) for step in steps]
    return Result(answers, result.calls, result.text)


def _chain_step(index: int, item: str | Mapping[str, Any]) -> _Step:
    key = f"step_{index}"
    if isinstance(item, str):
        return _Step(key, item, {"type": "string"})
    kind = item.get("type", "decision")
    if kind == "thought":  # AutoGRAMS' documented {"type": "thought", "prompt": ...}
        return _Step(key, item["prompt"], {"type": "string"})
    if kind != "decision":
        raise ValueError(
            f"thought_decision_chain() item {index} has unknown type {kind!r}; "
            "use 'thought' or 'decision'"
        )
    question, choices = item["question"], tuple(item.get("choices") or ())
    if not choices:
        return _Step(key, question, {"type": "string"})
    labels = choice_labels(len(choices))
    options = "; ".join(f"{label}. {choice}" for label, choice in zip(labels, choices, strict=True))
    kind = "letter" if len(choices) <= len(LETTERS) else "number"
    prompt = f"{question} (answer with the {kind} of one option: {options})"
    return _Step(key, prompt, {"type": "string", "enum": list(labels)}, labels, choices)


def thought_chain(
    client: ChatModel,
    config: AutogramConfig,
    conversation: Conversation,
    instruction: str,
    chain: Sequence[str],
    **kwargs: Any,
) -> Result[list[str]]:
    """Free-text answers to a chain of prompts, in one call."""
    return thought_decision_chain(client, config, conversation, instruction, list(chain), **kwargs)


def decision_chain(
    client: ChatModel,
    config: AutogramConfig,
    conversation: Conversation,
    instruction: str,
    chain: Sequence[Mapping[str, Any]],
    **kwargs: Any,
) -> Result[list[str]]:
    """The chosen choice texts of a chain of ``{"question", "choices"}`` decisions."""
    for item in chain:
        if not item.get("choices"):
            raise ValueError(f"decision_chain item {item!r} has no choices")
    return thought_decision_chain(client, config, conversation, instruction, list(chain), **kwargs)


def _structured(
    client: ChatModel,
    config: AutogramConfig,
    conversation: Conversation,
    instruction: str,
    spec: OutputSpec,
    kwargs: Mapping[str, Any],
    helper: str,
    *,
    shown: Mapping[str, Any] | None = None,
) -> Result[Any]:
    """The structured answer to `instruction`; a model behind a server other than OpenAI's is
    also told the schema (`shown`, else the spec's response_format) in the instruction, in
    AutoGRAMS' words."""
    options = split_kwargs(helper, kwargs)
    if config.chatbot_type != "openai":
        schema = _response_format(spec) if shown is None else shown
        instruction = f"{instruction}\n{SCHEMA_SENTENCE}{schema}"
    messages = _chat_messages(config, conversation, instruction, options)
    return _request_structured(client, config, messages, spec, options)


def _response_format(spec: OutputSpec) -> dict[str, Any]:
    """`spec` as the OpenAI response_format AutoGRAMS' helpers pass around."""
    json_schema = {"name": spec.name, "strict": spec.strict, "schema": dict(spec.schema)}
    return {"type": "json_schema", "json_schema": json_schema}


def complete_structured(
    client: ChatModel,
    config: AutogramConfig,
    messages: Sequence[Mapping[str, Any]],
    obj_structure: Any,
    **kwargs: Any,
) -> Result[Any]:
    """The answer to raw OpenAI ``messages`` (cut to the chat budget) shaped by
    ``obj_structure``, as `generate_object` shapes its answer."""
    options = split_kwargs("complete_structured", kwargs)
    counter = counter_for_model(options.model or config.chatbot_path)
    fitted = fit_to_budget(messages, config.chatbot_max_input_len, counter)
    return _request_structured(client, config, fitted, spec_from_structure(obj_structure), options)


def _request_structured(
    client: ChatModel,
    config: AutogramConfig,
    messages: Sequence[Mapping[str, Any]],
    spec: OutputSpec,
    options: CallOptions,
) -> Result[Any]:
    request = ChatRequest(
        messages=list(messages),
        kind="structured",
        role="chatbot",
        model=options.model,
        output=spec,
        timeout=options.timeout,
        params=chat_params(config, options, with_max_tokens=False),
    )
    return request_structured(client, request)


def _object_schema(properties: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": dict(properties),
        "required": list(properties),
        "additionalProperties": False,
    }


def _object_spec(name: str, properties: Mapping[str, Any]) -> OutputSpec:
    return OutputSpec(name, _object_schema(properties), strict=True)


def _field(result: Result[Any], key: str) -> Result[Any]:
    return Result(result.value[key], result.calls, result.text)


def embed_texts(
    client: ChatModel,
    config: AutogramConfig,
    texts: Sequence[str],
    model: str | None = None,
    timeout: float | None = None,
    dimensions: int | None = None,
) -> Result[list[list[float]]]:
    """One embedding vector per text (get_batch_embeddings)."""
    request = EmbeddingRequest(
        list(texts), model=model or config.embedding_path, timeout=timeout, dimensions=dimensions
    )
    result = client.embed(request)
    return Result(result.vectors, (result.call,), "")


def embed_text(
    client: ChatModel, config: AutogramConfig, text: str, **kwargs: Any
) -> Result[list[float]]:
    """The embedding vector of one text (get_single_embedding)."""
    result = embed_texts(client, config, [text], **kwargs)
    return Result(result.value[0], result.calls, "")

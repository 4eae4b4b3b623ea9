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

from ._prompts import (
    Conversation,
    assemble,
    choice_question,
    fit_to_budget,
    merge_system_prompt,
    messages_from_turns,
    yes_no_question,
)
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
from .models.tokens import MESSAGE_OVERHEAD, REPLY_PRIMING, counter_for_model

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
    """A one-shot reply to ``instruction`` with no conversation history: the instruction is
    the user message as written (no ``INSTRUCTION:`` label), as AutoGRAMS sends it."""
    options = split_kwargs("local_thought", kwargs)
    messages = messages_from_turns([instruction], [], system_prompt, options.multi_modal_inputs)
    if config.system_prompt_in_turns:
        messages = merge_system_prompt(messages)
    counter = counter_for_model(options.model or config.chatbot_path)
    fitted = fit_to_budget(messages, config.chatbot_max_input_len, counter)
    return _chat(client, config, fitted, options)


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


def send_messages(
    client: ChatModel, config: AutogramConfig, messages: Sequence[Mapping[str, Any]], **kwargs: Any
) -> Result[str]:
    """The reply to raw OpenAI ``messages`` sent as the caller gave them, uncut, as AutoGRAMS
    sends them (call_chat_completion: the caller chose the messages, and the model's context)."""
    options = split_kwargs("call_chat_completion", kwargs)
    return _chat(client, config, messages, options, post_process=False)


def call_llm(
    client: ChatModel,
    config: AutogramConfig,
    prompt: str,
    call_type: str = "chat_completion",
    **kwargs: Any,
) -> Result[str]:
    """The reply to one prompt (its start cut to fit ``chatbot_max_input_len``, as AutoGRAMS
    cuts it: the prompt is the caller's text, not a conversation with turns to drop)."""
    if call_type != "chat_completion":
        raise ValueError(
            f"call_type {call_type!r} is not supported: only 'chat_completion' is "
            "(the legacy completions endpoint is not used)"
        )
    counter = counter_for_model(kwargs.get("model") or config.chatbot_path)
    room = max(config.chatbot_max_input_len - REPLY_PRIMING - MESSAGE_OVERHEAD, 1)
    if counter.count(prompt) > room:
        prompt = counter.tail(prompt, room)
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
    spec = _object_spec("list_of_strings", {"data": _array({"type": "string"})})
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
    spec = _object_spec("list_of_strings", {"data": _array(items)})
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
    properties = {key: {"type": "string"} for key in keys}
    spec = _object_spec("fixed_dict", properties, closed_first=True)
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
    item = _object_schema({key: {"type": "string"} for key in keys}, closed_first=True)
    spec = _object_spec("list_of_fixed_dicts", {"data": {"type": "array", "items": item}})
    return _field(
        _structured(
            client, config, conversation, instruction, spec, kwargs, "generate_list_of_dicts"
        ),
        "data",
    )


#: AutoGRAMS' name for a chain's schema
CHAIN_SCHEMA_NAME = "questionnaire_schema"


@dataclass(frozen=True)
class _Step:
    """One item of a chain: its key in the answer (the prompt, as AutoGRAMS keys it) and,
    for a decision, the labels offered and the choices they stand for."""

    key: str
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
    answers are the chosen choice texts. The answer's keys are the prompts (a decision's
    worded as a lone decision is), as AutoGRAMS sends them, so the schema alone tells the
    model what each answer is for.
    """
    steps: dict[str, _Step] = {}
    for index, item in enumerate(chain, 1):
        step = _chain_step(index, item)
        if step.key in steps:
            raise ValueError(
                f"thought_decision_chain() item {index} repeats an earlier item's prompt "
                f"{step.key!r}: each answer is keyed by its prompt"
            )
        steps[step.key] = step
    properties = {key: step.schema for key, step in steps.items()}
    spec = _object_spec(CHAIN_SCHEMA_NAME, properties, closed_first=True)
    result = _structured(client, config, conversation, instruction, spec, kwargs, "thought_chain")
    answers = [step.answer(result.value[key]) for key, step in steps.items()]
    return Result(answers, result.calls, result.text)


def _chain_step(index: int, item: str | Mapping[str, Any]) -> _Step:
    if isinstance(item, str):
        return _Step(_chain_key(item), {"type": "string"})
    kind = item.get("type", "decision")
    if kind == "thought":  # AutoGRAMS' documented {"type": "thought", "prompt": ...}
        return _Step(_chain_key(item["prompt"]), {"type": "string"})
    if kind != "decision":
        raise ValueError(
            f"thought_decision_chain() item {index} has unknown type {kind!r}; "
            "use 'thought' or 'decision'"
        )
    question, choices = item["question"], tuple(item.get("choices") or ())
    if not choices:
        return _Step(_chain_key(question), {"type": "string"})
    if sorted(choice.lower() for choice in choices) == ["no", "yes"]:
        text, _labels = yes_no_question(question)
        # the labels in the choices' order, as AutoGRAMS offers them
        labels = tuple(choice.capitalize() for choice in (c.lower() for c in choices))
    else:
        text, labels = choice_question(question, choices)
    schema = {"type": "string", "enum": list(labels), "description": "Choose one of the options"}
    return _Step(_chain_key(f"INSTRUCTION: {text}"), schema, labels, choices)


def _chain_key(prompt: str) -> str:
    """A prompt as a chain's answer key: on one line, double quotes made single (AutoGRAMS')."""
    return prompt.replace("\n", " ").replace('"', "'")


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


def _object_schema(properties: Mapping[str, Any], *, closed_first: bool = False) -> dict[str, Any]:
    """A strict object schema; `closed_first` puts additionalProperties before required, as
    some of AutoGRAMS' helpers write it (a server other than OpenAI's reads the schema in the
    prompt, so the order is part of the prompt)."""
    if closed_first:
        return {
            "type": "object",
            "properties": dict(properties),
            "additionalProperties": False,
            "required": list(properties),
        }
    return {
        "type": "object",
        "properties": dict(properties),
        "required": list(properties),
        "additionalProperties": False,
    }


def _object_spec(
    name: str, properties: Mapping[str, Any], *, closed_first: bool = False
) -> OutputSpec:
    return OutputSpec(name, _object_schema(properties, closed_first=closed_first), strict=True)


def _array(items: Mapping[str, Any]) -> dict[str, Any]:
    """An array of `items`, as AutoGRAMS' list helpers write it."""
    return {"type": "array", "items": dict(items), "additionalItems": False}


def generate_list_obj(
    client: ChatModel,
    config: AutogramConfig,
    conversation: Conversation,
    instruction: str,
    **kwargs: Any,
) -> Result[list[str]]:
    """A list of strings, asked for with the schema of AutoGRAMS' pydantic class
    ``SimpleList`` (its answer's key is ``items``)."""
    spec = _titled_spec("SimpleList", {"items": {"type": "array", "items": {"type": "string"}}})
    result = _structured(
        client, config, conversation, instruction, spec, kwargs, "generate_list_obj"
    )
    return _field(result, "items")


def generate_fixed_dict_obj(
    client: ChatModel,
    config: AutogramConfig,
    conversation: Conversation,
    instruction: str,
    keys: Sequence[str],
    **kwargs: Any,
) -> Result[dict[str, str]]:
    """A dict with exactly ``keys``, asked for with the schema of AutoGRAMS' pydantic class
    ``DynamicDictModel``."""
    spec = _titled_spec("DynamicDictModel", {key: {"type": "string"} for key in keys})
    return _structured(
        client, config, conversation, instruction, spec, kwargs, "generate_fixed_dict_obj"
    )


def generate_fixed_list_obj(
    client: ChatModel,
    config: AutogramConfig,
    conversation: Conversation,
    instruction: str,
    num_items: int,
    **kwargs: Any,
) -> Result[list[str]]:
    """Exactly ``num_items`` strings, asked for with the schema of AutoGRAMS' pydantic class
    ``Items`` (keys ``item1`` ...)."""
    keys = [f"item{i}" for i in range(1, num_items + 1)]
    spec = _titled_spec("Items", {key: {"type": "string"} for key in keys})
    result = _structured(
        client, config, conversation, instruction, spec, kwargs, "generate_fixed_list_obj"
    )
    return Result([result.value[key] for key in keys], result.calls, result.text)


def _titled_spec(name: str, properties: Mapping[str, Any]) -> OutputSpec:
    """The strict schema the openai SDK makes of a pydantic class `name` with `properties`
    (what AutoGRAMS' pydantic helpers send): the class and each field titled as pydantic
    titles them."""
    titled = {key: {"title": _pydantic_title(key), **value} for key, value in properties.items()}
    return OutputSpec(name, {**_object_schema(titled), "title": name}, strict=True)


def _pydantic_title(name: str) -> str:
    return name.title().replace("_", " ").strip()


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

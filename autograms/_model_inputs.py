"""What a model call's log entry says about the call, in AutoGRAMS' terms: the function it
names (``call_model``, ``call_classifier``, ``call_object_model`` ...) and, when the session
keeps them, the inputs that function took (``input_turns``, ``output_turns``,
``system_prompt``, ``multi_modal_inputs``, ``answer_choices``, ``obj_structure``; or
``messages`` / ``prompt`` for the raw calls), rebuilt from the messages the model was sent.

AutoGRAMS' finetuning data preparation reads exactly these: it keeps the entries a supervisor
answered, rebuilds each prompt from its turn lists and trains on the logged output. Keeping
every call's whole prompt makes the log grow with turns x context, so what is kept is
``AutogramConfig.log_model_inputs``: "supervised" (the default: the calls a supervisor answered,
which are what that preparation reads), "all", or "none".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # a session is loaded without the model layer
    from .models.records import ChatRequest, OutputSpec

#: the function AutoGRAMS logged a helper's model call under, by the kind of request
_FUNCTION_OF_KIND = {
    "chat": "call_model",
    "decision": "call_classifier",
    "structured": "call_object_model",
}
#: helpers whose calls AutoGRAMS logged under a function of their own, on raw messages
_RAW_FUNCTION_OF_HELPER = {
    "call_chat_completion": "call_chat_completion",
    "call_llm": "call_chat_completion",
    "call_completion": "call_completion",
    "completions_classifier": "completions_classifier",
    "completions_logits": "completions_logits",
}


def function_name(helper: str, kind: str) -> str:
    """The function AutoGRAMS names in the log entry of a model call `helper` made (an
    embedding, which it did not log, keeps the helper's name)."""
    return _RAW_FUNCTION_OF_HELPER.get(helper) or _FUNCTION_OF_KIND.get(kind, helper)


def keeps_inputs(mode: str, supervised: bool) -> bool:
    """Whether a call's entry holds its inputs under ``log_model_inputs`` `mode`."""
    return mode == "all" or (mode == "supervised" and supervised)


def logged_inputs(function: str, sent: ChatRequest) -> tuple[str, dict[str, Any]]:
    """(function, inputs) of a call to `function` that sent `sent`: the inputs as AutoGRAMS'
    `function` took them. A helper's prompt that is not of the turn-list form is logged as
    AutoGRAMS logged raw messages, under ``call_chat_completion``."""
    messages = [dict(message) for message in sent.messages]
    if function == "call_completion" and len(messages) == 1:
        return function, {"prompt": messages[0].get("content")}
    if function not in _FUNCTION_OF_KIND.values():
        return function, {"messages": messages}
    turns = turns_from_messages(messages)
    if turns is None:
        return "call_chat_completion", {"messages": messages}
    inputs: dict[str, Any] = {
        "input_turns": turns.input_turns,
        "output_turns": turns.output_turns,
        "system_prompt": turns.system_prompt,
        "multi_modal_inputs": turns.multi_modal_inputs,
    }
    if function == "call_classifier":
        inputs["answer_choices"] = list(sent.choices)
    elif function == "call_object_model" and sent.output is not None:
        inputs["obj_structure"] = _response_format(sent.output)
    return function, inputs


def _response_format(output: OutputSpec) -> dict[str, Any]:
    """The structured output asked for as AutoGRAMS logged it: the ``response_format`` of
    its request (a copy, as plain JSON)."""
    schema = json.loads(json.dumps(output.schema))
    return {
        "type": "json_schema",
        "json_schema": {"name": output.name, "strict": output.strict, "schema": schema},
    }


@dataclass(frozen=True)
class TurnLists:
    """AutoGRAMS' form of a prompt (what its ``call_model`` takes and logs)."""

    input_turns: list[str]
    output_turns: list[str]
    #: None: the prompt has no system message
    system_prompt: str | None
    #: the parts of the last user message after its text (None: it is text alone)
    multi_modal_inputs: list[dict[str, Any]] | None


def turns_from_messages(messages: Sequence[Mapping[str, Any]]) -> TurnLists | None:
    """The turn lists ``autograms._prompts.messages_from_turns`` makes `messages` from (it
    gives them back, a system prompt of "" aside), or None when `messages` are not of that
    form: an optional system message, then user and assistant messages in turn, ending with a
    user message, each with text content (the last may be a list of parts, text first)."""
    rest = list(messages)
    system_prompt = None
    if rest and rest[0].get("role") == "system":
        system_prompt = rest.pop(0).get("content")
        if not isinstance(system_prompt, str):
            return None
    if len(rest) % 2 == 0 or any(set(message) != {"role", "content"} for message in rest):
        return None
    roles = [message["role"] for message in rest]
    if roles != ["user", "assistant"] * (len(rest) // 2) + ["user"]:
        return None
    *earlier, last = [message["content"] for message in rest]
    text, parts = _text_and_parts(last)
    if text is None or not all(isinstance(content, str) for content in earlier):
        return None
    return TurnLists([*earlier[0::2], text], earlier[1::2], system_prompt, parts)


def _text_and_parts(content: Any) -> tuple[str | None, list[dict[str, Any]] | None]:
    """A user message's text and the parts after it (None, None: neither form)."""
    if isinstance(content, str):
        return content, None
    if not isinstance(content, list) or len(content) < 2:
        return None, None
    first = content[0]
    if not isinstance(first, Mapping) or first.get("type") != "text":
        return None, None
    if set(first) != {"type", "text"} or not isinstance(first["text"], str):
        return None, None
    if not all(isinstance(part, Mapping) for part in content[1:]):
        return None, None
    return first["text"], [dict(part) for part in content[1:]]

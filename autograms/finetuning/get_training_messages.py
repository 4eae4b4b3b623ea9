"""Training examples from the model calls logged in saved sessions (AutoGRAMS'
``run_finetuning.py`` data preparation).

An example is the prompt a call sent, rebuilt from its log entry's ``function_inputs``
(``input_turns``, ``output_turns``, ``system_prompt``, ``multi_modal_inputs``; ``messages``
or ``prompt`` for the raw calls), followed by the answer logged as its ``output``. Only calls
whose entry holds its prompt can become examples: by default those a supervisor answered
(``AutogramConfig.log_model_inputs``), which are the ones selected by default here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..config import AutogramConfig

Message = dict[str, Any]
#: the characters of a tag query that are not part of a tag name
_OPERATORS = frozenset("&|()")

#: the entry's function -> which `train_*` switch selects it
_SWITCH_OF_FUNCTION = {
    "call_model": "chatbot",
    "call_chat_completion": "chatbot",
    "call_completion": "chatbot",
    "call_classifier": "classifier",
    "call_object_model": "structured",
}


def get_training_messages(
    memory_list: Iterable[Any],
    autogram_config: AutogramConfig | None = None,
    train_chatbot: bool = True,
    train_structured: bool = True,
    train_classifier: bool = True,
    score_threshold: float | None = None,
    require_score: bool = False,
    require_supervisor: bool = True,
    tag_query: str | None = None,
) -> list[dict[str, list[Message]]]:
    """``{"messages": [...]}`` per selected model call of the sessions in `memory_list`
    (memory_dicts or memories): the prompt it sent, every earlier assistant message with
    ``weight`` 0, then its output with ``weight`` 1. Contents are lists of text parts, as
    AutoGRAMS wrote them (`convert_messages` makes them strings).

    A call is selected when its kind is switched on (`train_chatbot`: call_model and the raw
    chat calls; `train_classifier`: call_classifier; `train_structured`: call_object_model), a
    supervisor answered it (unless `require_supervisor` is False), its score is given if
    `require_score`, and is at least `score_threshold` if that is given (AutoGRAMS raised
    TypeError on a call without a score there: it is left out), and its tags satisfy
    `tag_query` (see `meets_condition`). `autogram_config` is accepted as in AutoGRAMS: the
    prompt is rebuilt as it was logged, with no further truncation."""
    switches = _switches(train_chatbot, train_classifier, train_structured)
    examples = []
    for entry in _selected(
        memory_list, switches, require_supervisor, score_threshold, require_score
    ):
        if tag_query and not meets_condition(tag_query, _tags(entry)):
            continue
        messages = prompt_messages(entry)
        if messages is None:
            continue
        for message in messages:
            if message["role"] == "assistant":
                message["weight"] = 0
        messages.append({**_assistant(_output_text(entry)), "weight": 1})
        examples.append({"messages": messages})
    return examples


def get_training_messages_dpo(
    memory_list: Iterable[Any],
    autogram_config: AutogramConfig | None = None,
    train_chatbot: bool = True,
    train_structured: bool = True,
    train_classifier: bool = True,
    score_threshold: float | None = None,
    require_score: bool = False,
) -> list[dict[str, Any]]:
    """Preference pairs for DPO: per supervised call whose supervisor gave a
    ``rejected_output``, ``{"input": {"messages": prompt}, "preferred_output": [the logged
    output], "non_preferred_output": [each rejected output]}``, with string contents.
    Selection as in `get_training_messages` (a supervisor is always required)."""
    switches = _switches(train_chatbot, train_classifier, train_structured)
    pairs = []
    for entry in _selected(memory_list, switches, True, score_threshold, require_score):
        rejected = entry["supervisor_info"].get("rejected_output")
        messages = prompt_messages(entry)
        if not rejected or messages is None:
            continue
        rejected = rejected if isinstance(rejected, list) else [rejected]
        convert_message_list(messages)
        pairs.append(
            {
                "input": {"messages": messages},
                "preferred_output": [{"role": "assistant", "content": _output_text(entry)}],
                "non_preferred_output": [{"role": "assistant", "content": r} for r in rejected],
            }
        )
    return pairs


def prompt_messages(entry: Mapping[str, Any]) -> list[Message] | None:
    """The messages a model-call log entry's inputs stand for (None: the entry does not hold
    its prompt)."""
    inputs = entry.get("function_inputs") or {}
    function = entry.get("function_name")
    if function == "call_chat_completion" and isinstance(inputs.get("messages"), list):
        return [dict(message) for message in inputs["messages"]]
    if function == "call_completion" and "prompt" in inputs:
        return [{"role": "user", "content": _parts(inputs["prompt"])}]
    if "input_turns" not in inputs:
        return None
    messages = []
    if inputs.get("system_prompt") is not None:
        messages.append({"role": "system", "content": _parts(inputs["system_prompt"])})
    *earlier, last = inputs["input_turns"]
    for user, assistant in zip(earlier, inputs["output_turns"], strict=True):
        messages += [{"role": "user", "content": _parts(user)}, _assistant(assistant)]
    final = {"role": "user", "content": _parts(last)}
    final["content"] += [dict(part) for part in inputs.get("multi_modal_inputs") or ()]
    return [*messages, final]


def convert_messages(
    messages_list: Iterable[Mapping[str, Any]], remove_weight: bool = False
) -> None:
    """Make every example's message contents plain strings (the text of their first part),
    in place; `remove_weight` drops the ``weight`` keys too (for trainers that refuse them)."""
    for example in messages_list:
        convert_message_list(example["messages"], remove_weight=remove_weight)


def convert_message_list(messages: Sequence[Message], remove_weight: bool = False) -> None:
    """`convert_messages` for one list of messages."""
    for message in messages:
        if isinstance(message.get("content"), list):
            message["content"] = message["content"][0]["text"]
        if remove_weight:
            message.pop("weight", None)


def meets_condition(query: str, tags: Iterable[str]) -> bool:
    """Whether `tags` satisfy `query`: tag names combined with ``&`` (and) and ``|`` (or),
    which bind equally and are read left to right, and parentheses. Raises ValueError for a
    query that does not parse."""
    tokens = _tokens(query)
    value, position = _expression(tokens, 0, frozenset(tags))
    if position != len(tokens):
        raise ValueError(f"tag query {query!r}: unexpected {tokens[position]!r}")
    return value


# -- helpers -------------------------------------------------------------------------------------


def _switches(chatbot: bool, classifier: bool, structured: bool) -> dict[str, bool]:
    """Which kinds of model call are switched on (the keys of `_SWITCH_OF_FUNCTION`)."""
    return {"chatbot": chatbot, "classifier": classifier, "structured": structured}


def _selected(
    memory_list: Iterable[Any],
    switches: dict[str, bool],
    require_supervisor: bool,
    score_threshold: float | None,
    require_score: bool,
) -> Iterable[Mapping[str, Any]]:
    """The model-call entries of every session whose kind is switched on and that pass the
    supervisor and score filters."""
    for memory in memory_list:
        memory_dict = getattr(memory, "memory_dict", memory)
        for entry in memory_dict["model_turns"]:
            if not isinstance(entry, Mapping) or entry.get("entry_type") != "model":
                continue
            if not switches.get(_SWITCH_OF_FUNCTION.get(entry["function_name"], ""), False):
                continue
            info = entry.get("supervisor_info")
            if info is None and (require_supervisor or require_score or score_threshold):
                continue
            score = (info or {}).get("score")
            if require_score and score is None:
                continue
            if score_threshold is not None and (score is None or score < score_threshold):
                continue
            yield entry


def _tags(entry: Mapping[str, Any]) -> list[str]:
    return list((entry.get("supervisor_info") or {}).get("tags") or ())


def _parts(text: str) -> list[dict[str, str]]:
    return [{"type": "text", "text": text}]


def _assistant(text: str) -> Message:
    return {"role": "assistant", "content": _parts(text)}


def _output_text(entry: Mapping[str, Any]) -> str:
    output = entry.get("output")
    if isinstance(output, list):  # AutoGRAMS' test mode logged a list of answers
        output = output[0] if output else ""
    return output if isinstance(output, str) else str(output)


def _tokens(query: str) -> list[str]:
    """Operators and parentheses, and the tag names between them (spaces inside kept)."""
    tokens: list[str] = []
    name = ""
    for character in query + "&":  # a last operator ends the last name
        if character not in _OPERATORS:
            name += character
            continue
        if name.strip():
            tokens.append(name.strip())
        name = ""
        tokens.append(character)
    return tokens[:-1]


def _expression(tokens: list[str], position: int, tags: frozenset[str]) -> tuple[bool, int]:
    value, position = _operand(tokens, position, tags)
    while position < len(tokens) and tokens[position] in ("&", "|"):
        operator = tokens[position]
        right, position = _operand(tokens, position + 1, tags)
        value = (value and right) if operator == "&" else (value or right)
    return value, position


def _operand(tokens: list[str], position: int, tags: frozenset[str]) -> tuple[bool, int]:
    if position >= len(tokens) or tokens[position] in ("&", "|", ")"):
        raise ValueError("tag query: a tag or '(' expected")
    if tokens[position] == "(":
        value, position = _expression(tokens, position + 1, tags)
        if position >= len(tokens) or tokens[position] != ")":
            raise ValueError("tag query: ')' expected")
        return value, position + 1
    return tokens[position] in tags, position + 1

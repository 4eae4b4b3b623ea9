"""The model helpers of `autograms.functional`, bound to the running conversation.

Each helper reads the conversation from the current memory, calls the pure helper of
`_generation` or `_decisions` with the session's model and config, logs the model calls, and
records what the conversation should remember (thoughts, replies).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from . import _decisions, _generation
from ._control import GOTO, RETURNTO, reply
from ._prompts import assemble
from .memory import MemoryObject, require_memory
from .models.records import Result
from .models.tokens import counter_for_model

# AutoGRAMS' supervisor keywords only act in its supervisor mode, which this library does
# not run; outside it AutoGRAMS drops them too.
_SUPERVISOR_KEYWORDS = ("supervisor", "supervisor_kwargs")


def _session(what: str) -> MemoryObject:
    return require_memory(what)


def _value(memory: MemoryObject, result: Result, helper: str) -> Any:
    memory.log_model_calls(result.calls, helper)
    return result.value


def _clean(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in kwargs.items() if key not in _SUPERVISOR_KEYWORDS}


# -- replies -------------------------------------------------------------------------------


def reply_instruction(
    instruction: str,
    data: Any = None,
    ADDRESS: str | None = None,  # noqa: N803
    **kwargs: Any,
) -> str:
    """Reply with what the model writes for `instruction`; returns the user's next message.

    Keywords go to the model call: max_turns, model, temperature, max_tokens,
    multi_modal_inputs ...
    """
    memory = _session("reply_instruction()")
    memory.check_may_pause("reply_instruction()")
    result = _generation.chat_reply(
        memory.model, memory.config, memory.conversation(), instruction, **_clean(kwargs)
    )
    return reply(_value(memory, result, "reply_instruction"), data=data, ADDRESS=ADDRESS)


def reply_suffix(
    instruction: str,
    data: Any = None,
    ADDRESS: str | None = None,  # noqa: N803
    **kwargs: Any,
) -> str:
    """Reply with a short model-written response followed by exactly `instruction`."""
    memory = _session("reply_suffix()")
    memory.check_may_pause("reply_suffix()")
    result = _generation.reply_with_suffix(
        memory.model, memory.config, memory.conversation(), instruction, **_clean(kwargs)
    )
    return reply(_value(memory, result, "reply_suffix"), data=data, ADDRESS=ADDRESS)


# -- thoughts and raw calls ------------------------------------------------------------------


def thought(instruction: str, **kwargs: Any) -> str:
    """The model's answer to `instruction`; the conversation remembers both."""
    memory = _session("thought()")
    result = _generation.chat_reply(
        memory.model, memory.config, memory.conversation(), instruction, **_clean(kwargs)
    )
    answer = _value(memory, result, "thought")
    memory.log_thought_turn(answer, instruction)
    return answer


def silent_thought(instruction: str, **kwargs: Any) -> str:
    """The model's answer to `instruction`; the conversation does not remember it."""
    memory = _session("silent_thought()")
    result = _generation.chat_reply(
        memory.model, memory.config, memory.conversation(), instruction, **_clean(kwargs)
    )
    return _value(memory, result, "silent_thought")


def local_thought(instruction: str, system_prompt: str = "", **kwargs: Any) -> str:
    """The model's answer to `instruction` alone, with no conversation history."""
    memory = _session("local_thought()")
    result = _generation.local_thought(
        memory.model, memory.config, instruction, system_prompt, **_clean(kwargs)
    )
    return _value(memory, result, "local_thought")


def call_llm(
    prompt: str, call_type: str = "chat_completion", model: str | None = None, **kwargs: Any
) -> str:
    """The model's whole answer to one prompt (its start cut to fit the input budget)."""
    memory = _session("call_llm()")
    options = _clean(kwargs) | ({"model": model} if model else {})
    result = _generation.call_llm(memory.model, memory.config, prompt, call_type, **options)
    return _value(memory, result, "call_llm")


def call_chat_completion(
    messages: Sequence[Mapping[str, Any]], model: str | None = None, **kwargs: Any
) -> tuple[str, bool]:
    """The model's answer to raw OpenAI `messages`: ``(text, True)``."""
    memory = _session("call_chat_completion()")
    options = _clean(kwargs) | ({"model": model} if model else {})
    result = _generation.complete_messages(memory.model, memory.config, messages, **options)
    return _value(memory, result, "call_chat_completion"), True


# -- decisions ------------------------------------------------------------------------------


def yes_or_no(question: str, max_turns: int | None = 1, **kwargs: Any) -> bool:
    """True if the model answers Yes to `question` about the last `max_turns` turns.

    Raises `DecisionError` when the model gives no usable answer (never a silent False).
    """
    memory = _session("yes_or_no()")
    result = _decisions.yes_or_no(
        memory.model, memory.config, memory.conversation(), question, max_turns, **_clean(kwargs)
    )
    return _value(memory, result, "yes_or_no")


def multiple_choice(
    question: str, choices: Sequence[str], max_turns: int | None = 1, **kwargs: Any
) -> int:
    """Index of the choice the model picks; raises `DecisionError` if it picks none."""
    memory = _session("multiple_choice()")
    result = _decisions.multiple_choice(
        memory.model,
        memory.config,
        memory.conversation(),
        question,
        choices,
        max_turns,
        **_clean(kwargs),
    )
    return _value(memory, result, "multiple_choice")


def multiple_choice_logits(
    question: str, choices: Sequence[str], max_turns: int | None = 1, **kwargs: Any
) -> list[float]:
    """Log-probability of each choice (needs ``classifier_mode="logit"``)."""
    memory = _session("multiple_choice_logits()")
    result = _decisions.multiple_choice_logits(
        memory.model,
        memory.config,
        memory.conversation(),
        question,
        choices,
        max_turns,
        **_clean(kwargs),
    )
    return _value(memory, result, "multiple_choice_logits")


def TRANSITION(
    transition_question: str,
    transitions: Mapping[str, str],  # noqa: N802
    max_turns: int | None = 1,
    **kwargs: Any,
) -> None:
    """Ask `transition_question`, then GOTO the label of the chosen answer (or RETURNTO it,
    for a destination written ``"returnto <label>"``)."""
    memory = _session("TRANSITION()")
    memory.check_may_pause("TRANSITION()")
    result = _decisions.decide_transition(
        memory.model,
        memory.config,
        memory.conversation(),
        transition_question,
        transitions,
        max_turns,
        **_clean(kwargs),
    )
    destination = _value(memory, result, "TRANSITION").strip()
    kind, _, label = destination.partition(" ")
    if kind.lower() == "returnto" and label:
        RETURNTO(label.strip())
    GOTO(destination)


# -- structured generation ---------------------------------------------------------------------


def _generate(helper: str, *args: Any, **kwargs: Any) -> Any:
    memory = _session(f"{helper}()")
    function = getattr(_generation, helper)
    result = function(memory.model, memory.config, memory.conversation(), *args, **_clean(kwargs))
    return _value(memory, result, helper)


def generate_list(instruction: str, **kwargs: Any) -> list[str]:
    """A list of strings the model writes for `instruction`."""
    return _generate("generate_list", instruction, **kwargs)


def generate_fixed_list(instruction: str, num_items: int, **kwargs: Any) -> list[str]:
    """Exactly `num_items` strings."""
    return _generate("generate_fixed_list", instruction, num_items, **kwargs)


def generate_fixed_dict(instruction: str, keys: Sequence[str], **kwargs: Any) -> dict[str, str]:
    """A dict with exactly `keys`, each a string the model writes."""
    return _generate("generate_fixed_dict", instruction, keys, **kwargs)


def generate_list_of_dicts(
    instruction: str, keys: Sequence[str], **kwargs: Any
) -> list[dict[str, str]]:
    """A list of dicts, each with exactly `keys`."""
    return _generate("generate_list_of_dicts", instruction, keys, **kwargs)


def generate_list_of_choices(instruction: str, choices: Sequence[str], **kwargs: Any) -> list[str]:
    """A list whose items are all taken from `choices`."""
    return _generate("generate_list_of_choices", instruction, choices, **kwargs)


def generate_object(instruction: str, obj_structure: Any, **kwargs: Any) -> Any:
    """An object of `obj_structure`: a pydantic model class (returns an instance) or an
    OpenAI JSON-schema dict (returns the JSON text, as AutoGRAMS does)."""
    value = _generate("generate_object", instruction, obj_structure, **kwargs)
    return json.dumps(value) if isinstance(obj_structure, Mapping) else value


def thought_chain(instruction: str, chain: Sequence[str], **kwargs: Any) -> list[str]:
    """Answers to a chain of prompts, written by the model in one structured call."""
    return _generate("thought_chain", instruction, chain, **kwargs)


def decision_chain(
    instruction: str, chain: Sequence[Mapping[str, Any]], **kwargs: Any
) -> list[str]:
    """Choices for a chain of ``{"question", "choices"}`` decisions, in one call."""
    return _generate("decision_chain", instruction, chain, **kwargs)


def thought_decision_chain(
    instruction: str, chain_structure: Sequence[Any], **kwargs: Any
) -> list[str]:
    """A mixed chain of prompts and decisions, in one call."""
    return _generate("thought_decision_chain", instruction, chain_structure, **kwargs)


# -- embeddings and history ------------------------------------------------------------------


def get_batch_embeddings(texts: Sequence[str], **kwargs: Any) -> list[list[float]]:
    """One embedding vector per text."""
    memory = _session("get_batch_embeddings()")
    result = _generation.embed_texts(memory.model, memory.config, texts, **_clean(kwargs))
    return _value(memory, result, "get_batch_embeddings")


def get_single_embedding(text: str, **kwargs: Any) -> list[float]:
    """The embedding vector of one text."""
    memory = _session("get_single_embedding()")
    result = _generation.embed_text(memory.model, memory.config, text, **_clean(kwargs))
    return _value(memory, result, "get_single_embedding")


def get_turn_history(
    instruction: str = "", max_turns: int | None = None, conv_only: bool = False
) -> tuple[list[str], list[str], str]:
    """The conversation as the model would see it: ``(inputs, outputs, system_prompt)``,
    the user-side and assistant-side message texts in order. `conv_only` is accepted for
    AutoGRAMS compatibility and has no effect."""
    memory = _session("get_turn_history()")
    messages = assemble(
        memory.conversation(),
        instruction or "",
        memory.config,
        counter_for_model(memory.config.chatbot_path),
        max_turns=max_turns,
    )
    inputs = [m["content"] for m in messages if m["role"] == "user"]
    outputs = [m["content"] for m in messages if m["role"] == "assistant"]
    return inputs, outputs, memory.get_system_prompt()


def set_system_prompt(text: str) -> None:
    """Set the system prompt of the current decorated call (its callees inherit it; it
    reverts when the call returns)."""
    _session("set_system_prompt()").set_system_prompt(text)


def append_system_prompt(text: str) -> None:
    """Add a line to the current decorated call's system prompt."""
    _session("append_system_prompt()").append_system_prompt(text)


def get_system_prompt() -> str:
    """The system prompt the current decorated call's model calls use."""
    return _session("get_system_prompt()").get_system_prompt()


def extract_last_user_reply() -> str | None:
    """The user's latest message (still available after the agent replied)."""
    return _session("extract_last_user_reply()").extract_last_user_reply()


def extract_full_conv_history() -> list[dict[str, str]]:
    """Every user and agent message of the session, in order, whatever the scopes."""
    return _session("extract_full_conv_history()").extract_full_conv_history()


def log_chat_turn(
    reply_text: str,
    instruction: str | None = None,
    line_number: int | None = None,
    function_name: str | None = None,
) -> None:
    """Record an agent reply without pausing (AutoGRAMS compatibility)."""
    _session("log_chat_turn()").log_chat_turn(reply_text, function=function_name)


def log_thought_turn(reply_text: str, instruction: str) -> None:
    """Record a thought's instruction and answer in the conversation."""
    _session("log_thought_turn()").log_thought_turn(reply_text, instruction)

"""The model helpers of `autograms.functional`, bound to the running conversation.

Each helper reads the conversation from the current memory, calls the pure helper of
`_generation` or `_decisions` with the session's model and config, logs the model calls (with
the position in the bot that asked), and records what the conversation should remember
(thoughts, replies).

Keyword arguments are sorted by `_helper_call` (per-call model settings, supervisors).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import _decisions, _generation
from ._control import GOTO, RETURNTO, reply
from ._errors import SupervisorError
from ._helper_call import HelperCall, start_call, with_model
from ._position import CodePosition, code_position
from ._prompts import Conversation, assemble, choice_labels
from ._reply_stream import current_reply_stream
from .supervisors import default_answer
from .memory import MemoryObject, require_memory
from .models.tokens import counter_for_model


def _label_of(helper: str, choices: Sequence[str]) -> Callable[[Any], str]:
    """Answer text for a supervisor that returns a choice's index: that choice's label."""

    def encode(output: Any) -> str:
        labels = choice_labels(len(choices))
        if isinstance(output, int) and not isinstance(output, bool):
            if 0 <= output < len(choices):
                return labels[output]
            raise SupervisorError(
                f"the supervisor of {helper}() returned index {output}, but there are "
                f"{len(choices)} choices",
                helper=helper,
                output=output,
            )
        return default_answer(helper, output)

    return encode


def _wrapped(helper: str, key: str) -> Callable[[Any], str]:
    """Answer text for a supervisor that returns a helper's list: ``{key: the list}``."""

    def encode(output: Any) -> str:
        return default_answer(helper, {key: output} if isinstance(output, list) else output)

    return encode


# -- replies -------------------------------------------------------------------------------


def reply_instruction(
    instruction: str,
    data: Any = None,
    ADDRESS: str | None = None,  # noqa: N803
    **kwargs: Any,
) -> str:
    """Reply with what the model writes for `instruction`; returns the user's next message.

    Keywords go to the model call: max_turns, model, temperature, max_tokens,
    multi_modal_inputs ...; supervisor= and supervisor_kwargs= as in `autograms.supervisors`.
    """
    memory = require_memory("reply_instruction()")
    memory.check_may_pause("reply_instruction()")
    call = start_call("reply_instruction", (instruction,), kwargs, memory=memory)
    text = call.value(
        _generation.chat_reply(
            call.model,
            call.config,
            memory.conversation(),
            instruction,
            reply_stream=current_reply_stream(),
            **call.options,
        )
    )
    return reply(text, data=data, ADDRESS=ADDRESS)


def reply_suffix(
    instruction: str,
    data: Any = None,
    ADDRESS: str | None = None,  # noqa: N803
    **kwargs: Any,
) -> str:
    """Reply with a short model-written response followed by exactly `instruction`."""
    memory = require_memory("reply_suffix()")
    memory.check_may_pause("reply_suffix()")
    call = start_call("reply_suffix", (instruction,), kwargs, memory=memory)
    text = call.value(
        _generation.reply_with_suffix(
            call.model,
            call.config,
            memory.conversation(),
            instruction,
            reply_stream=current_reply_stream(),
            **call.options,
        )
    )
    return reply(text, data=data, ADDRESS=ADDRESS)


# -- thoughts and raw calls ------------------------------------------------------------------


def thought(instruction: str, **kwargs: Any) -> str:
    """The model's answer to `instruction`; the conversation remembers both."""
    call = start_call("thought", (instruction,), kwargs)
    answer = call.value(
        _generation.chat_reply(
            call.model, call.config, call.memory.conversation(), instruction, **call.options
        )
    )
    call.memory.log_thought_turn(answer, instruction)
    return answer


def silent_thought(instruction: str, **kwargs: Any) -> str:
    """The model's answer to `instruction`; the conversation does not remember it."""
    return _silent("silent_thought", instruction, kwargs)


def call_conv_model(instruction: str, **kwargs: Any) -> str:
    """The model's answer to `instruction` after the conversation (what `silent_thought`
    does; AutoGRAMS' name for the call underneath the thoughts)."""
    return _silent("call_conv_model", instruction, kwargs)


def _silent(helper: str, instruction: str, kwargs: Mapping[str, Any]) -> str:
    call = start_call(helper, (instruction,), kwargs)
    return call.value(
        _generation.chat_reply(
            call.model, call.config, call.memory.conversation(), instruction, **call.options
        )
    )


def local_thought(instruction: str, system_prompt: str = "", **kwargs: Any) -> str:
    """The model's answer to `instruction` alone, with no conversation history."""
    call = start_call("local_thought", (instruction,), kwargs)
    return call.value(
        _generation.local_thought(
            call.model, call.config, instruction, system_prompt, **call.options
        )
    )


def call_llm(
    prompt: str, call_type: str = "chat_completion", model: str | None = None, **kwargs: Any
) -> str:
    """The model's whole answer to one prompt (its start cut to fit the input budget)."""
    call = start_call("call_llm", (prompt,), with_model(kwargs, model))
    return call.value(
        _generation.call_llm(call.model, call.config, prompt, call_type, **call.options)
    )


def call_chat_completion(
    messages: Sequence[Mapping[str, Any]], model: str | None = None, **kwargs: Any
) -> tuple[str, bool]:
    """The model's answer to raw OpenAI `messages`: ``(text, True)``."""
    call = start_call("call_chat_completion", (messages,), with_model(kwargs, model))
    result = _generation.send_messages(call.model, call.config, messages, **call.options)
    return call.value(result), True


# -- decisions ------------------------------------------------------------------------------


def _turns_given(max_turns: int | None) -> dict[str, Any]:
    """A decision helper's `max_turns` as its supervisor receives it: when the caller chose
    one (AutoGRAMS passes the keywords given; the default, 1, is passed as not given)."""
    return {} if max_turns == 1 else {"max_turns": max_turns}


def _decision_conversation(memory: MemoryObject, max_turns: int | None) -> Conversation:
    """What a decision is asked about: with ``max_turns=None`` (or negative) every turn of
    the scope, those the live window let go read back from the log (a decision goes whole, as
    AutoGRAMS sends it); otherwise the live turns, which hold its newest ones."""
    if max_turns is None or max_turns < 0:
        return memory.whole_conversation()
    return memory.conversation()


def yes_or_no(question: str, max_turns: int | None = 1, **kwargs: Any) -> bool:
    """True if the model answers Yes to `question` about the last `max_turns` turns.

    Raises `DecisionError` when the model gives no usable answer (never a silent False).
    """
    if not isinstance(question, str):
        raise TypeError(f"yes_or_no() question must be a str, not {type(question).__name__}")
    call = start_call("yes_or_no", (question,), kwargs, named=_turns_given(max_turns))
    with call.reading_answer():
        result = _decisions.yes_or_no(
            call.model,
            call.config,
            _decision_conversation(call.memory, max_turns),
            question,
            max_turns,
            **call.options,
        )
    return call.value(result)


def multiple_choice(
    question: str, choices: Sequence[str], max_turns: int | None = 1, **kwargs: Any
) -> int:
    """Index of the choice the model picks; raises `DecisionError` if it picks none."""
    encode = _label_of("multiple_choice", choices)
    call = start_call(
        "multiple_choice", (question, choices), kwargs, encode, named=_turns_given(max_turns)
    )
    with call.reading_answer():
        result = _decisions.multiple_choice(
            call.model,
            call.config,
            _decision_conversation(call.memory, max_turns),
            question,
            choices,
            max_turns,
            **call.options,
        )
    return call.value(result)


def multiple_choice_logits(
    question: str, choices: Sequence[str], max_turns: int | None = 1, **kwargs: Any
) -> list[float]:
    """Log-probability of each choice, from one token's top logprobs (any classifier_mode;
    needs a server that returns logprobs)."""
    _decisions.require_choices("multiple_choice_logits", "choices", choices)
    call = start_call("multiple_choice_logits", (question, choices), kwargs, supervisable=False)
    return call.value(
        _decisions.multiple_choice_logits(
            call.model,
            call.config,
            _decision_conversation(call.memory, max_turns),
            question,
            choices,
            max_turns,
            **call.options,
        )
    )


def TRANSITION(
    transition_question: str,
    transitions: Mapping[str, str],  # noqa: N802
    max_turns: int | None = 1,
    **kwargs: Any,
) -> None:
    """Ask `transition_question`, then GOTO the label of the chosen answer (or RETURNTO it,
    for a destination written ``"returnto <label>"``)."""
    memory = require_memory("TRANSITION()")
    memory.check_may_pause("TRANSITION()")
    keys = list(transitions)
    encode = _choice_text("TRANSITION", keys)
    call = start_call(
        "TRANSITION",
        (transition_question, transitions),
        kwargs,
        encode,
        memory=memory,
        named=_turns_given(max_turns),
    )
    with call.reading_answer():
        result = _decisions.decide_transition(
            call.model,
            call.config,
            _decision_conversation(memory, max_turns),
            transition_question,
            transitions,
            max_turns,
            **call.options,
        )
    destination = call.value(result).strip()
    kind, _, label = destination.partition(" ")
    if kind.lower() == "returnto" and label:
        RETURNTO(label.strip())
    GOTO(destination)


def _choice_text(helper: str, keys: Sequence[str]) -> Callable[[Any], str]:
    """Answer text for a TRANSITION supervisor that returns a key's index: the key."""

    def encode(output: Any) -> str:
        if isinstance(output, int) and not isinstance(output, bool) and 0 <= output < len(keys):
            return keys[output]
        return default_answer(helper, output)

    return encode


# -- structured generation ---------------------------------------------------------------------


def _generate(
    helper: str, args: tuple[Any, ...], kwargs: Mapping[str, Any], encode: Any = None
) -> Any:
    call = start_call(helper, args, kwargs, encode)
    function = getattr(_generation, helper)
    conversation = call.memory.conversation()
    with call.reading_answer():
        result = function(call.model, call.config, conversation, *args, **call.options)
    return call.value(result)


def generate_list(instruction: str, **kwargs: Any) -> list[str]:
    """A list of strings the model writes for `instruction`."""
    return _generate("generate_list", (instruction,), kwargs, _wrapped("generate_list", "data"))


def generate_fixed_list(instruction: str, num_items: int, **kwargs: Any) -> list[str]:
    """Exactly `num_items` strings."""

    def encode(output: Any) -> str:
        if isinstance(output, list):
            output = {f"item{i}": item for i, item in enumerate(output, 1)}
        return default_answer("generate_fixed_list", output)

    return _generate("generate_fixed_list", (instruction, num_items), kwargs, encode)


def generate_fixed_dict(instruction: str, keys: Sequence[str], **kwargs: Any) -> dict[str, str]:
    """A dict with exactly `keys`, each a string the model writes."""
    return _generate("generate_fixed_dict", (instruction, keys), kwargs)


def generate_list_of_dicts(
    instruction: str, keys: Sequence[str], **kwargs: Any
) -> list[dict[str, str]]:
    """A list of dicts, each with exactly `keys`."""
    encode = _wrapped("generate_list_of_dicts", "data")
    return _generate("generate_list_of_dicts", (instruction, keys), kwargs, encode)


def generate_list_of_choices(instruction: str, choices: Sequence[str], **kwargs: Any) -> list[str]:
    """A list whose items are all taken from `choices`."""
    _decisions.require_choices("generate_list_of_choices", "choices", choices)
    encode = _wrapped("generate_list_of_choices", "data")
    return _generate("generate_list_of_choices", (instruction, choices), kwargs, encode)


def generate_object(instruction: str, obj_structure: Any, **kwargs: Any) -> Any:
    """An object of `obj_structure`: a pydantic model class (returns an instance) or an
    OpenAI JSON-schema dict (returns the JSON text, as AutoGRAMS does)."""
    value = _generate("generate_object", (instruction, obj_structure), kwargs)
    return json.dumps(value) if isinstance(obj_structure, Mapping) else value


def thought_chain(instruction: str, chain: Sequence[str], **kwargs: Any) -> list[str]:
    """Answers to a chain of prompts, written by the model in one structured call."""
    return _generate("thought_chain", (instruction, chain), kwargs)


def decision_chain(
    instruction: str, chain: Sequence[Mapping[str, Any]], **kwargs: Any
) -> list[str]:
    """Choices for a chain of ``{"question", "choices"}`` decisions, in one call."""
    return _generate("decision_chain", (instruction, chain), kwargs)


def thought_decision_chain(
    instruction: str, chain_structure: Sequence[Any], fixed_type: Any = None, **kwargs: Any
) -> list[str]:
    """A mixed chain of prompts and decisions, in one call (`fixed_type` is accepted for
    AutoGRAMS compatibility and has no effect, as there)."""
    return _generate("thought_decision_chain", (instruction, chain_structure), kwargs)


# -- embeddings and history ------------------------------------------------------------------


def get_batch_embeddings(
    texts: Sequence[str], default_size: int | None = None, **kwargs: Any
) -> list[list[float]]:
    """One embedding vector per text. `default_size` is the vectors' length in test mode
    (default: the scripted model's, the same as `get_single_embedding`'s)."""
    call = start_call("get_batch_embeddings", (texts,), kwargs, supervisable=False)
    options = _embedding_options(call, default_size)
    return call.value(_generation.embed_texts(call.model, call.config, texts, **options))


def get_batch_embedding(
    texts: Sequence[str], default_size: int | None = None, **kwargs: Any
) -> list[list[float]]:
    """AutoGRAMS 0.5's name of `get_batch_embeddings`."""
    return get_batch_embeddings(texts, default_size, **kwargs)


def get_single_embedding(text: str, default_size: int | None = None, **kwargs: Any) -> list[float]:
    """The embedding vector of one text (`default_size`: its length in test mode)."""
    call = start_call("get_single_embedding", (text,), kwargs, supervisable=False)
    options = _embedding_options(call, default_size)
    return call.value(_generation.embed_text(call.model, call.config, text, **options))


def _embedding_options(call: HelperCall, default_size: int | None) -> dict[str, Any]:
    if not call.memory.test_mode:
        unknown = sorted(set(call.options) - set(_EMBEDDING_KEYWORDS))
        if unknown:
            raise TypeError(
                f"{call.helper}() got an unexpected keyword argument {unknown[0]!r}: an "
                f"embeddings call takes {', '.join(map(repr, _EMBEDDING_KEYWORDS))}"
            )
        return call.options
    options = {k: v for k, v in call.options.items() if k in _EMBEDDING_KEYWORDS}
    if default_size is not None:
        options.setdefault("dimensions", default_size)
    return options


#: keywords an embeddings call takes (in test mode, others are ignored like any unknown one)
_EMBEDDING_KEYWORDS = ("model", "timeout", "dimensions")


def get_turn_history(
    instruction: str = "", max_turns: int | None = None, conv_only: bool = False
) -> tuple[list[str], list[str], str]:
    """The conversation as the model would see it, whole: ``(inputs, outputs,
    system_prompt)``, the user-side and assistant-side message texts in order -- every turn
    of the scope (or the last `max_turns` user messages'), not cut to the prompt's token
    budget, as in AutoGRAMS. `conv_only` is accepted for AutoGRAMS compatibility and has no
    effect."""
    memory = require_memory("get_turn_history()")
    messages = assemble(
        memory.whole_conversation(),
        instruction or "",
        memory.config,
        counter_for_model(memory.config.chatbot_path),
        max_turns=max_turns,
        history=True,
    )
    inputs = [m["content"] for m in messages if m["role"] == "user"]
    outputs = [m["content"] for m in messages if m["role"] == "assistant"]
    return inputs, outputs, memory.get_system_prompt()


def set_system_prompt(text: str) -> None:
    """Set the system prompt of the current decorated call (its callees inherit it; it
    reverts when the call returns)."""
    _require_text("set_system_prompt", text)
    require_memory("set_system_prompt()").set_system_prompt(text)


def append_system_prompt(text: str) -> None:
    """Add a line to the current decorated call's system prompt."""
    _require_text("append_system_prompt", text)
    require_memory("append_system_prompt()").append_system_prompt(text)


def _require_text(helper: str, text: Any) -> None:
    """Refuse a system prompt that is not text where it is set, not at the next model call."""
    if not isinstance(text, str):
        raise TypeError(f"{helper}() text must be a str, not {type(text).__name__}")


def get_system_prompt() -> str:
    """The system prompt the current decorated call's model calls use."""
    return require_memory("get_system_prompt()").get_system_prompt()


def extract_last_user_reply() -> str | None:
    """The user's latest message (still available after the agent replied)."""
    return require_memory("extract_last_user_reply()").extract_last_user_reply()


def extract_full_conv_history() -> list[dict[str, str]]:
    """Every user and agent message of the session, in order, whatever the scopes."""
    return require_memory("extract_full_conv_history()").extract_full_conv_history()


def log_chat_turn(
    reply: str,
    instruction: str | None = None,
    line_number: int | None = None,
    function_name: str | None = None,
) -> None:
    """Record an agent reply without pausing (AutoGRAMS compatibility); the log names
    `function_name`, by default the bot function that called this."""
    if function_name is None:
        position = code_position()
        function_name = None if position is None else position["function_name"]
    require_memory("log_chat_turn()").log_chat_turn(
        reply, instruction, line_number=line_number, function_name=function_name
    )


def log_thought_turn(reply: str, instruction: str) -> None:
    """Record a thought's instruction and answer in the conversation."""
    require_memory("log_thought_turn()").log_thought_turn(reply, instruction)


def get_code_position() -> CodePosition | None:
    """``{"line_number", "function_name", "file_name"}`` of the bot code that called this
    (the innermost decorated function running, as AutoGRAMS gives it), or None."""
    return code_position()


# -- AutoGRAMS' pydantic variants -----------------------------------------------------------


def generate_list_obj(instruction: str, **kwargs: Any) -> list[str]:
    """A list of strings, as `generate_list` gives, asked for in AutoGRAMS' pydantic form
    (the schema of its class ``SimpleList``: the answer's key is ``items``)."""
    return _generate(
        "generate_list_obj", (instruction,), kwargs, _wrapped("generate_list_obj", "items")
    )


def generate_fixed_list_obj(instruction: str, num_items: int, **kwargs: Any) -> list[str]:
    """Exactly `num_items` strings, as `generate_fixed_list` gives, asked for in AutoGRAMS'
    pydantic form (the schema of its class ``Items``)."""

    def encode(output: Any) -> str:
        if isinstance(output, list):
            output = {f"item{i}": item for i, item in enumerate(output, 1)}
        return default_answer("generate_fixed_list_obj", output)

    return _generate("generate_fixed_list_obj", (instruction, num_items), kwargs, encode)


def generate_fixed_dict_obj(instruction: str, keys: Sequence[str], **kwargs: Any) -> dict[str, str]:
    """A dict with exactly `keys`, as `generate_fixed_dict` gives, asked for in AutoGRAMS'
    pydantic form (the schema of its class ``DynamicDictModel``)."""
    return _generate("generate_fixed_dict_obj", (instruction, keys), kwargs)

"""The functions a program calls: replies, decisions, generation, jumps, conversation state.

The AutoGRAMS import path (``from autograms.functional import reply, yes_or_no, ...``) with
every public name of AutoGRAMS 0.6.0's module (and 0.5.3's); this module only re-exports.
The helpers that call models, and the other tools, are imported on first use: a program that
only replies and jumps does not pay for them when a fresh worker starts (issue 11).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._control import EXIT, GOTO, RETURNTO, location, reply
from ._lazy import lazy_names
from .memory import get_memory, set_memory, use_memory

if TYPE_CHECKING:
    from ._code import (
        execute_code,
        extract_code,
        extract_code_legacy,
    )
    from ._model_helpers import (
        TRANSITION,
        append_system_prompt,
        call_chat_completion,
        call_conv_model,
        call_llm,
        decision_chain,
        extract_full_conv_history,
        extract_last_user_reply,
        generate_fixed_dict,
        generate_fixed_dict_obj,
        generate_fixed_list,
        generate_fixed_list_obj,
        generate_list,
        generate_list_obj,
        generate_list_of_choices,
        generate_list_of_dicts,
        generate_object,
        get_batch_embedding,
        get_batch_embeddings,
        get_code_position,
        get_single_embedding,
        get_system_prompt,
        get_turn_history,
        local_thought,
        log_chat_turn,
        log_thought_turn,
        multiple_choice,
        multiple_choice_logits,
        reply_instruction,
        reply_suffix,
        set_system_prompt,
        silent_thought,
        thought,
        thought_chain,
        thought_decision_chain,
        yes_or_no,
    )
    from ._parallel import (
        initialize_thread_local,
        parallel_wrapper,
        process_task,
    )
    from ._raw_calls import (
        call_classifier,
        call_completion,
        call_model,
        call_object_model,
        completions_classifier,
        completions_logits,
    )
    from ._schemas import (
        convert_openai_json_schema,
        generate_json_schema,
        initialize_value,
        initialize_with_defaults,
        initialize_with_defaults_json,
        make_decision_regex,
        make_decision_schema_json,
    )

#: Name -> the module that defines it, imported on first use.
_LAZY = {
    **dict.fromkeys(
        (
            "execute_code",
            "extract_code",
            "extract_code_legacy",
        ),
        "_code",
    ),
    **dict.fromkeys(
        (
            "TRANSITION",
            "append_system_prompt",
            "call_chat_completion",
            "call_conv_model",
            "call_llm",
            "decision_chain",
            "extract_full_conv_history",
            "extract_last_user_reply",
            "generate_fixed_dict",
            "generate_fixed_dict_obj",
            "generate_fixed_list",
            "generate_fixed_list_obj",
            "generate_list",
            "generate_list_obj",
            "generate_list_of_choices",
            "generate_list_of_dicts",
            "generate_object",
            "get_batch_embedding",
            "get_batch_embeddings",
            "get_code_position",
            "get_single_embedding",
            "get_system_prompt",
            "get_turn_history",
            "local_thought",
            "log_chat_turn",
            "log_thought_turn",
            "multiple_choice",
            "multiple_choice_logits",
            "reply_instruction",
            "reply_suffix",
            "set_system_prompt",
            "silent_thought",
            "thought",
            "thought_chain",
            "thought_decision_chain",
            "yes_or_no",
        ),
        "_model_helpers",
    ),
    **dict.fromkeys(
        (
            "initialize_thread_local",
            "parallel_wrapper",
            "process_task",
        ),
        "_parallel",
    ),
    **dict.fromkeys(
        (
            "call_classifier",
            "call_completion",
            "call_model",
            "call_object_model",
            "completions_classifier",
            "completions_logits",
        ),
        "_raw_calls",
    ),
    **dict.fromkeys(
        (
            "convert_openai_json_schema",
            "generate_json_schema",
            "initialize_value",
            "initialize_with_defaults",
            "initialize_with_defaults_json",
            "make_decision_regex",
            "make_decision_schema_json",
        ),
        "_schemas",
    ),
}

__all__ = [
    "EXIT",
    "GOTO",
    "RETURNTO",
    "TRANSITION",
    "append_system_prompt",
    "call_chat_completion",
    "call_classifier",
    "call_completion",
    "call_conv_model",
    "call_llm",
    "call_model",
    "call_object_model",
    "completions_classifier",
    "completions_logits",
    "convert_openai_json_schema",
    "decision_chain",
    "execute_code",
    "extract_code",
    "extract_code_legacy",
    "extract_full_conv_history",
    "extract_last_user_reply",
    "generate_fixed_dict",
    "generate_fixed_dict_obj",
    "generate_fixed_list",
    "generate_fixed_list_obj",
    "generate_json_schema",
    "generate_list",
    "generate_list_obj",
    "generate_list_of_choices",
    "generate_list_of_dicts",
    "generate_object",
    "get_batch_embedding",
    "get_batch_embeddings",
    "get_code_position",
    "get_memory",
    "get_single_embedding",
    "get_system_prompt",
    "get_turn_history",
    "initialize_thread_local",
    "initialize_value",
    "initialize_with_defaults",
    "initialize_with_defaults_json",
    "local_thought",
    "location",
    "log_chat_turn",
    "log_thought_turn",
    "make_decision_regex",
    "make_decision_schema_json",
    "multiple_choice",
    "multiple_choice_logits",
    "parallel_wrapper",
    "process_task",
    "reply",
    "reply_instruction",
    "reply_suffix",
    "set_memory",
    "set_system_prompt",
    "silent_thought",
    "thought",
    "thought_chain",
    "thought_decision_chain",
    "use_memory",
    "yes_or_no",
]


__getattr__, __dir__ = lazy_names(globals(), _LAZY)

"""The public surface: the imports AutoGRAMS programs use work, and `autograms.__all__` is
pinned (adding a public name is a visible one-line diff)."""

from __future__ import annotations

import autograms


def test_top_level_names_are_pinned() -> None:
    assert sorted(autograms.__all__) == sorted(
        [
            "Autogram",
            "AutogramConfig",
            "AutogramsError",
            "ConfigError",
            "ContinuationError",
            "ConversationError",
            "DecisionError",
            "MemoryObject",
            "ModelCallError",
            "ModelError",
            "SessionCodeError",
            "SessionError",
            "SessionFormatError",
            "SessionSignatureError",
            "__version__",
            "autograms_chatbot",
            "autograms_external",
            "autograms_function",
            "autograms_node",
            "load_autogram",
            "use_config",
        ]
    )
    for name in autograms.__all__:
        assert hasattr(autograms, name), name


def test_the_contract_imports_work() -> None:
    from autograms import (  # noqa: F401
        Autogram,
        AutogramConfig,
        autograms_external,
        autograms_function,
        autograms_node,
        load_autogram,
        use_config,
    )
    from autograms.functional import (  # noqa: F401
        EXIT,
        GOTO,
        RETURNTO,
        TRANSITION,
        append_system_prompt,
        call_llm,
        extract_code,
        extract_full_conv_history,
        extract_last_user_reply,
        generate_fixed_dict,
        generate_fixed_list,
        generate_list,
        generate_list_of_choices,
        generate_list_of_dicts,
        generate_object,
        get_batch_embeddings,
        get_single_embedding,
        get_system_prompt,
        get_turn_history,
        multiple_choice,
        reply,
        reply_instruction,
        reply_suffix,
        set_system_prompt,
        silent_thought,
        thought,
        yes_or_no,
    )
    from autograms.memory import (  # noqa: F401
        MemoryObject,
        get_memory,
        init_user_globals,
        set_persistent_globals,
        use_memory,
    )


def test_the_node_imports_work() -> None:
    from autograms.nodes import (  # noqa: F401
        TRANSITION,
        location,
        reply,
        reply_instruction,
        silent_thought,
        thought,
    )


def test_every_functional_name_is_exported() -> None:
    import autograms.functional as functional
    import autograms.nodes as nodes

    for module in (functional, nodes):
        for name in module.__all__:
            assert callable(getattr(module, name)), name


def test_every_package_directory_is_listed_for_installation() -> None:
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    listed = set(
        tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(path.parent.relative_to(root).parts)
        for path in (root / "autograms").rglob("__init__.py")
    }
    assert found | {"autograms.examples"} == listed


# -- the surface of AutoGRAMS 0.6.0 ---------------------------------------------------------
#
# Every public name of the AutoGRAMS modules programs import (tests/compat/data, made from the
# original source by tests/compat/make_surface.py) must exist here and accept the calls the
# original accepted (tests/compat/surface.py says how signatures are compared), except the
# names below, each with the reason. Keys: "module:name" for module-level names, "Class.method"
# for methods of the classes whose methods are listed.

#: names this library does not provide, and why
NOT_PROVIDED = {
    "autograms:code_utils": "the original's engine (AST rewriting at every resume); the engine "
    "here instruments bytecode once (autograms._frames), nothing of it is public",
    "autograms:prompt_utils": "prompt assembly lives in autograms._prompts (AutoGRAMS' format "
    "without its two ordering bugs); programs use get_turn_history",
    "autograms:post_process_utils": "reply post-processing lives in autograms._generation",
    "autograms.autogram:init_apis": "no module-global API clients: each Autogram owns its client "
    "(AutogramConfig.api_key/base_url, Autogram(api_keys=...))",
    "autograms.autogram:DEFAULT_API_KEYS": "see init_apis; Autogram(api_keys=None) reads "
    "OPENAI_API_KEY when a call needs it",
    **{
        f"autograms.program_control:{name}": "the original engine's control-flow exceptions "
        "(BaseException signals) and AST/frame-walking internals; the engine here uses its own "
        "signals, never exported (a program never needs to catch them)"
        for name in (
            "ControlFlowException",
            "FunctionExit",
            "ReplyExit",
            "GoTo",
            "ReturnTo",
            "ReturnToContinued",
            "AutogramsExternal",
            "find_decorated_frame",
            "get_dedented_source",
            "filter_variables",
            "get_function_code_object",
            "extract_nonlocals",
            "validate_and_fix_ast",
            "generate_function_from_ast",
        )
    },
    "autograms.program_control:autograms_schema": "experimental in the original and a no-op "
    "there (it recompiled the function without decorators)",
    **{
        f"autograms.agent_modules.vector_stores:{name}": "an experimental store of the "
        "original's agent_modules that no example, doc or script uses; AutoIndex, NumpyIndex "
        "and FAISSIndex are provided"
        for name in (
            "FieldIndex",
            "DynamicNumpyIndex",
            "TwoLevelCabinet",
            "TaggedIndex",
            "ContextualIndex",
            "MemoryKey",
            "MemoryUnit",
            "MultiKeyIndex",
        )
    },
    "autograms.memory:get_timestamp": "an internal helper of the original's logging",
    "autograms.memory:create_module_id": "an internal helper of init_user_globals (modules are "
    "identified by name here)",
    **{
        f"MemoryObject.{name}": "the original's stack machinery: the engine keeps the paused "
        "frames itself"
        for name in (
            "process_call",
            "process_return",
            "process_external_call",
            "process_external_return",
        )
    },
    **{
        f"MemoryObject.{name}": "the original's logging internals (the first two were never "
        "called); helpers log each model call themselves, with its code position"
        for name in ("log_classifier_turn", "log_chatbot_turn", "log_model_turn")
    },
    "MemoryObject.get_turns_for_model": "conversation internals; get_turn_history gives the "
    "prompt turns",
    **{
        f"autograms.finetuning.get_training_messages:{name}": "the internals of the original's "
        "tag-query parser; meets_condition, which parses and evaluates a query, is provided"
        for name in ("tokenize", "TokenIterator", "parse_expr", "parse_factor")
    },
    **{
        f"autograms.finetuning.{module}:{name}": "the trainers AutoGRAMS shipped beside its "
        "data preparation (an OpenAI job upload, Hugging Face LoRA and DPO with torch, peft and "
        "datasets) are not provided: they take the JSONL get_training_messages gives (README, "
        "'Training data')"
        for module, names in {
            "openai_finetuning": ("DEFAULT_HYPERPARAMETERS", "finetune_openai_jsonl"),
            "huggingface_finetuning": (
                "BATCH_SIZE",
                "DEFAULT_MODULES",
                "EPOCHS",
                "GRADIENT_ACCUMULATION_STEPS",
                "LEARNING_RATE",
                "MAX_TOKENS",
                "MODULE_MAP",
                "finetune_huggingface_jsonl",
                "get_cache_path",
                "tokenize_and_mask",
            ),
            "huggingface_dpo": (
                "BATCH_SIZE",
                "BETA",
                "DEFAULT_MODULES",
                "EPOCHS",
                "GRADIENT_ACCUMULATION_STEPS",
                "LEARNING_RATE",
                "MAX_TOKENS",
                "MODULE_MAP",
                "compute_dpo_loss",
                "dpo_huggingface_jsonl",
                "extract_get_dpo_pairs",
                "get_cache_path",
                "tokenize_and_mask",
                "tokenize_and_mask_dpo",
            ),
        }.items()
        for name in names
    },
    "MemoryObject.set_test_mode": "test mode belongs to the Autogram (Autogram(test_mode=True)), "
    "which sets it on every memory it runs",
    "MemoryObject.set_supervisor_mode": "supervisor mode belongs to the Autogram "
    "(Autogram(supervisor_mode=True))",
}

#: signatures that differ on purpose, and why
DIFFERENT_SIGNATURE = {
    "autograms:AutogramConfig": "a dataclass with named fields: AutoGRAMS' **kwargs accepted only "
    "the deprecated max_response_len, which is a field here",
    "autograms:autograms_node": "the decorated function's parameter is named 'function' (a "
    "decorator is applied, never called with func=)",
    "autograms.program_control:autograms_node": "see autograms:autograms_node",
    "autograms.memory:UserGlobals": "made by init_user_globals(), never constructed directly",
    "autograms.memory:SerializableMemory": "the base of MemoryObject and SimpleMemory, made "
    "through them (standalone, AutoGRAMS' never worked: it left memory_dict unset)",
    "MemoryObject.set_node": "the ADDRESS parameter is named 'address' (only the library calls it)",
    "MemoryObject.log_thought_turn": "records a thought (answer, instruction); AutoGRAMS' "
    "retain_instruction is not kept (functional.log_thought_turn takes the original form)",
}


def _surface_cases():
    from tests.compat.surface import original_names

    for module, name, entry in original_names():
        yield f"{module}:{name}", module, name, None, entry.get("params")
        for method, params in entry.get("methods", {}).items():
            yield f"{name}.{method}", module, name, method, params


def _case_params():
    import pytest

    for key, module, name, method, params in _surface_cases():
        method_id = f".{method}" if method else ""
        yield pytest.param(key, module, name, method, params, id=f"{module}:{name}{method_id}")


def _lookup(module: str, name: str, method: str | None):
    from tests.compat.surface import resolve

    found = resolve(module, name)
    return getattr(found, method) if method else found


import pytest  # noqa: E402


@pytest.mark.parametrize("key, module, name, method, params", list(_case_params()))
def test_every_name_of_autograms_0_6_0_is_here_and_takes_its_calls(
    key: str, module: str, name: str, method: str | None, params: list | None
) -> None:
    from tests.compat.surface import signature_problems

    if key in NOT_PROVIDED:
        with pytest.raises((AttributeError, ImportError)):
            _lookup(module, name, method)
        return
    found = _lookup(module, name, method)
    if params is None:
        return
    problems = signature_problems(
        found, params, method=method is not None or isinstance(found, type)
    )
    if key in DIFFERENT_SIGNATURE:
        assert problems, f"{key} now matches the original: drop it from DIFFERENT_SIGNATURE"
    else:
        assert problems == [], f"{key}: {problems}"


def test_the_difference_tables_name_only_original_names() -> None:
    keys = {key for key, *_ in _surface_cases()}
    for table in (NOT_PROVIDED, DIFFERENT_SIGNATURE):
        assert set(table) <= keys, sorted(set(table) - keys)

"""The public surface: the imports AutoGRAMS programs use work, and `autograms.__all__` is
pinned (adding a public name is a visible one-line diff)."""

from __future__ import annotations

import autograms


def test_top_level_names_are_pinned() -> None:
    assert sorted(autograms.__all__) == sorted([
        "Autogram", "AutogramConfig", "AutogramsError", "ConfigError", "ContinuationError",
        "ConversationError", "DecisionError", "MemoryObject", "ModelCallError", "ModelError",
        "SessionCodeError", "SessionError", "SessionFormatError", "SessionSignatureError",
        "__version__", "autograms_chatbot", "autograms_external", "autograms_function",
        "autograms_node", "load_autogram", "use_config",
    ])
    for name in autograms.__all__:
        assert hasattr(autograms, name), name


def test_the_contract_imports_work() -> None:
    from autograms import (  # noqa: F401
        Autogram, AutogramConfig, autograms_external, autograms_function, autograms_node,
        load_autogram, use_config,
    )
    from autograms.functional import (  # noqa: F401
        EXIT, GOTO, RETURNTO, TRANSITION, append_system_prompt, call_llm, extract_code,
        extract_full_conv_history, extract_last_user_reply, generate_fixed_dict,
        generate_fixed_list, generate_list, generate_list_of_choices, generate_list_of_dicts,
        generate_object, get_batch_embeddings, get_single_embedding, get_system_prompt,
        get_turn_history, multiple_choice, reply, reply_instruction, reply_suffix,
        set_system_prompt, silent_thought, thought, yes_or_no,
    )
    from autograms.memory import (  # noqa: F401
        MemoryObject, get_memory, init_user_globals, set_persistent_globals, use_memory,
    )


def test_the_node_imports_work() -> None:
    from autograms.nodes import (  # noqa: F401
        TRANSITION, location, reply, reply_instruction, silent_thought, thought,
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
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(path.parent.relative_to(root).parts)
        for path in (root / "autograms").rglob("__init__.py")
    }
    assert found | {"autograms.examples"} == listed

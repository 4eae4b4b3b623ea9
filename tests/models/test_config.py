"""AutogramConfig: AutoGRAMS names and defaults, validation, no shared mutable state."""

from __future__ import annotations

import dataclasses
import warnings

import pytest

from autograms.config import DEFAULT_BANNED_PHRASES, AutogramConfig, ConfigError

# Defaults of AutoGRAMS 0.5.3's AutogramConfig signature (reference §4.2).
AUTOGRAMS_DEFAULTS = dict(
    max_tokens=1024,
    default_prompt="You are an agent.",
    agent_name="Agent",
    user_name="User",
    instruction_name="Instruction",
    chatbot_type="openai",
    chatbot_path="gpt-4o",
    system_prompt_in_turns=False,
    error_response=None,
    chatbot_max_tries=3,
    chatbot_wait_per_try=5,
    chatbot_max_input_len=3500,
    classifier_max_tries=2,
    classifier_wait_per_try=5,
    classifier_max_input_len=2048,
    exclude_classifier_system_prompt=False,
    post_process_response=True,
    classifier_type=None,
    classifier_path=None,
    classifier_mode=None,
    embedding_type=None,
    embedding_path="text-embedding-3-small",
    instruction_template=None,
    reply_start_type="suffix",
    default_reply_start_template=None,
    user_instruction_template=None,
    default_question_prompt=None,
    default_transition_context=1,
    reply_suffix_inst_conversion=None,
    chatbot_proxy_port=8080,
    classifier_proxy_port=None,
    embedding_proxy_port=None,
)


def test_every_autograms_field_exists_with_its_default():
    config = AutogramConfig()
    for name, default in AUTOGRAMS_DEFAULTS.items():
        assert getattr(config, name) == default, name
    assert config.chatbot_generation_args == {"temperature": 0.7}
    assert config.banned_phrases == []


def test_every_field_is_documented_in_the_class_source():
    import inspect

    source = inspect.getsource(AutogramConfig)
    for field in dataclasses.fields(AutogramConfig):
        before = source.split(f"    {field.name}:")[0].rstrip().splitlines()[-1]
        assert before.strip().startswith("#:"), field.name


def test_mutable_defaults_are_not_shared():
    first, second = AutogramConfig(), AutogramConfig()
    first.chatbot_generation_args["top_p"] = 0.5
    first.banned_phrases.append("x")
    assert second.chatbot_generation_args == {"temperature": 0.7}
    assert second.banned_phrases == []


def test_the_callers_generation_args_are_copied_not_mutated():
    args = {"temperature": 0.2, "batch_size": 4}
    with pytest.warns(UserWarning, match="batch_size"):
        config = AutogramConfig(chatbot_generation_args=args)
    assert config.chatbot_generation_args == {"temperature": 0.2}
    assert args == {"temperature": 0.2, "batch_size": 4}


def test_reserved_generation_args_are_refused():
    with pytest.raises(ConfigError) as info:
        AutogramConfig(chatbot_generation_args={"model": "x"})
    assert info.value.field == "chatbot_generation_args"


def test_unknown_field_is_a_type_error_naming_it_with_a_suggestion():
    with pytest.raises(TypeError, match="'chatbot_pth'; did you mean 'chatbot_path'"):
        AutogramConfig(chatbot_pth="x")


def test_max_response_len_is_a_deprecated_alias_of_max_tokens():
    with pytest.warns(DeprecationWarning, match="max_tokens"):
        config = AutogramConfig(max_response_len=77)
    assert config.max_tokens == 77


def test_banned_phrases_default_selects_the_autograms_list():
    assert AutogramConfig(banned_phrases="default").banned_phrases == list(DEFAULT_BANNED_PHRASES)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("chatbot_type", "tgi"),
        ("classifier_type", "other"),
        ("classifier_mode", "logits"),
        ("embedding_type", "huggingface_tgi"),
        ("reply_start_type", "middle"),
        ("max_tokens", 0),
        ("chatbot_max_tries", 0),
        ("classifier_max_tries", True),
        ("chatbot_wait_per_try", -1),
        ("chatbot_max_input_len", 0),
        ("chatbot_proxy_port", 70000),
        ("embedding_proxy_port", 0),
        ("chatbot_proxy_port", "80a"),
        ("classifier_proxy_port", "70000"),
        ("request_timeout", 0),
        ("base_url", "localhost:8080"),
        ("classifier_base_url", "ftp://x"),
        ("instruction_template", "no placeholder"),
        ("reply_suffix_inst_conversion", "no placeholder"),
        ("banned_phrases", "some phrase"),
        ("session_key", 12),
    ],
)
def test_invalid_values_raise_config_error_naming_the_field(field, value):
    with pytest.raises(ConfigError) as info:
        AutogramConfig(**{field: value})
    assert info.value.field == field
    assert field in str(info.value)


def test_logit_mode_is_refused_for_tgi():
    with pytest.raises(ConfigError, match="TGI has no logit_bias"):
        AutogramConfig(chatbot_type="huggingface_tgi", classifier_mode="logit")


def test_default_config_warns_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AutogramConfig()


def test_keys_are_hidden_from_repr():
    config = AutogramConfig(
        api_key="sk-secret",
        classifier_api_key="sk-c",
        embedding_api_key="sk-e",
        session_key=b"hmac-secret",
    )
    text = repr(config)
    for secret in ("sk-secret", "sk-c", "sk-e", "hmac-secret"):
        assert secret not in text


def test_resolved_classifier_settings_follow_the_chatbot_ones():
    config = AutogramConfig(chatbot_type="proxy", chatbot_path="local")
    assert config.resolved_classifier_type == "proxy"
    assert config.resolved_classifier_path == "local"
    assert config.resolved_classifier_mode == "json"


def test_replace_revalidates():
    with pytest.raises(ConfigError):
        dataclasses.replace(AutogramConfig(), max_tokens=-5)

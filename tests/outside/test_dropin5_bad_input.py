"""Issue 16: the AutoGRAMS helpers given bad input (empty choice lists, None, unknown chain item
types, a non-text system prompt): each should be refused naming what is wrong, as
multiple_choice([]) is, before any model call, not with a bare error from inside."""

from __future__ import annotations

import warnings

import pytest

from autograms import Autogram, AutogramConfig, autograms_function, use_config
import autograms.functional as F
from tests.outside.dropin5_support import FakeOpenAI, decision_answer


def test_multiple_choice_refuses_an_empty_choice_list_naming_it():
    with use_config(AutogramConfig(), test_mode=True):
        with pytest.raises(ValueError, match="choice"):
            F.multiple_choice("q", [])


EMPTY_CHOICES = {
    "call_classifier": lambda: F.call_classifier(["x"], [], []),
    "generate_list_of_choices": lambda: F.generate_list_of_choices("x", []),
    "multiple_choice_logits": lambda: F.multiple_choice_logits("q", []),
    "completions_classifier": lambda: F.completions_classifier([], prompt="x"),
}


@pytest.mark.parametrize("helper", sorted(EMPTY_CHOICES))
@pytest.mark.parametrize("mode", ["test", "live"])
def test_choice_helpers_refuse_an_empty_choice_list_before_any_model_call(helper, mode):
    with FakeOpenAI(decision_answer) as fake:
        config = AutogramConfig(chatbot_type="proxy", base_url=fake.url, request_timeout=10)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with use_config(config, test_mode=(mode == "test")):
                with pytest.raises((ValueError, TypeError)) as caught:
                    EMPTY_CHOICES[helper]()
        sent = len(fake.requests)
    assert "choice" in str(caught.value).lower(), str(caught.value)
    assert sent == 0


def test_yes_or_no_without_a_question_text_is_refused_naming_the_question():
    with use_config(AutogramConfig(), test_mode=True):
        with pytest.raises(TypeError, match="question"):
            F.yes_or_no(None)


def test_thought_decision_chain_refuses_an_unknown_item_type_naming_it():
    with use_config(AutogramConfig(), test_mode=True):
        with pytest.raises(ValueError, match="nope"):
            F.thought_decision_chain("x", [{"type": "nope", "prompt": "p"}])


VALUE = {"prompt": 123}


@autograms_function()
def prompt_bot():
    F.reply("start")
    F.set_system_prompt(VALUE["prompt"])
    F.reply_instruction("answer")


def test_set_system_prompt_refuses_a_non_text_prompt_where_it_is_set():
    autogram = Autogram(root_function=prompt_bot, test_mode=True)
    _, memory = autogram.reply()
    with pytest.raises(TypeError) as caught:
        autogram.reply("x", memory_object=memory)
    assert "set_system_prompt" in str(caught.value) or "system prompt" in str(caught.value), str(
        caught.value
    )


def test_a_failed_turn_from_bad_input_leaves_the_session_usable():
    autogram = Autogram(root_function=prompt_bot, test_mode=True)
    _, memory = autogram.reply()
    with pytest.raises(TypeError):
        autogram.reply("x", memory_object=memory)
    VALUE["prompt"] = "You are terse."
    try:
        text, memory = autogram.reply("x", memory_object=memory)
    finally:
        VALUE["prompt"] = 123
    assert text.startswith("[scripted reply")
    # the opening "" first, as AutoGRAMS lists it (since session 9)
    assert [t["content"] for t in memory.extract_full_conv_history()][:3] == ["", "start", "x"]


def test_huge_and_unusual_unicode_texts_pass_through_the_helpers_in_test_mode():
    with use_config(AutogramConfig(), test_mode=True):
        assert F.thought("x" * 2_000_000).startswith("[scripted reply")
        assert F.thought("a\x00b \U0001f600 \u202e").startswith("[scripted reply")
        assert isinstance(F.yes_or_no("\u00e9t\u00e9 ?" * 1000), bool)

"""Per-call model settings (``**model1_settings``) on every model helper, AutoGRAMS' other
keywords, and what the log says about who asked -- in test mode and against a server."""

from __future__ import annotations

import pytest

from autograms import Autogram, AutogramConfig, autograms_function
from autograms.functional import (
    get_batch_embeddings,
    get_single_embedding,
    log_chat_turn,
    multiple_choice_logits,
    reply,
    reply_instruction,
    silent_thought,
    thought,
    thought_decision_chain,
)
from tests.compat.bots import model_settings
from tests.compat.driver import converse
from tests.fakes.openai_server import FakeOpenAIServer

MESSAGES = ["It was a good day at work.", "Then I went running.", "Tomorrow I rest.", "ok"] * 2
BOT_FUNCTIONS = {"chatbot", "think", "decide", "generate", "call_raw", "respond"}


def server_config(server: FakeOpenAIServer, **overrides: object) -> AutogramConfig:
    settings = dict(
        chatbot_type="proxy",
        base_url=server.base_url,
        chatbot_path="fake",
        chatbot_wait_per_try=0,
        request_timeout=10,
    )
    settings.update(overrides)
    return AutogramConfig(**settings)


def test_every_helper_takes_model_settings_in_test_mode() -> None:
    model_settings.RESULTS.clear()
    run = converse(Autogram(model_settings.chatbot, test_mode=True), MESSAGES)
    assert all(isinstance(text, str) and text for text in run.replies)
    results = model_settings.RESULTS
    assert isinstance(results["yes_or_no"], bool)
    assert results["multiple_choice"] in (0, 1, 2)
    assert len(results["generate_fixed_list"]) == 3
    assert set(results["generate_fixed_dict"]) == {"morning", "evening"}
    assert isinstance(results["generate_object"], model_settings.Plan)
    assert results["call_classifier"][0] in ("Yes", "No") and results["call_classifier"][1]
    assert isinstance(results["call_model"], tuple) and results["call_model"][1] is True
    assert results["decision_chain"][0] in ("warm", "neutral")


def test_model_settings_reach_the_server_on_every_call(server: FakeOpenAIServer) -> None:
    autogram = Autogram(model_settings.chatbot, server_config(server))
    converse(autogram, MESSAGES[:4])
    requests = server.chat_requests()
    assert len(requests) > 20
    for body in requests:
        assert body["model"] == "gpt-4o-mini", body
        # decisions are made at temperature 0 whatever the call says, as in AutoGRAMS
        decision = body.get("response_format", {}).get("json_schema", {}).get("name")
        assert body["temperature"] == (0 if decision == "decision_schema" else 0.3), body
        assert body["max_tokens"] == 222, body


def test_the_log_names_the_bot_function_and_line_that_asked() -> None:
    run = converse(Autogram(model_settings.chatbot, test_mode=True), MESSAGES)
    models = run.entries("model")
    assert models and {entry["code_position"]["function_name"] for entry in models} <= BOT_FUNCTIONS
    for entry in models:
        position = entry["code_position"]
        assert position["file_name"] == model_settings.__file__ and position["line_number"] > 0
    replies = run.entries("agent_reply")
    assert {entry["function_name"] for entry in replies} == {"chatbot", "respond"}


@autograms_function()
def supervised_pattern_bot():
    """The docs' supervisor pattern, run without supervisor mode (a deployment)."""
    article = "Autograms resumes programs."
    summary = silent_thought("Summarize the article", supervisor=summarize, article=article)
    reply(summary)


def summarize(instruction, article):
    return silent_thought(f"{article}\n\n{instruction}")


def test_a_supervisors_keywords_never_reach_the_model(server: FakeOpenAIServer) -> None:
    text, _ = Autogram(supervised_pattern_bot, server_config(server)).reply()
    assert text.startswith("fake reply")
    body = server.chat_requests()[0]
    assert "article" not in body and "supervisor" not in body


@autograms_function()
def autograms_keywords_bot():
    thought("Think.", model_type="openai", handle_errors=True, handle_refusal=False)
    reply_instruction("Reply.", ignore_config=False)


def test_keywords_that_steered_autograms_client_are_accepted(server: FakeOpenAIServer) -> None:
    text, _ = Autogram(autograms_keywords_bot, server_config(server)).reply()
    assert text.startswith("fake reply")
    assert all("model_type" not in body for body in server.chat_requests())


@autograms_function()
def stray_keyword_bot():
    reply(thought("Think.", prefix="Sure,"))


def test_a_stray_keyword_is_ignored_with_a_warning_in_test_mode() -> None:
    with pytest.warns(UserWarning, match="thought\\(\\) ignores keyword argument 'prefix'"):
        text, _ = Autogram(stray_keyword_bot, test_mode=True).reply()
    assert text


def test_a_stray_keyword_is_refused_naming_the_helper_outside_test_mode(
    server: FakeOpenAIServer,
) -> None:
    autogram = Autogram(stray_keyword_bot, server_config(server))
    with pytest.raises(
        TypeError, match="thought\\(\\) got an unexpected keyword argument 'prefix'"
    ):
        autogram.reply()
    assert server.chat_requests() == []


@autograms_function()
def drifted_signatures_bot():
    batch = get_batch_embeddings(["a", "b"], default_size=4)
    single = get_single_embedding("a", default_size=1536)
    same = get_single_embedding("a")
    chain = thought_decision_chain("Go.", ["Why?"], fixed_type=None)
    log_chat_turn(reply="logged without pausing")
    logits = multiple_choice_logits("Which?", ["tea", "coffee"])
    reply(
        f"{len(batch[0])} {len(single)} {len(same) == len(get_batch_embeddings(['a'])[0])} "
        f"{len(chain)} {len(logits)}"
    )


def test_autograms_signatures_of_embeddings_chains_and_logging_are_accepted() -> None:
    text, memory = Autogram(drifted_signatures_bot, test_mode=True).reply()
    assert text == "4 1536 True 1 2"
    logged = [e for e in memory.model_turns if e.get("entry_type") == "agent_reply"]
    assert logged[0]["reply"] == "logged without pausing"
    assert logged[0]["function_name"] == "drifted_signatures_bot"


@autograms_function()
def logits_bot():
    reply(str(multiple_choice_logits("Which?", ["tea", "coffee"])))


def test_multiple_choice_logits_asks_the_server_for_logprobs_with_the_default_mode(
    server: FakeOpenAIServer,
) -> None:
    text, _ = Autogram(logits_bot, server_config(server, chatbot_path="gpt-4o")).reply()
    body = server.chat_requests()[0]
    assert body["logprobs"] is True and body["max_tokens"] == 1 and body["logit_bias"]
    assert text.startswith("[")

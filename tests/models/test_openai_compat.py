"""The OpenAI-compatible client against a loopback fake: endpoints, keys, usage, retries."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

from autograms import _generation
from autograms.config import AutogramConfig
from autograms.models import (
    ChatRequest,
    EmbeddingRequest,
    ModelCallError,
    ModelConfigError,
    OpenAICompatModel,
    ScriptedModel,
    model_from_config,
)
from autograms.models.endpoints import resolve_endpoint
from tests.fakes.openai_server import Reply

from .conftest import config_for

HELLO = [{"role": "user", "content": "hello"}]


def ask(chat_model, **fields):
    return chat_model.complete(ChatRequest(HELLO, **fields))


# -- construction and endpoints ------------------------------------------------------------


def test_nothing_needs_a_key_until_a_call_is_made():
    model = model_from_config(AutogramConfig())
    assert isinstance(model, OpenAICompatModel)
    with pytest.raises(ModelConfigError) as info:
        ask(model)
    assert info.value.setting == "OPENAI_API_KEY"
    assert "OPENAI_API_KEY" in str(info.value) and "base_url" in str(info.value)


def test_test_mode_gives_a_seeded_scripted_model():
    model = model_from_config(AutogramConfig(), test_mode=True, seed=7)
    assert isinstance(model, ScriptedModel) and model.seed == 7


def test_openai_key_comes_from_the_config_or_the_environment(monkeypatch):
    assert resolve_endpoint(AutogramConfig(api_key="sk-1"), "chatbot").api_key == "sk-1"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    endpoint = resolve_endpoint(AutogramConfig(), "chatbot")
    assert endpoint.api_key == "sk-env" and endpoint.base_url == "https://api.openai.com/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert resolve_endpoint(AutogramConfig(), "chatbot").base_url == "http://127.0.0.1:9/v1"


def test_the_openai_key_is_never_sent_to_another_server(monkeypatch, server):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
    _generation.call_llm(OpenAICompatModel(config_for(server)), config_for(server), "hi")
    assert server.requests[-1].headers["authorization"] == "Bearer default"


def test_base_url_and_key_are_used(server, make_server):
    guarded = make_server("litellm", api_key="sk-proxy")
    config = AutogramConfig(
        chatbot_type="openai", base_url=guarded.base_url, api_key="sk-proxy", chatbot_path="fake"
    )
    assert ask(OpenAICompatModel(config)).text.startswith("fake reply #1")
    assert guarded.requests[-1].headers["authorization"] == "Bearer sk-proxy"
    assert guarded.requests[-1].path == "/v1/chat/completions"


def test_proxy_type_talks_to_localhost_on_the_proxy_port(server):
    config = AutogramConfig(
        chatbot_type="proxy", chatbot_proxy_port=server.port, chatbot_path="fake"
    )
    endpoint = resolve_endpoint(config, "chatbot")
    assert endpoint.base_url == f"http://localhost:{server.port}/v1"
    assert endpoint.api_key == "default"
    assert ask(OpenAICompatModel(config)).call.endpoint == endpoint.base_url
    assert len(server.chat_requests()) == 1


def test_classifier_and_embeddings_can_use_their_own_servers(make_server):
    chat, decide, embed = make_server(), make_server(), make_server("localai")
    config = config_for(
        chat,
        classifier_base_url=decide.base_url,
        classifier_api_key="k-c",
        classifier_path="judge",
        embedding_proxy_port=embed.port,
    )
    model = OpenAICompatModel(config)
    ask(model, role="classifier")
    _generation.embed_text(model, config, "hello")
    assert decide.chat_requests()[0]["model"] == "judge"
    assert decide.requests[0].headers["authorization"] == "Bearer k-c"
    assert embed.requests[0].path == "/v1/embeddings"
    assert chat.requests == []


def test_classifier_proxy_port_routes_decisions(make_server):
    chat, decide = make_server(), make_server()
    config = config_for(
        chat, base_url=None, chatbot_proxy_port=chat.port, classifier_proxy_port=decide.port
    )
    ask(OpenAICompatModel(config), role="classifier")
    assert len(decide.chat_requests()) == 1 and chat.requests == []


def test_proxy_chat_with_openai_embeddings_needs_the_openai_key(server):
    config = config_for(server, embedding_type="openai")
    with pytest.raises(ModelConfigError, match="OPENAI_API_KEY"):
        _generation.embed_texts(OpenAICompatModel(config), config, ["x"])


def test_models_are_picklable_and_close_cleanly(server):
    model = OpenAICompatModel(config_for(server))
    ask(model)
    model.close()
    copy = pickle.loads(pickle.dumps(model))
    assert copy.config == model.config
    assert ask(copy).text.startswith("fake reply")


# -- request shape and usage ---------------------------------------------------------------


def test_usage_tokens_are_logged_from_the_api(make_server):
    server = make_server("openai", cached_tokens=3)
    result = ask(OpenAICompatModel(config_for(server)), kind="chat")
    call = result.call
    assert (call.prompt_tokens, call.cached_tokens, call.usage_estimated) == (
        len('[{"role": "user", "content": "hello"}]') // 4 + 1,
        3,
        False,
    )
    assert call.completion_tokens == len(result.text) // 4 + 1
    assert call.model == "fake" and call.attempts == 1 and call.latency > 0
    assert call.request == {"role": "chatbot", "messages": 1, "input_chars": 5}
    assert call.to_dict()["output"] == result.text


def test_missing_usage_is_estimated_locally(make_server):
    server = make_server("localai", send_usage=False)
    call = ask(OpenAICompatModel(config_for(server))).call
    assert call.usage_estimated and call.prompt_tokens > 0 and call.completion_tokens > 0
    assert call.cached_tokens is None


def test_generation_args_and_max_tokens_are_sent(server):
    config = config_for(
        server, max_tokens=55, chatbot_generation_args={"temperature": 0.1, "top_p": 0.9}
    )
    _generation.call_llm(OpenAICompatModel(config), config, "hi", seed=3)
    body = server.chat_requests()[0]
    assert (body["temperature"], body["top_p"], body["max_tokens"], body["seed"]) == (
        0.1,
        0.9,
        55,
        3,
    )


def test_generation_args_may_set_max_tokens(server):
    config = config_for(server, max_tokens=55, chatbot_generation_args={"max_tokens": 9})
    _generation.call_llm(OpenAICompatModel(config), config, "hi")
    assert server.chat_requests()[0]["max_tokens"] == 9


@pytest.mark.parametrize("streamed", [False, True])
def test_extra_body_and_headers_reach_the_server_as_the_sdk_sends_them(server, streamed):
    extra = {"extra_body": {"min_p": 0.05}, "extra_headers": {"X-Trace": "t-1"}}
    config = config_for(server, api_key="sk-local")
    model = OpenAICompatModel(config)
    request = ChatRequest(HELLO, params=extra)
    result = model.stream(request, lambda piece: None) if streamed else model.complete(request)
    assert result.text
    (recorded,) = server.requests
    assert recorded.body["min_p"] == 0.05 and "extra_body" not in recorded.body
    assert recorded.body.get("stream", False) is streamed
    assert recorded.headers["x-trace"] == "t-1"
    assert recorded.headers["authorization"] == "Bearer sk-local"


def test_reasoning_models_get_max_completion_tokens_and_no_temperature(server):
    ask(
        OpenAICompatModel(config_for(server)),
        model="o3-mini",
        params={"temperature": 0.7, "max_tokens": 10},
    )
    body = server.chat_requests()[0]
    assert "temperature" not in body and "max_tokens" not in body
    assert body["max_completion_tokens"] == 10


# -- retries and timeouts ------------------------------------------------------------------


def test_a_500_then_a_200_makes_exactly_two_requests(server):
    server.script(Reply(status=500), "recovered")
    result = ask(OpenAICompatModel(config_for(server)))
    assert result.text == "recovered"
    assert result.call.attempts == 2
    assert len(server.chat_requests()) == 2


def test_success_is_sent_once(server):
    ask(OpenAICompatModel(config_for(server, chatbot_max_tries=5)))
    assert len(server.chat_requests()) == 1


@pytest.mark.parametrize("status", [408, 409, 429, 502, 503])
def test_transient_statuses_are_retried(server, status):
    server.script(Reply(status=status), "ok")
    assert ask(OpenAICompatModel(config_for(server))).text == "ok"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_non_transient_errors_are_not_retried(server, status):
    server.script(Reply(status=status))
    with pytest.raises(ModelCallError) as info:
        ask(OpenAICompatModel(config_for(server, chatbot_max_tries=4)))
    error = info.value
    assert (error.status_code, error.attempts, error.transient) == (status, 1, False)
    assert error.endpoint == server.base_url
    assert f"HTTP {status}" in str(error)
    assert len(server.chat_requests()) == 1


def test_tries_are_bounded_and_backoff_doubles(server):
    server.script(*[Reply(status=503)] * 5)
    waits = []
    config = config_for(server, chatbot_max_tries=3, chatbot_wait_per_try=0.5)
    with pytest.raises(ModelCallError) as info:
        ask(OpenAICompatModel(config, sleep=waits.append))
    assert info.value.attempts == 3 and info.value.transient
    assert len(server.chat_requests()) == 3
    assert len(waits) == 2 and 0.5 <= waits[0] <= 0.55 and 1.0 <= waits[1] <= 1.1


def test_retry_after_is_honoured(server):
    server.script(Reply(status=429, headers={"Retry-After": "2"}), "ok")
    waits = []
    ask(OpenAICompatModel(config_for(server, chatbot_wait_per_try=0.01), sleep=waits.append))
    assert waits == [2.0]


def test_classifier_calls_use_the_classifier_retry_settings(server):
    server.script(*[Reply(status=500)] * 5)
    config = config_for(server, chatbot_max_tries=4, classifier_max_tries=2)
    with pytest.raises(ModelCallError) as info:
        ask(OpenAICompatModel(config), role="classifier")
    assert info.value.attempts == 2


def test_a_slow_answer_times_out_and_is_retried(server):
    server.script(Reply("late", delay=2.0), "fast")
    config = config_for(server, request_timeout=0.3)
    result = ask(OpenAICompatModel(config))
    assert result.text == "fast" and result.call.attempts == 2


def test_per_call_timeout_overrides_the_config(server):
    server.script(Reply("late", delay=2.0))
    config = config_for(server, chatbot_max_tries=1)
    with pytest.raises(ModelCallError, match="timed out after 0.3 s") as info:
        _generation.call_llm(OpenAICompatModel(config), config, "hi", timeout=0.3)
    assert info.value.status_code is None and info.value.transient


def test_an_unreachable_server_names_the_endpoint(make_server):
    server = make_server()
    url = server.base_url
    server.stop()
    config = AutogramConfig(
        chatbot_type="proxy", base_url=url, chatbot_max_tries=2, chatbot_wait_per_try=0
    )
    with pytest.raises(ModelCallError, match="cannot connect") as info:
        ask(OpenAICompatModel(config))
    assert info.value.endpoint == url and info.value.attempts == 2


def test_an_unreachable_server_names_the_settings_that_chose_it(make_server):
    chat, embeddings = make_server(), make_server()
    url = embeddings.base_url
    embeddings.stop()
    config = config_for(chat, embedding_base_url=url, embedding_type="proxy")
    with pytest.raises(ModelCallError, match="cannot connect") as info:
        OpenAICompatModel(config).embed(EmbeddingRequest(["hi"]))
    assert "check embedding_base_url / embedding_proxy_port" in str(info.value)
    assert "chatbot_proxy_port" not in str(info.value)
    assert resolve_endpoint(config, "chatbot").settings == "base_url / chatbot_proxy_port"


def test_error_response_replaces_a_failed_reply(server):
    server.script(Reply(status=500), Reply(status=500))
    config = config_for(server, chatbot_max_tries=2, error_response="Sorry, try later.")
    result = _generation.chat_reply(
        OpenAICompatModel(config), config, _generation.Conversation("", ()), "hi"
    )
    assert result.value == "Sorry, try later." and result.calls == ()


def test_warm_up_loads_the_sdk_before_the_first_call():
    """A server warms its model up before its first user waits for the SDK's import."""
    code = (
        "import sys\n"
        "from autograms.config import AutogramConfig\n"
        "from autograms.models import OpenAICompatModel\n"
        "model = OpenAICompatModel(AutogramConfig(chatbot_type='proxy',"
        " base_url='http://127.0.0.1:9/v1', chatbot_path='fake'))\n"
        "before = 'openai' in sys.modules\n"
        "model.warm_up()\n"
        "print(before, 'openai' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "True"], done.stderr


def test_a_deployed_turn_that_calls_no_model_does_not_import_the_sdk():
    """Importing the SDK takes ~0.45 s: a fresh worker's first turn pays it only when it calls a
    model (issue 11), though every turn makes the Autogram's client."""
    code = (
        "import sys\n"
        "from autograms import Autogram, autograms_function\n"
        "from autograms.config import AutogramConfig\n"
        "from autograms.functional import reply\n"
        "@autograms_function()\n"
        "def bot():\n"
        "    while True:\n"
        "        reply('echo ' + reply('say something'))\n"
        "autogram = Autogram(bot, AutogramConfig(chatbot_type='proxy',"
        " base_url='http://127.0.0.1:9/v1', chatbot_path='fake'))\n"
        "text, memory = autogram.reply()\n"
        "memory = autogram.deserialize(autogram.serialize(memory))\n"
        "text, memory = autogram.reply('hi', memory_object=memory)\n"
        "print(text, type(autogram.model).__name__, 'openai' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["echo", "hi", "OpenAICompatModel", "False"], done.stderr


def test_an_answer_that_is_not_json_is_a_model_call_error_showing_it(server):
    server.script(Reply(body=b"<html>a proxy's error page</html>"), "never asked")
    model = OpenAICompatModel(config_for(server, chatbot_max_tries=3))
    with pytest.raises(ModelCallError) as info:
        model.complete(ChatRequest([{"role": "user", "content": "hi"}]))
    assert "a proxy's error page" in str(info.value) and info.value.attempts == 1

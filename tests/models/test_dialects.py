"""Each server the AutoGRAMS README names, through a fake speaking its dialect."""

from __future__ import annotations

import json
import pickle

import pydantic
import pytest

from autograms import _decisions, _generation
from autograms._prompts import Conversation
from autograms.models import (
    ModelCallError,
    ModelConfigError,
    OpenAICompatModel,
    StructuredOutputError,
)
from tests.fakes.openai_server import Reply, _error

from .conftest import config_for


class Candidate(pydantic.BaseModel):
    name: str
    years: int


CONV = Conversation(
    "You are a recruiter.",
    [{"role": "agent", "content": "Ready?"}, {"role": "user", "content": "yes"}],
)


def formats(server):
    return [(body.get("response_format") or {}).get("type") for body in server.chat_requests()]


def run_all_helpers(model, config):
    """One chat reply, one decision and one structured object; returns their values."""
    reply = _generation.chat_reply(model, config, CONV, "ask about experience").value
    ready = _decisions.yes_or_no(model, config, CONV, "Is the user ready?").value
    person = _generation.generate_object(model, config, CONV, "extract", Candidate).value
    return reply, ready, person


@pytest.mark.parametrize("dialect", ["openai", "localai", "litellm", "vllm", "llama_server"])
def test_json_schema_servers_answer_every_helper_first_time(make_server, dialect):
    server = make_server(dialect, api_key="sk-lite" if dialect == "litellm" else None)
    config = config_for(server, api_key="sk-lite" if dialect == "litellm" else None)
    model = OpenAICompatModel(config)
    reply, ready, person = run_all_helpers(model, config)
    assert reply.startswith("fake reply #4")
    assert ready is True and person == Candidate(name="x", years=1)
    assert formats(server) == [None, "json_schema", "json_schema"]
    assert server.chat_requests()[2]["response_format"]["json_schema"]["strict"] is True


def test_litellm_refuses_a_wrong_key_with_a_hint(make_server):
    server = make_server("litellm", api_key="sk-right")
    config = config_for(server, api_key="sk-wrong")
    with pytest.raises(ModelCallError, match="HTTP 401.*check api_key") as info:
        _generation.call_llm(OpenAICompatModel(config), config, "hi")
    assert info.value.attempts == 1


def test_vllm_names_a_model_it_does_not_serve(make_server):
    server = make_server("vllm", models=("Qwen/Qwen2.5-0.5B",))
    config = config_for(server, chatbot_path="gpt-4o")
    with pytest.raises(ModelCallError, match="does not exist.*'gpt-4o'. set chatbot_path"):
        _generation.call_llm(OpenAICompatModel(config), config, "hi")
    config = config_for(server, chatbot_path="Qwen/Qwen2.5-0.5B")
    assert _generation.call_llm(OpenAICompatModel(config), config, "hi").value


def test_vllm_chat_server_has_no_embeddings(make_server):
    server = make_server("vllm")
    config = config_for(server, embedding_path="fake")
    with pytest.raises(ModelCallError, match="HTTP 400.*Embeddings API") as info:
        _generation.embed_text(OpenAICompatModel(config), config, "x")
    assert not info.value.transient and info.value.attempts == 1


def test_localai_embeddings_batch_and_single(make_server):
    server = make_server("localai")
    config = config_for(server, embedding_path="text-embedding-ada-002")
    model = OpenAICompatModel(config)
    batch = _generation.embed_texts(model, config, ["a", "b", "a"])
    single = _generation.embed_text(model, config, "b")
    assert len(batch.value) == 3 and len(batch.value[0]) == 8
    assert batch.value[0] == batch.value[2] and single.value == batch.value[1]
    assert server.requests[0].body == {
        "model": "text-embedding-ada-002",
        "input": ["a", "b", "a"],
        "encoding_format": "base64",
    }
    assert batch.calls[0].kind == "embedding" and batch.calls[0].prompt_tokens == 3


def test_tgi_gets_its_grammar_form_and_never_json_schema(make_server):
    server = make_server("tgi")
    config = config_for(server, chatbot_type="huggingface_tgi")
    model = OpenAICompatModel(config)
    reply, ready, person = run_all_helpers(model, config)
    assert ready is True and person == Candidate(name="x", years=1)
    assert formats(server) == [None, "json", "json"]
    grammar = server.chat_requests()[2]["response_format"]
    assert grammar["value"]["properties"]["name"] == {"type": "string", "title": "Name"}


def test_tgi_has_no_embeddings(make_server):
    server = make_server("tgi")
    config = config_for(server, chatbot_type="huggingface_tgi")
    with pytest.raises(ModelConfigError, match="no embeddings endpoint") as info:
        _generation.embed_text(OpenAICompatModel(config), config, "x")
    assert info.value.setting == "embedding_base_url"
    pointed = config_for(server, chatbot_type="huggingface_tgi", embedding_base_url=server.base_url)
    with pytest.raises(ModelCallError, match="HTTP 404"):
        _generation.embed_text(OpenAICompatModel(pointed), pointed, "x")


def test_tgi_behind_a_generic_proxy_config_falls_back_to_the_prompt(make_server):
    server = make_server("tgi")
    config = config_for(server)  # chatbot_type="proxy": TGI is not known to be TGI
    server.script(*[Reply()] * 2, '{"name": "Ana", "years": 4}')
    model = OpenAICompatModel(config)
    person = _generation.generate_object(model, config, CONV, "extract", Candidate).value
    assert person == Candidate(name="Ana", years=4)
    # each refused form is sent once: a refusal that does not name strict mode is not retried
    # without strict
    assert formats(server) == ["json_schema", "json_object", None]
    assert model.output_mode() == "prompt"


def test_llamacpp_falls_back_to_json_object_once_per_endpoint(make_server):
    server = make_server("llamacpp")
    config = config_for(server)
    model = OpenAICompatModel(config)
    first = _generation.generate_object(model, config, CONV, "extract", Candidate)
    assert first.value == Candidate(name="x", years=1)
    assert formats(server) == ["json_schema", "json_object"]
    assert first.calls[0].attempts == 2 and first.calls[0].output_mode == "json_object"
    prompt = server.chat_requests()[1]["messages"][-1]["content"]
    assert "JSON schema" in prompt and '"years"' in prompt
    for _ in range(3):
        assert _decisions.yes_or_no(model, config, CONV, "ready?").value is True
    assert formats(server)[2:] == ["json_object"] * 3
    # the refusal is a fact about the server: a new model object (a new Autogram, a new
    # session) for the same endpoint and model does not send the refused form again
    _generation.generate_object(OpenAICompatModel(config), config, CONV, "x", Candidate)
    assert formats(server)[5:] == ["json_object"]
    # another model on the same server is asked afresh
    other = config_for(server, chatbot_path="other")
    _generation.generate_object(OpenAICompatModel(other), other, CONV, "x", Candidate)
    assert formats(server)[6:] == ["json_schema", "json_object"]


def test_a_form_known_up_front_is_sent_from_the_first_call(make_server):
    server = make_server("llamacpp")
    config = config_for(server)
    model = OpenAICompatModel(config, output_modes={server.base_url: "json_object"})
    assert model.output_mode() == "json_object"
    for _ in range(3):
        assert _decisions.yes_or_no(model, config, CONV, "ready?").value is True
    assert formats(server) == ["json_object"] * 3
    # the knowledge travels with the model when it is pickled
    assert pickle.loads(pickle.dumps(model)).output_mode() == "json_object"


def test_llamacpp_accepts_our_messages_but_not_list_content_for_system(make_server):
    server = make_server("llamacpp")
    config = config_for(server)
    model = OpenAICompatModel(config)
    image = [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}]
    assert _generation.chat_reply(
        model, config, CONV, "describe", multi_modal_inputs=image
    ).value.startswith("fake reply")
    parts = [
        {"role": "system", "content": [{"type": "text", "text": "sys"}]},
        {"role": "user", "content": "hi"},
    ]
    with pytest.raises(ModelCallError, match="HTTP 500"):
        _generation.complete_messages(model, config_for(server, chatbot_max_tries=1), parts)


def test_openai_json_object_fallback_mentions_json(make_server):
    server = make_server("openai")
    invalid_schema = Reply(
        status=400, body=_error(400, "Invalid schema for response_format 'Candidate': bad keyword")
    )
    server.script(invalid_schema)
    config = config_for(server)
    model = OpenAICompatModel(config)
    assert _generation.generate_object(model, config, CONV, "x", Candidate).value.years == 1
    assert formats(server) == ["json_schema", "json_object"]
    assert model.output_mode() == "json_object"


def test_schema_rejection_of_strict_mode_retries_non_strict_and_keeps_json_schema(server):
    server.script(
        Reply(
            status=400,
            body=_error(400, "response_format: strict schemas need additionalProperties false"),
        )
    )
    config = config_for(server)
    model = OpenAICompatModel(config)
    _generation.generate_object(model, config, CONV, "x", Candidate)
    strict = [b["response_format"]["json_schema"]["strict"] for b in server.chat_requests()]
    assert strict == [True, False]
    assert model.output_mode() == "json_schema"
    # strict mode is not asked for again from this server
    _generation.generate_object(OpenAICompatModel(config), config, CONV, "x", Candidate)
    strict = [b["response_format"]["json_schema"]["strict"] for b in server.chat_requests()]
    assert strict == [True, False, False]


def test_prompt_mode_validates_and_repairs_once(make_server):
    server = make_server("tgi")
    config = config_for(server)
    server.script(*[Reply()] * 2, "Sure! name is Ana", 'Here: {"name": "Ana", "years": 2}')
    result = _generation.generate_object(OpenAICompatModel(config), config, CONV, "x", Candidate)
    assert result.value == Candidate(name="Ana", years=2) and len(result.calls) == 2
    repair = server.chat_requests()[-1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": "Sure! name is Ana"}


def test_prompt_mode_gives_up_after_one_repair(make_server):
    server = make_server("tgi")
    config = config_for(server)
    server.script(*[Reply()] * 2, '{"name": 1}', '{"name": "Ana"}')
    with pytest.raises(StructuredOutputError) as info:
        _generation.generate_object(OpenAICompatModel(config), config, CONV, "x", Candidate)
    assert info.value.schema_name == "Candidate" and "years" in info.value.reason
    assert json.loads(info.value.output) == {"name": "Ana"}

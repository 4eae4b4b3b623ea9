"""The embedded default model, for real: SmolLM2-135M-Instruct served on 127.0.0.1 by each
installed backend, driven through the real ``openai`` client, and through a LiteLLM proxy.

What differs between the backends is asserted here, so a change in either is noticed:
llama-server accepts OpenAI ``json_schema`` structured outputs and list-of-parts message content;
llama-cpp-python's server rejects both with HTTP 500. Both accept llama.cpp's own
``{"type": "json_object", "schema": ...}`` form, which is the model layer's fallback.
"""

from __future__ import annotations

import json

import openai
import pydantic
import pytest

from autograms.models.local_server import LocalModelServer

pytestmark = pytest.mark.llm

YES_NO_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}},
    "required": ["answer"],
}
QUESTION = [
    {"role": "system", "content": "You answer questions with yes or no, as JSON."},
    {"role": "user", "content": "Is the sky blue on a clear day?"},
]


class Person(pydantic.BaseModel):
    name: str
    years_experience: int


def test_models_endpoint_lists_the_alias(
    llm_server: LocalModelServer, openai_client: openai.OpenAI
) -> None:
    ids = [model.id for model in openai_client.models.list()]
    assert llm_server.model in ids


def test_chat_completion_answers_in_text(
    llm_server: LocalModelServer, openai_client: openai.OpenAI
) -> None:
    completion = openai_client.chat.completions.create(
        model=llm_server.model,
        max_tokens=32,
        temperature=0,
        messages=[{"role": "user", "content": "Name one colour of the rainbow."}],
    )
    message = completion.choices[0].message
    assert message.role == "assistant"
    assert isinstance(message.content, str) and message.content.strip()
    assert completion.usage is not None and completion.usage.completion_tokens > 0


def test_streaming_yields_text_chunks(
    llm_server: LocalModelServer, openai_client: openai.OpenAI
) -> None:
    stream = openai_client.chat.completions.create(
        model=llm_server.model,
        max_tokens=16,
        temperature=0,
        stream=True,
        messages=[{"role": "user", "content": "Count from one to five."}],
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text.strip()


def test_json_object_with_schema_gives_schema_valid_json(
    llm_server: LocalModelServer, openai_client: openai.OpenAI
) -> None:
    completion = openai_client.chat.completions.create(
        model=llm_server.model,
        max_tokens=32,
        temperature=0,
        messages=QUESTION,
        response_format={"type": "json_object", "schema": YES_NO_SCHEMA},
    )  # type: ignore[typeddict-unknown-key]
    answer = json.loads(completion.choices[0].message.content or "")
    assert answer["answer"] in ("yes", "no")


def test_json_schema_response_format_works_only_on_llama_server(
    llm_server: LocalModelServer, openai_client: openai.OpenAI
) -> None:
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "yes_no", "schema": YES_NO_SCHEMA, "strict": True},
    }
    if not llm_server.backend.supports_json_schema:
        with pytest.raises(openai.InternalServerError):
            openai_client.chat.completions.create(
                model=llm_server.model,
                max_tokens=32,
                temperature=0,
                messages=QUESTION,
                response_format=response_format,
            )  # type: ignore[arg-type]
        return
    completion = openai_client.chat.completions.create(
        model=llm_server.model,
        max_tokens=32,
        temperature=0,
        messages=QUESTION,
        response_format=response_format,
    )  # type: ignore[arg-type]
    assert json.loads(completion.choices[0].message.content or "")["answer"] in ("yes", "no")


def test_pydantic_parse_works_only_on_llama_server(
    llm_server: LocalModelServer, openai_client: openai.OpenAI
) -> None:
    messages = [
        {
            "role": "user",
            "content": "Ana has worked for 5 years. Give her name and years of experience.",
        }
    ]
    if not llm_server.backend.supports_json_schema:
        with pytest.raises(openai.InternalServerError):
            openai_client.chat.completions.parse(
                model=llm_server.model,
                max_tokens=64,
                temperature=0,
                messages=messages,
                response_format=Person,
            )
        return
    completion = openai_client.chat.completions.parse(
        model=llm_server.model,
        max_tokens=64,
        temperature=0,
        messages=messages,
        response_format=Person,
    )
    assert isinstance(completion.choices[0].message.parsed, Person)


def test_list_of_parts_content_works_only_on_llama_server(
    llm_server: LocalModelServer, openai_client: openai.OpenAI
) -> None:
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "You are brief."}]},
        {"role": "user", "content": [{"type": "text", "text": "Say hi."}]},
    ]
    if not llm_server.backend.supports_content_parts:
        with pytest.raises(openai.InternalServerError):
            openai_client.chat.completions.create(
                model=llm_server.model, max_tokens=8, temperature=0, messages=messages
            )
        return
    completion = openai_client.chat.completions.create(
        model=llm_server.model, max_tokens=8, temperature=0, messages=messages
    )
    assert completion.choices[0].message.content is not None


def test_chat_through_litellm_proxy(litellm_proxy, client_for) -> None:  # noqa: ANN001
    client = client_for(litellm_proxy.base_url, litellm_proxy.api_key)
    completion = client.chat.completions.create(
        model=litellm_proxy.model,
        max_tokens=32,
        temperature=0,
        messages=[{"role": "user", "content": "Name one colour of the rainbow."}],
    )
    assert (completion.choices[0].message.content or "").strip(), litellm_proxy.log_tail()


def test_requests_without_the_servers_key_are_refused(
    llm_server: LocalModelServer, client_for
) -> None:  # noqa: ANN001
    with pytest.raises(openai.AuthenticationError):
        client_for(llm_server.base_url, "sk-wrong").chat.completions.create(
            model=llm_server.model, max_tokens=4, messages=[{"role": "user", "content": "Hi"}]
        )

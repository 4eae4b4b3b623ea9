"""Outside tests of `POST /v1/chat/completions` (README "Serving a bot", "The OpenAI-compatible
API"): the real openai SDK, raw HTTP, bad input, replays and edited histories."""

import asyncio
import json
import os
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_outside_support as sup  # noqa: E402


@pytest.fixture(scope="module")
def echo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve-openai")
    bot = sup.write_bot(folder, "echobot", sup.ECHO_BOT)
    with sup.Server(bot, "--test-mode", folder=folder) as server:
        yield server


def test_openai_sdk_sync_and_async_streaming_continue_one_conversation(echo):
    from openai import AsyncOpenAI, OpenAI

    client = OpenAI(base_url=echo.base + "/v1", api_key="unused", max_retries=0)
    messages = [{"role": "user", "content": "hi"}]
    raw = client.chat.completions.with_raw_response.create(
        model="whatever", messages=messages, extra_headers={"X-Session-Id": "sdk-1"}
    )
    assert raw.headers["x-session-id"] == "sdk-1"
    messages.append({"role": "assistant", "content": raw.parse().choices[0].message.content})
    messages.append({"role": "user", "content": "naïve ☃ text"})
    stream = client.chat.completions.create(
        model="whatever",
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"X-Session-Id": "sdk-1"},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "turn 1: naïve ☃ text"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and not chunks[-1].choices
    messages.append({"role": "assistant", "content": text})
    messages.append({"role": "user", "content": "async"})

    async def go():
        aclient = AsyncOpenAI(base_url=echo.base + "/v1", api_key="unused", max_retries=0)
        s = await aclient.chat.completions.create(
            model="whatever",
            messages=messages,
            stream=True,
            extra_headers={"X-Session-Id": "sdk-1"},
        )
        return "".join([c.choices[0].delta.content or "" async for c in s if c.choices])

    assert asyncio.run(go()) == "turn 2: async"
    stored = echo.session("sdk-1")
    assert stored["version"] == 3
    assert [m["content"] for m in stored["history"]] == [
        "hi",
        "hello",
        "naïve ☃ text",
        "turn 1: naïve ☃ text",
        "async",
        "turn 2: async",
    ]


def test_the_same_request_sent_again_returns_the_stored_reply_and_runs_nothing(echo):
    history = sup.converse(echo, "replay-1", ["a", "b", "c"])
    version = echo.session("replay-1")["version"]
    # Any earlier request of the conversation, sent again, gets its own stored reply.
    for upto in (1, 3, 5):
        assert echo.chat_text(history[:upto], "replay-1") == history[upto]["content"]
    assert echo.session("replay-1")["version"] == version


def test_an_edited_or_regenerated_history_is_refused_with_409_and_no_fork(echo):
    history = sup.converse(echo, "edit-1", ["a", "b"])
    edited = [dict(m) for m in history] + [{"role": "user", "content": "c"}]
    edited[2]["content"] = "B"
    status, _, body = echo.chat(edited, "edit-1")
    assert status == 409
    assert json.loads(body)["error"]["code"] == "history_mismatch"
    regenerated = history[:3] + [{"role": "user", "content": "other"}]
    status, _, body = echo.chat(regenerated[:2] + [{"role": "user", "content": "other"}], "edit-1")
    assert status == 409
    assert echo.session("edit-1")["version"] == 2


def test_system_messages_are_ignored_anywhere_in_the_history(echo):
    history = sup.converse(echo, "sys-1", ["a"])
    messages = (
        [{"role": "system", "content": "be brief"}]
        + history
        + [{"role": "system", "content": "really"}, {"role": "user", "content": "b"}]
    )
    assert echo.chat_text(messages, "sys-1") == "turn 1: b"


@pytest.mark.parametrize(
    "body, code",
    [
        ({"model": "m", "messages": []}, "invalid_messages"),
        ({"model": "m"}, "invalid_messages"),
        ({"model": "m", "messages": [{"role": "user", "content": 5}]}, None),
        ({"model": "m", "messages": [{"role": "wizard", "content": "x"}]}, "invalid_messages"),
        ({"model": "m", "messages": [{"role": "user", "content": "a"}], "stream": "yes"}, None),
        ([1, 2], None),
    ],
)
def test_malformed_bodies_get_400_with_an_openai_error_object(echo, body, code):
    status, _, raw = sup.request("POST", echo.base + "/v1/chat/completions", body)
    assert status == 400
    error = json.loads(raw)["error"]
    assert error["message"] and error["type"] == "invalid_request_error"
    if code:
        assert error["code"] == code


def test_a_lone_surrogate_in_the_message_is_refused_with_400(echo):
    # JSON allows "\ud800"; Python decodes it to a str the store cannot encode.
    body = '{"model": "m", "messages": [{"role": "user", "content": "x\\ud800y"}]}'
    status, _, raw = sup.request(
        "POST",
        echo.base + "/v1/chat/completions",
        body,
        {"content-type": "application/json", "X-Session-Id": "sur-1"},
    )
    assert status == 400, raw[:300]


def test_history_mismatch_names_the_differing_message_by_its_place_in_the_request(echo):
    history = sup.converse(echo, "name-1", ["a"])
    system = [{"role": "system", "content": "s1"}, {"role": "system", "content": "s2"}]
    edited = (
        system
        + [{"role": "user", "content": "A"}]
        + history[1:]
        + [{"role": "user", "content": "b"}]
    )
    status, _, raw = echo.chat(edited, "name-1")
    assert status == 409
    message = json.loads(raw)["error"]["message"]
    # the request's messages[2] (its 3rd message) is the one that differs
    assert "messages[2]" in message or "message 3 " in message, message


def test_a_chat_completions_duplicate_waits_for_the_running_turn_and_gets_its_reply(echo):
    # (session 4: the duplicate used to get 409 turn_in_progress; it now waits for the turn)
    history = sup.converse(echo, "dup-1", ["a"])
    request = history + [{"role": "user", "content": "slow one"}]
    results = []

    def send():
        results.append(echo.chat(request, "dup-1"))

    first = threading.Thread(target=send)
    first.start()
    time.sleep(0.5)  # the first turn sleeps 1.5 s in the bot
    status, headers, raw = echo.chat(request, "dup-1")
    first.join(30)
    assert results and results[0][0] == 200
    assert status == 200, raw
    replies = [json.loads(body)["choices"][0]["message"]["content"] for _, _, body in results]
    assert json.loads(raw)["choices"][0]["message"]["content"] == replies[0]
    assert echo.session("dup-1")["version"] == len(history) // 2 + 1


def test_models_lists_the_bot_by_its_name(echo):
    status, _, raw = sup.request("GET", echo.base + "/v1/models")
    assert status == 200
    assert [m["id"] for m in json.loads(raw)["data"]] == ["echobot"]


def test_the_session_id_comes_back_for_the_header_the_user_field_and_a_new_session(echo):
    msgs = [{"role": "user", "content": "hi"}]
    _, h1, _ = echo.chat(msgs, "hdr-1")
    _, h2, _ = echo.chat(msgs, extra={"user": "user-field-1"})
    _, h3, _ = echo.chat(msgs)
    assert h1["x-session-id"] == "hdr-1"
    assert h2["x-session-id"] == "user-field-1"
    assert h3["x-session-id"] and h3["x-session-id"] not in ("hdr-1", "user-field-1")
    assert echo.session(h3["x-session-id"])["version"] == 1


def test_the_readme_snippet_runs_against_autograms_serve_recruiter(tmp_path):
    import re
    import subprocess

    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md")).read()
    section = readme[readme.index("## Serving a bot") :]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "http://127.0.0.1:8000/v1" in snippet
    with sup.Server("recruiter", "--test-mode", folder=tmp_path) as server:
        script = tmp_path / "snippet.py"
        script.write_text(snippet.replace("http://127.0.0.1:8000", server.base))
        out = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.startswith("Hi, I'm Daisy"), out.stdout
        assert server.session("chat-1")["history"][-1]["content"] == out.stdout


# The README first said "any id the client picks"; the id goes unchanged into URL paths
# (/v1/sessions/ID) and response headers, so the service takes a stated set of characters and
# the README now states it: an id outside it is refused with 400 naming the rule.
@pytest.mark.parametrize("sid", ["chat 1", "team/chat-1", "Zoë-1"])
def test_a_conversation_id_outside_the_readme_characters_is_refused_naming_them(echo, sid):
    status, headers, raw = sup.request(
        "POST",
        echo.base + "/v1/chat/completions",
        {"model": "m", "messages": [{"role": "user", "content": "hi"}]},
        {"X-Session-Id": sid.encode("utf-8").decode("latin-1")},
    )
    assert status == 400, raw[:200]
    assert "letters, digits" in json.loads(raw)["error"]["message"]


@pytest.mark.parametrize("sid", ["chat-1", "team:chat.1", "a@b+c=d~e_f"])
def test_a_conversation_id_of_the_readme_characters_is_taken(echo, sid):
    status, headers, raw = sup.request(
        "POST",
        echo.base + "/v1/chat/completions",
        {"model": "m", "messages": [{"role": "user", "content": "hi"}]},
        {"X-Session-Id": sid},
    )
    assert status == 200, raw[:200]
    assert headers["x-session-id"] == sid

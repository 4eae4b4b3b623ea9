"""The OpenAI-compatible routes through the real openai SDK (sync and async, streaming and
not) against `autograms serve` on loopback."""

from __future__ import annotations

import asyncio
import queue
import random
import sqlite3
import threading
import functools
import time
import uuid
from pathlib import Path

import openai
import pytest

from tests.serve.bots.streamer import GATE, WELCOME
from tests.fakes.openai_server import FakeOpenAIServer, Reply
from tests.serve.server import HTTP, FILLER, ServeProcess, model_config, start_model


@functools.cache
def client(service) -> openai.OpenAI:
    """One client per service (making one costs ~0.1 s)."""
    return openai.OpenAI(base_url=service.base_url, api_key="unused", max_retries=0)


def conversation(*pairs: str) -> list[dict[str, str]]:
    """Messages alternating user, assistant, ..., ending with the user's."""
    roles = ("user", "assistant")
    return [{"role": roles[i % 2], "content": text} for i, text in enumerate(pairs)]


def ask(service, session: str, *pairs: str, **options):
    return client(service).chat.completions.with_raw_response.create(
        model="streamer",
        messages=conversation(*pairs),
        extra_headers={"X-Session-Id": session},
        **options,
    )


def streamed(service, session: str, *pairs: str, include_usage: bool = False):
    """The chunks of a streamed completion."""
    options = {"stream_options": {"include_usage": True}} if include_usage else {}
    stream = client(service).chat.completions.create(
        model="streamer",
        messages=conversation(*pairs),
        stream=True,
        extra_headers={"X-Session-Id": session},
        **options,
    )
    return list(stream)


def text_of(chunks) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_models_lists_the_bot(service):
    models = client(service).models.list()
    assert [model.id for model in models.data] == ["streamer"]


def test_the_bot_is_retrieved_by_its_name_and_no_other_model_is(service):
    assert client(service).models.retrieve("streamer").id == "streamer"
    with pytest.raises(openai.NotFoundError) as info:
        client(service).models.retrieve("gpt-4o")
    assert info.value.body["code"] == "model_not_found"


def test_a_new_conversation_gets_a_session_id_and_continues_with_it(service):
    raw = client(service).chat.completions.with_raw_response.create(
        model="anything", messages=conversation("hi")
    )
    session = raw.headers["x-session-id"]
    assert len(session) == 32 and raw.parse().choices[0].message.content == WELCOME
    second = ask(service, session, "hi", WELCOME, "what is new?")
    answer = second.parse().choices[0].message.content
    assert answer.startswith("Reply ") and answer.endswith(FILLER)
    assert second.headers["x-session-id"] == session and second.headers["x-session-version"] == "2"


def test_the_user_field_names_the_conversation(service):
    user = f"user-{uuid.uuid4().hex[:8]}@example.org"
    first = client(service).chat.completions.with_raw_response.create(
        model="streamer", messages=conversation("hello"), user=user
    )
    assert first.headers["x-session-id"] == user
    second = client(service).chat.completions.create(
        model="streamer", messages=conversation("hello", WELCOME, "fixed one"), user=user
    )
    assert second.choices[0].message.content == "Fixed answer to fixed one."


def test_streamed_and_plain_answers_agree(service):
    plain, stream = f"p-{uuid.uuid4().hex}", f"s-{uuid.uuid4().hex}"
    history = ["hi"]
    for message in ("tell me more", "fixed thing", "and then?"):
        want = ask(service, plain, *history).parse().choices[0].message.content
        chunks = streamed(service, stream, *history)
        assert text_of(chunks) == want
        assert chunks[-1].choices[0].finish_reason == "stop"
        history += [want, message]


def test_a_model_reply_streams_in_pieces_and_a_fixed_reply_in_one(tmp_path):
    # a word every 50 ms: the module's model (2 ms) writes its whole reply while a loaded
    # box's server looks once, and the pieces that arrived together go out as one
    model = start_model(token_delay=0.05)
    service = ServeProcess(tmp_path, config=model_config(model)).start()
    try:
        session = f"s-{uuid.uuid4().hex}"
        welcome = [
            c for c in streamed(service, session, "hi") if c.choices and c.choices[0].delta.content
        ]
        chunks = streamed(service, session, "hi", WELCOME, "go on")
    finally:
        service.stop()
        model.stop()
    assert [c.choices[0].delta.content for c in welcome] == [WELCOME]
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(pieces) > 1 and chunks[0].choices[0].delta.role == "assistant", pieces


def test_usage_comes_in_a_last_chunk_when_asked(service):
    session = f"s-{uuid.uuid4().hex}"
    streamed(service, session, "hi")
    chunks = streamed(service, session, "hi", WELCOME, "question", include_usage=True)
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0
    assert chunks[-1].usage.total_tokens == (
        chunks[-1].usage.prompt_tokens + chunks[-1].usage.completion_tokens
    )
    plain = ask(service, session, "hi", WELCOME, "question", text_of(chunks), "fixed").parse()
    assert plain.usage.total_tokens == 0  # a fixed reply calls no model


def test_the_async_client_streams_and_answers(service):
    async def chat() -> tuple[str, str]:
        async with openai.AsyncOpenAI(base_url=service.base_url, api_key="x") as aclient:
            session = {"X-Session-Id": f"a-{uuid.uuid4().hex}"}
            first = await aclient.chat.completions.create(
                model="streamer", messages=conversation("hi"), extra_headers=session
            )
            stream = await aclient.chat.completions.create(
                model="streamer",
                messages=conversation("hi", first.choices[0].message.content, "more"),
                stream=True,
                extra_headers=session,
            )
            return first.choices[0].message.content, text_of([c async for c in stream])

    first, second = asyncio.run(chat())
    assert first == WELCOME and second.startswith("Reply ")


def test_the_same_request_again_returns_the_stored_reply_without_a_new_turn(service):
    session = f"r-{uuid.uuid4().hex}"
    ask(service, session, "hi")
    first = ask(service, session, "hi", WELCOME, "question")
    again = ask(service, session, "hi", WELCOME, "question")
    assert again.parse().choices[0].message.content == first.parse().choices[0].message.content
    assert again.headers["x-session-version"] == first.headers["x-session-version"] == "2"
    chunks = streamed(service, session, "hi", WELCOME, "question")
    assert text_of(chunks) == first.parse().choices[0].message.content
    replayed = ask(service, session, "hi", WELCOME, "question", stream=True)
    assert replayed.headers["x-session-version"] == "2"
    assert text_of(list(replayed.parse())) == first.parse().choices[0].message.content
    history = HTTP.get(f"{service.base_url}/sessions/{session}").json()["history"]
    assert [m["content"] for m in history if m["role"] == "user"] == ["hi", "question"]


@pytest.mark.parametrize(
    "history",
    [
        ("hi", "a reply the service never gave", "next"),  # an edited assistant message
        ("hello", WELCOME, "next"),  # an edited first message
        ("next",),  # only the newest message
        ("hi", WELCOME, "one", "two", "three"),  # more than the session holds
    ],
)
def test_a_history_that_does_not_match_the_session_is_refused(service, history):
    session = f"m-{uuid.uuid4().hex}"
    ask(service, session, "hi")
    with pytest.raises(openai.ConflictError) as info:
        ask(service, session, *history)
    assert info.value.body["code"] == "history_mismatch"
    assert info.value.response.headers["x-session-id"] == session
    version = HTTP.get(f"{service.base_url}/sessions/{session}").json()["version"]
    assert version == 1  # nothing was run


def test_system_messages_and_a_leading_greeting_are_ignored(service):
    session = f"g-{uuid.uuid4().hex}"
    messages = [
        {"role": "system", "content": "You are helpful."},
        {"role": "assistant", "content": "How can I help?"},
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
    ]
    answer = client(service).chat.completions.create(
        model="streamer", messages=messages, extra_headers={"X-Session-Id": session}
    )
    assert answer.choices[0].message.content == WELCOME


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"messages": []}, "invalid_messages"),
        ({"messages": [{"role": "assistant", "content": "x"}]}, "invalid_messages"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "invalid_messages"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "invalid_messages"),
        ({"messages": [{"role": "user", "content": "x"}], "stream": "yes"}, "invalid_field"),
        ({"messages": [{"role": "user", "content": "x"}], "user": "a b"}, "invalid_session_id"),
        ({"messages": [{"role": "user", "content": "x"}], "user": "."}, "invalid_session_id"),
        ({"messages": [{"role": "user", "content": "x"}], "user": ".."}, "invalid_session_id"),
    ],
)
def test_bad_requests_get_400_with_a_code(service, body, code):
    response = HTTP.post(f"{service.base_url}/chat/completions", json=body)
    assert response.status_code == 400 and response.json()["error"]["code"] == code


def test_the_first_piece_arrives_long_before_the_model_finishes(tmp_path):
    slow = start_model(token_delay=0.15)
    service = ServeProcess(tmp_path, config=model_config(slow)).start()
    try:
        session = f"t-{uuid.uuid4().hex}"
        ask(service, session, "hi")
        start = time.monotonic()
        stream = client(service).chat.completions.create(
            model="streamer",
            messages=conversation("hi", WELCOME, "slowly please"),
            stream=True,
            extra_headers={"X-Session-Id": session},
        )
        arrivals = []
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                arrivals.append(time.monotonic() - start)
        # 11 words 0.15 s apart: the model writes for 1.5 s; the first word comes at once
        assert len(arrivals) > 5
        assert arrivals[-1] - arrivals[0] > 1.0
    finally:
        service.stop()
        slow.stop()


def test_a_streamed_reply_starts_when_the_model_begins_not_with_its_first_piece(tmp_path):
    """The response's status and headers go out once the model has accepted the request, so
    the client reads them (the SDK's create() returns) while the model prepares its first
    word, not together with it."""
    late = start_model(first_token_delay=2.0)
    service = ServeProcess(tmp_path, config=model_config(late)).start()
    try:
        session = f"b-{uuid.uuid4().hex}"
        ask(service, session, "hi")  # the fixed welcome: no model call
        start = time.monotonic()
        stream = client(service).chat.completions.create(
            model="streamer",
            messages=conversation("hi", WELCOME, "take your time"),
            stream=True,
            extra_headers={"X-Session-Id": session},
        )
        headers = time.monotonic() - start
        first = None
        for chunk in stream:
            if first is None and chunk.choices and chunk.choices[0].delta.content:
                first = time.monotonic() - start
        assert first is not None and first >= 2.0
        assert first - headers > 1.0, (headers, first)
    finally:
        service.stop()
        late.stop()


def test_a_model_reply_the_store_cannot_keep_is_a_500_and_nothing_is_committed(tmp_path):
    """The request was fine: the model's reply (a lone surrogate) is the bot's failure, so
    not a 400 a client would blame itself for (the SDK does not retry a 400)."""
    odd = FakeOpenAIServer(
        responder=lambda body: None if body.get("response_format") else "half \ud800 a pair"
    ).start()
    service = ServeProcess(tmp_path, config=model_config(odd)).start()
    try:
        session = f"u-{uuid.uuid4().hex}"
        ask(service, session, "hi")
        with pytest.raises(openai.InternalServerError) as info:
            ask(service, session, "hi", WELCOME, "anything")
        assert info.value.status_code == 500
        assert info.value.body["code"] == "reply_not_storable"
        assert HTTP.get(f"{service.base_url}/sessions/{session}").json()["version"] == 1
    finally:
        service.stop()
        odd.stop()


def test_a_model_that_is_down_gives_503_with_retry_after_and_records_nothing(tmp_path):
    down = start_model()
    config = model_config(down)
    down.stop()
    service = ServeProcess(tmp_path, config=config).start()
    try:
        session = f"d-{uuid.uuid4().hex}"
        ask(service, session, "hi")
        with pytest.raises(openai.InternalServerError) as info:
            ask(service, session, "hi", WELCOME, "are you there?")
        assert info.value.status_code == 503
        assert info.value.body["code"] == "model_unavailable"
        assert int(info.value.response.headers["retry-after"]) > 0
        with pytest.raises(openai.APIError) as streaming:
            streamed(service, session, "hi", WELCOME, "are you there?")
        assert "model_unavailable" in str(streaming.value.body)
        assert HTTP.get(f"{service.base_url}/sessions/{session}").json()["version"] == 1
    finally:
        service.stop()


def test_the_timeout_flag_bounds_each_model_request(tmp_path):
    late = start_model(first_token_delay=3)  # the config allows 20 s
    service = ServeProcess(tmp_path, "--timeout", "0.5", config=model_config(late)).start()
    try:
        session = f"t-{uuid.uuid4().hex}"
        ask(service, session, "hi")
        with pytest.raises(openai.InternalServerError) as info:
            ask(service, session, "hi", WELCOME, "are you there?")
        assert info.value.body["code"] == "model_unavailable"
        assert "timed out after 0.5 s" in service.log
    finally:
        service.stop()
        late.stop()


def test_a_reply_replaced_midway_ends_the_stream_unfinished_and_a_repeat_gets_it(tmp_path):
    """The model breaks off after two streamed words and the bot's error_response replaces
    them: the stream ends with an error event (no [DONE]); sent again, the request gets the
    committed reply whole. (The break comes 0.3 s after the second word, so both words have
    reached the client first even on a loaded machine.)"""
    model = start_model(token_delay=0.3)
    service = ServeProcess(
        tmp_path, config={**model_config(model), "error_response": "Sorry, ask me again."}
    ).start()
    try:
        session = f"r-{uuid.uuid4().hex}"
        ask(service, session, "hi")
        model.script(Reply(content="one two three four", cut_after=2))
        pieces = []
        with pytest.raises(openai.APIError) as info:
            stream = client(service).chat.completions.create(
                model="streamer",
                messages=conversation("hi", WELCOME, "tell me"),
                stream=True,
                extra_headers={"X-Session-Id": session},
            )
            for chunk in stream:
                pieces.append(chunk.choices[0].delta.content if chunk.choices else "")
        assert "".join(pieces) == "one two" and info.value.body["code"] == "reply_changed"
        again = ask(service, session, "hi", WELCOME, "tell me").parse()
        assert again.choices[0].message.content == "Sorry, ask me again."
    finally:
        service.stop()
        model.stop()


def test_the_end_of_a_stream_waits_for_the_commit_and_the_pieces_do_not(tmp_path):
    """While another connection holds the SQLite store's write lock, the reply's pieces still
    stream, but the chunk with finish_reason and [DONE] come only once the turn commits."""
    model = start_model(token_delay=0.03)
    service = ServeProcess(tmp_path, config=model_config(model)).start()
    lines: queue.Queue[str | None] = queue.Queue()
    try:
        session = f"c-{uuid.uuid4().hex}"
        ask(service, session, "hi")
        body = {"model": "streamer", "stream": True,
                "messages": conversation("hi", WELCOME, "tell me")}  # fmt: skip

        def read() -> None:
            with HTTP.stream("POST", f"{service.base_url}/chat/completions", json=body,
                             headers={"X-Session-Id": session}) as response:  # fmt: skip
                for line in response.iter_lines():
                    lines.put(line)
            lines.put(None)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        first = lines.get(timeout=30)
        assert '"content"' in first
        with sqlite3.connect(service.store.removeprefix("sqlite:///"), timeout=30) as locker:
            locker.execute("BEGIN IMMEDIATE")  # the turn's commit now waits
            seen = [first]
            deadline = time.monotonic() + 2.0  # the model's 11 words take ~0.3 s
            while time.monotonic() < deadline:
                try:
                    seen.append(lines.get(timeout=0.1))
                except queue.Empty:
                    pass
            held = [line for line in seen if line]
            assert len([line for line in held if '"content"' in line]) > 1
            assert not any('"finish_reason": "stop"' in line or "[DONE]" in line for line in held)
            locker.rollback()
        rest = []
        while (line := lines.get(timeout=30)) is not None:
            if line:
                rest.append(line)
        assert any('"finish_reason": "stop"' in line for line in rest)
        assert rest[-1] == "data: [DONE]"
        reader.join(10)
    finally:
        service.stop()
        model.stop()


def test_the_same_request_sent_while_its_turn_runs_waits_and_gets_the_same_reply(service, tmp_path):
    session = f"w-{uuid.uuid4().hex}"
    ask(service, session, "hi")
    gate = tmp_path / f"gate-{uuid.uuid4().hex[:8]}"
    message = f"{GATE}{gate}"
    answers: list = []

    def send() -> None:
        answers.append(ask(service, session, "hi", WELCOME, message).parse())

    first = threading.Thread(target=send)
    first.start()
    deadline = time.monotonic() + 30
    while not Path(f"{gate}.entered").exists():
        assert time.monotonic() < deadline, "the first turn never started"
        time.sleep(0.01)
    second = threading.Thread(target=send)
    second.start()
    time.sleep(0.3)  # the second request finds the first one's turn running
    gate.touch()
    first.join(30)
    second.join(30)
    replies = [answer.choices[0].message.content for answer in answers]
    assert len(replies) == 2 and replies[0] == replies[1]
    assert HTTP.get(f"{service.base_url}/sessions/{session}").json()["version"] == 2


def test_a_keyed_message_queued_behind_another_turn_of_its_history_is_refused(service, tmp_path):
    """Two tabs send different messages with their own Idempotency-Keys on the same history:
    the one that waited in the queue is checked against the session as it is when its turn
    would run (the history its claim reads), so it is refused, not run on a conversation its
    client never saw."""
    session = f"q-{uuid.uuid4().hex}"
    ask(service, session, "hi")
    gate = tmp_path / f"gate-{uuid.uuid4().hex[:8]}"
    outcomes: dict[str, object] = {}

    def send(name: str, message: str) -> None:
        try:
            answer = client(service).chat.completions.create(
                model="streamer",
                messages=conversation("hi", WELCOME, message),
                extra_headers={"X-Session-Id": session, "Idempotency-Key": uuid.uuid4().hex},
            )
            outcomes[name] = answer.choices[0].message.content
        except openai.APIStatusError as error:
            outcomes[name] = error

    first = threading.Thread(target=send, args=("first", f"{GATE}{gate}"))
    first.start()
    deadline = time.monotonic() + 30
    while not Path(f"{gate}.entered").exists():
        assert time.monotonic() < deadline, "the first turn never started"
        time.sleep(0.01)
    second = threading.Thread(target=send, args=("second", "another message"))
    second.start()
    time.sleep(0.3)  # the second request waits in the session's queue
    gate.touch()
    first.join(30)
    second.join(30)
    assert isinstance(outcomes["first"], str)
    refused = outcomes["second"]
    assert isinstance(refused, openai.ConflictError)
    assert refused.body["code"] == "history_mismatch"
    assert HTTP.get(f"{service.base_url}/sessions/{session}").json()["version"] == 2


@pytest.mark.parametrize("seed", range(3))
def test_the_bot_gets_the_newest_message_as_sent_and_the_history_is_compared_stripped(
    service, seed
):
    """Surrounding whitespace reaches the bot (a fixed reply quotes the message), streamed
    and not; the session shows the message as sent, and the next request matches whether
    its client kept that whitespace or trimmed it (chat UIs do both)."""
    rng = random.Random(seed)
    session = f"w-{uuid.uuid4().hex}"
    held = ["hi", ask(service, session, "hi").parse().choices[0].message.content]
    sent = []
    for turn in range(3):
        spaces = "".join(rng.choice(" \t\n") for _ in range(rng.randrange(1, 4)))
        text = f"fixed {turn}{spaces}"
        if rng.random() < 0.5:
            reply = text_of(streamed(service, session, *held, text))
        else:
            reply = ask(service, session, *held, text).parse().choices[0].message.content
        assert reply == f"Fixed answer to {text}."
        sent.append(text)
        held += [text if rng.random() < 0.5 else text.strip(), reply]
    history = HTTP.get(f"{service.base_url}/sessions/{session}").json()["history"]
    assert [m["content"] for m in history if m["role"] == "user"] == ["hi", *sent]

"""Streamed answers: the OpenAI-compatible client against a loopback fake that streams word by
word with delays, and the scripted model's pieces."""

from __future__ import annotations

import random
import socket
import struct
import time

import pytest

from autograms.config import AutogramConfig
from autograms.models import (
    ChatRequest,
    ModelCallError,
    OpenAICompatModel,
    OutputSpec,
    ScriptedModel,
    StreamingChatModel,
)
from tests.fakes.openai_server import Reply

from .conftest import config_for

HELLO = [{"role": "user", "content": "hello"}]


class Pieces:
    """Records the pieces an answer is handed over in, and when each arrived (and when the
    model said it had begun: an empty piece)."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.times: list[float] = []
        self.begun: list[float] = []

    def __call__(self, text: str) -> None:
        if not text:
            self.begun.append(time.monotonic())
            return
        self.texts.append(text)
        self.times.append(time.monotonic())


def test_both_clients_stream():
    assert isinstance(ScriptedModel(), StreamingChatModel)
    assert isinstance(OpenAICompatModel(AutogramConfig()), StreamingChatModel)


def test_pieces_arrive_while_the_server_is_still_writing(make_server):
    server = make_server(token_delay=0.05)
    server.script("one two three four five six")
    pieces = Pieces()
    result = OpenAICompatModel(config_for(server)).stream(ChatRequest(HELLO), pieces)
    end = time.monotonic()
    assert pieces.texts == ["one ", "two ", "three ", "four ", "five ", "six"]
    assert result.text == "one two three four five six"
    # the first word came ~0.25 s before the answer ended: five delays of 0.05 s followed it
    assert end - pieces.times[0] >= 0.2
    assert pieces.times == sorted(pieces.times)


def test_the_model_says_it_has_begun_when_the_server_accepts_before_the_first_piece(make_server):
    server = make_server(first_token_delay=0.3)
    server.script(Reply(status=503, body={"error": {"message": "busy"}}), "fine now")
    pieces = Pieces()
    result = OpenAICompatModel(config_for(server)).stream(ChatRequest(HELLO), pieces)
    assert result.text == "fine now" and pieces.texts == ["fine ", "now"]
    assert len(pieces.begun) == 1  # the refused attempt did not begin an answer
    # said when the server's response began, not with the first piece 0.3 s later
    assert pieces.times[0] - pieces.begun[0] >= 0.2


def test_a_streamed_answer_reports_the_servers_usage(make_server):
    server = make_server()
    server.script("a short answer")
    result = OpenAICompatModel(config_for(server)).stream(ChatRequest(HELLO), Pieces())
    body = server.chat_requests()[-1]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert result.call.usage_estimated is False
    assert result.call.completion_tokens == len("a short answer") // 4 + 1
    assert result.call.finish_reason == "stop" and result.call.output == "a short answer"


def test_usage_is_estimated_when_the_server_sends_none(make_server):
    server = make_server(send_usage=False)
    result = OpenAICompatModel(config_for(server)).stream(ChatRequest(HELLO), Pieces())
    assert result.call.usage_estimated is True and result.call.completion_tokens > 0


def test_a_failure_before_the_first_piece_is_retried(make_server):
    server = make_server()
    server.script(Reply(status=503, body={"error": {"message": "busy"}}), "fine now")
    pieces = Pieces()
    result = OpenAICompatModel(config_for(server)).stream(ChatRequest(HELLO), pieces)
    assert result.text == "fine now" and "".join(pieces.texts) == "fine now"
    assert result.call.attempts == 2


def test_a_connection_broken_midway_is_not_retried(make_server):
    server = make_server()
    server.script(Reply(content="alpha beta gamma delta", cut_after=2), "never sent")
    pieces = Pieces()
    with pytest.raises(ModelCallError) as info:
        OpenAICompatModel(config_for(server)).stream(ChatRequest(HELLO), pieces)
    assert pieces.texts == ["alpha ", "beta "]
    assert info.value.attempts == 1 and "broke off after 2 streamed piece(s)" in str(info.value)
    assert len(server.chat_requests()) == 1


def test_an_error_event_midway_is_a_model_call_error_naming_it(make_server):
    server = make_server()
    server.script(Reply(content="alpha beta gamma", cut_after=1, error_event="overloaded"))
    pieces = Pieces()
    with pytest.raises(ModelCallError) as info:
        OpenAICompatModel(config_for(server)).stream(ChatRequest(HELLO), pieces)
    assert pieces.texts == ["alpha "]
    assert "overloaded" in str(info.value) and info.value.attempts == 1


def test_an_error_event_before_the_first_piece_is_retried(make_server):
    server = make_server()
    server.script(Reply(content="alpha", cut_after=0, error_event="overloaded"), "fine now")
    config = config_for(server, chatbot_max_tries=2)
    result = OpenAICompatModel(config).stream(ChatRequest(HELLO), Pieces())
    assert result.text == "fine now" and result.call.attempts == 2


def test_a_server_silent_past_the_timeout_midway_is_reported_as_timed_out(make_server):
    server = make_server(token_delay=1.0)
    server.script("alpha beta")
    pieces = Pieces()
    with pytest.raises(ModelCallError) as info:
        OpenAICompatModel(config_for(server, request_timeout=0.2)).stream(
            ChatRequest(HELLO), pieces
        )
    assert pieces.texts == ["alpha "] and "timed out" in str(info.value)


def test_the_timeout_bounds_a_whole_streamed_answer_not_each_read(make_server):
    server = make_server(token_delay=0.2)
    server.script(" ".join(["word"] * 20))  # 4 s in all, never 0.5 s without a byte
    pieces = Pieces()
    model = OpenAICompatModel(config_for(server, request_timeout=0.5))
    model.warm_up()  # the SDK's import (seconds on a loaded machine) is not the call's time
    start = time.monotonic()
    with pytest.raises(ModelCallError) as info:
        model.stream(ChatRequest(HELLO), pieces)
    assert time.monotonic() - start < 2 and "timed out" in str(info.value)
    assert 1 <= len(pieces.texts) < 20


def test_streamed_answers_reuse_one_connection(make_server):
    server = make_server()
    model = OpenAICompatModel(config_for(server))
    texts = [model.stream(ChatRequest(HELLO), Pieces()).text for _ in range(3)]
    assert len(set(texts)) == 1 and server.connections == 1


def test_a_client_resetting_its_connection_leaves_the_fake_server_quiet(make_server, capfd):
    server = make_server()
    OpenAICompatModel(config_for(server)).stream(ChatRequest(HELLO), Pieces())
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    deadline = time.monotonic() + 5
    while server.connections < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)  # the reset reaches the handler's read
    OpenAICompatModel(config_for(server)).stream(ChatRequest(HELLO), Pieces())
    assert "Traceback" not in capfd.readouterr().err


def test_structured_output_comes_in_one_piece(make_server):
    server = make_server()
    spec = OutputSpec("answer", {"type": "object", "properties": {"ok": {"type": "boolean"}}})
    pieces = Pieces()
    request = ChatRequest(HELLO, kind="structured", output=spec)
    result = OpenAICompatModel(config_for(server)).stream(request, pieces)
    assert pieces.texts == [result.text] and "stream" not in server.chat_requests()[-1]


@pytest.mark.parametrize("seed", range(5))
def test_scripted_pieces_join_to_the_complete_answer(seed):
    rng = random.Random(seed)
    words = [rng.choice(["a", "bb", "  ", "\n", "ccc ", " d"]) for _ in range(rng.randrange(12))]
    text = "".join(words)
    model = ScriptedModel(handler=lambda request: text, seed=seed)
    pieces = Pieces()
    result = model.stream(ChatRequest(HELLO), pieces)
    assert "".join(pieces.texts) == result.text == model.complete(ChatRequest(HELLO)).text
    assert len(pieces.texts) == len(text.split()) or not text.strip()


def test_scripted_default_answers_stream_in_several_pieces():
    pieces = Pieces()
    ScriptedModel(seed=3).stream(ChatRequest(HELLO), pieces)
    assert len(pieces.texts) > 1

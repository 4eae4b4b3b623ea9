"""Outside tests of streaming in `autograms serve` (README "Serving a bot": replies stream
"while the model writes it", `[DONE]` "sent only once the turn is committed", metrics) against
a loopback fake model that streams words with delays."""

import json
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_outside_support as sup  # noqa: E402


@pytest.fixture(scope="module")
def model():
    with sup.FakeModel(words=8, delay=0.25) as fake:
        yield fake


@pytest.fixture(scope="module")
def served(model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve-stream")
    bot = sup.write_bot(folder, "modelbot", sup.MODEL_BOT)
    with sup.Server(
        bot, "--base-url", model.url, "--model", "fake", "--lease-seconds", "5", folder=folder
    ) as server:
        yield server


def test_the_first_token_arrives_before_the_model_finishes(served):
    from openai import OpenAI

    messages = sup.start(served, "ttft-1")
    client = OpenAI(base_url=served.base + "/v1", api_key="x", max_retries=0)
    t0 = time.monotonic()
    stream = client.chat.completions.create(
        model="m",
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"X-Session-Id": "ttft-1"},
    )
    arrivals, text, usage = [], "", None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic() - t0)
            text += chunk.choices[0].delta.content
        if chunk.usage:
            usage = chunk.usage
    assert len(text.split()) == 8
    assert arrivals[0] < 1.0 < arrivals[-1], arrivals  # 8 words x 0.25 s
    assert usage.prompt_tokens == 11 and usage.completion_tokens == 8
    assert served.session("ttft-1")["history"][-1]["content"] == text


def test_a_thought_before_the_reply_is_not_streamed_to_the_client(served):
    messages = sup.start(served, "thought-1")
    messages[-1]["content"] = "think"
    status, _, raw = served.chat(messages, "thought-1", stream=True)
    assert status == 200
    chunks = [json.loads(d) for _, d in sup.sse_events(raw) if d != "[DONE]"]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == served.session("thought-1")["history"][-1]["content"]
    assert len(text.split()) == 8


def test_a_client_that_disconnects_mid_stream_gets_the_exact_turn_on_retry(served, model):
    messages = sup.start(served, "disc-1")
    calls_before = model.count
    sock = sup.open_stream(served, "disc-1", messages)
    got = sup.read_until(sock, lambda b: b.count(b"data:") >= 2)
    sock.close()
    assert b"[DONE]" not in got
    status, raw = sup.retry_until_done(served, "disc-1", messages)
    assert status == 200, raw
    reply = json.loads(raw)["choices"][0]["message"]["content"]
    stored = served.session("disc-1")
    assert stored["version"] == 2
    assert stored["history"][-1]["content"] == reply
    assert model.count == calls_before + 1  # the model answered once for this turn


def test_metrics_count_a_turn_whose_client_disconnected(served):
    messages = sup.start(served, "disc-metrics-1")
    before = served.metrics()
    sock = sup.open_stream(served, "disc-metrics-1", messages)
    sup.read_until(sock, lambda b: b.count(b"data:") >= 2)
    sock.close()
    assert sup.wait_for(lambda: served.session("disc-metrics-1")["version"] == 2, timeout=20)
    time.sleep(0.5)
    after = served.metrics()
    usage = served.session("disc-metrics-1")["usage"]
    assert usage["completion_tokens"] == 8
    key = 'autograms_turns_total{outcome="committed"}'
    assert after.get(key, 0) - before.get(key, 0) == 1
    tokens = 'autograms_model_tokens_total{kind="completion"}'
    assert after.get(tokens, 0) - before.get(tokens, 0) == 8


def test_a_model_stream_cut_short_is_not_committed_as_the_reply(served, model):
    messages = sup.start(served, "cut-1")
    model.script[:] = ["cut:3"]
    status, _, raw = served.chat(messages, "cut-1", stream=True)
    model.script[:] = []
    stored = served.session("cut-1")
    if stored["version"] == 2:  # committed: it must be a whole answer
        assert len(stored["history"][-1]["content"].split()) == 8, stored["history"][-1]
    else:  # not committed: the stream must say so (an error event, no [DONE])
        assert b"[DONE]" not in raw, raw


def test_a_model_that_is_down_gives_503_with_retry_after_and_records_nothing(served, model):
    messages = sup.start(served, "down-1")
    model.script[:] = ["status:503"] * 50
    try:
        status, headers, raw = served.chat(messages, "down-1", timeout=120)
    finally:
        model.script[:] = []
    assert status == 503, raw
    assert int(headers["retry-after"]) > 0
    assert json.loads(raw)["error"]["code"] == "model_unavailable"
    assert served.session("down-1")["version"] == 1
    status, raw = sup.retry_until_done(served, "down-1", messages)
    assert status == 200

"""Operations: the health check, Prometheus metrics, structured request logs, and graceful
shutdown (in-flight streams finish, or end cleanly past the drain time)."""

from __future__ import annotations

import functools
import signal
import threading
import time
import uuid
from pathlib import Path

import openai
import pytest

from tests.serve.bots.streamer import WELCOME
from tests.serve.server import HTTP, FILLER, ServeProcess, model_config, start_model


@functools.cache
def client(service) -> openai.OpenAI:
    return openai.OpenAI(base_url=service.base_url, api_key="x", max_retries=0)


def chat(service, session: str, *texts: str, stream: bool = False):
    roles = ("user", "assistant")
    messages = [{"role": roles[i % 2], "content": t} for i, t in enumerate(texts)]
    return client(service).chat.completions.create(
        model="streamer", messages=messages, stream=stream, extra_headers={"X-Session-Id": session}
    )


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text format."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        sample, _, value = line.rpartition(" ")
        head, _, label_text = sample.partition("{")
        found = ",".join(sorted(label_text.rstrip("}").split(","))) if label_text else ""
        if head == name and all(part in found.split(",") for part in wanted.split(",") if part):
            total += float(value)
    return total


def test_the_health_check_names_the_bot_and_the_store(service):
    health = HTTP.get(f"{service.url}/healthz").json()
    assert health == {"status": "ok", "bot": "streamer", "store": service.store}


def test_metrics_count_requests_turns_tokens_and_first_tokens(service):
    session = f"m-{uuid.uuid4().hex}"
    before = HTTP.get(f"{service.url}/metrics").text
    chat(service, session, "hi")
    list(chat(service, session, "hi", WELCOME, "tell me", stream=True))
    HTTP.get(f"{service.base_url}/sessions/nope")
    after = HTTP.get(f"{service.url}/metrics").text

    def grew(name: str, **labels: str) -> float:
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert grew("autograms_turns_total", outcome="committed") == 2
    assert grew("autograms_http_requests_total", route="chat_completions", status="200") == 2
    assert grew("autograms_http_requests_total", route="get_session", status="404") == 1
    assert grew("autograms_model_calls_total") == 1
    assert grew("autograms_model_tokens_total", kind="completion") > 0
    assert grew("autograms_time_to_first_token_seconds_count") == 1
    assert grew("autograms_turn_seconds_count") == 2
    assert metric(after, "autograms_streams_open") == 0


def test_every_request_is_logged_as_one_json_line(service):
    session = f"l-{uuid.uuid4().hex}"
    chat(service, session, "hi")
    HTTP.get(f"{service.base_url}/sessions/{session}")
    time.sleep(0.2)
    records = [r for r in service.log_records() if r.get("session") == session]
    assert [(r["method"], r["route"], r["status"]) for r in records] == [
        ("POST", "chat_completions", 200),
        ("GET", "get_session", 200),
    ]
    assert all(r["logger"] == "autograms.serve.access" and r["ms"] > 0 for r in records)


@pytest.fixture
def slow_model():
    server = start_model(token_delay=0.12)
    yield server
    server.stop()


def start_slow_stream(service, session: str) -> tuple[threading.Thread, dict]:
    """Stream a model reply in a thread; returns when its first piece arrived."""
    chat(service, session, "hi")
    outcome: dict = {"pieces": []}
    started = threading.Event()

    def read() -> None:
        try:
            for chunk in chat(service, session, "hi", WELCOME, "take your time", stream=True):
                if chunk.choices and chunk.choices[0].delta.content:
                    outcome["pieces"].append(chunk.choices[0].delta.content)
                    started.set()
            outcome["complete"] = True
        except openai.APIError as exc:
            outcome["error"] = exc
        finally:
            started.set()

    thread = threading.Thread(target=read)
    thread.start()
    assert started.wait(30)
    return thread, outcome


def test_at_shutdown_a_stream_in_flight_finishes_and_is_committed(tmp_path, slow_model):
    service = ServeProcess(tmp_path, config=model_config(slow_model)).start()
    session = f"g-{uuid.uuid4().hex}"
    thread, outcome = start_slow_stream(service, session)
    assert service.stop() == 0
    thread.join(30)
    assert outcome.get("complete") and "".join(outcome["pieces"]).endswith(FILLER)
    again = ServeProcess(tmp_path, config=model_config(slow_model), store=service.store).start()
    try:
        view = HTTP.get(f"{again.base_url}/sessions/{session}").json()
        assert view["version"] == 2 and view["history"][-1]["content"] == "".join(outcome["pieces"])
    finally:
        again.stop()


def test_past_the_drain_time_a_stream_ends_cleanly_and_the_retry_is_exact(tmp_path, model):
    very_slow = start_model(token_delay=0.3)  # 12 pieces: the stream outlasts the drain
    config = model_config(very_slow)
    # a lease far longer than the test: the stopped service leaves the queue itself
    service = ServeProcess(
        tmp_path, "--drain-seconds", "1", "--lease-seconds", "600", config=config
    ).start()
    try:
        session = f"d-{uuid.uuid4().hex}"
        thread, outcome = start_slow_stream(service, session)
        assert service.stop() == 0
        thread.join(30)
        assert "complete" not in outcome  # no [DONE]: the client knows it is incomplete
        assert outcome["error"].body["code"] == "shutting_down"
        # the retry runs the turn again; a fast model writes the same answer sooner
        again = ServeProcess(tmp_path, config=model_config(model), store=service.store).start()
        try:
            reply = chat(again, session, "hi", WELCOME, "take your time")  # no 409 first
            view = HTTP.get(f"{again.base_url}/sessions/{session}").json()
            assert view["version"] == 2
            assert view["history"][-1]["content"] == reply.choices[0].message.content
        finally:
            again.stop()
    finally:
        very_slow.stop()


def test_past_the_drain_time_turns_not_yet_streaming_get_a_json_503(tmp_path, config):
    """SIGTERM while a plain (native) and a streamed (OpenAI) message are held inside their
    program, nothing streamed yet: at --drain-seconds each gets a JSON 503 shutting_down
    (not the server's bare 500 when it gives up on them); nothing was committed, and a new
    service runs the sessions' next messages."""
    service = ServeProcess(
        tmp_path, "--drain-seconds", "1", "--lease-seconds", "600", config=config
    ).start()
    session = f"t-{uuid.uuid4().hex}"
    gates = {name: tmp_path / f"gate-{name}" for name in ("native", "streamed")}
    requests = {
        "native": {
            "url": f"{service.base_url}/sessions/{session}/messages",
            "json": {"content": f"gate:{gates['native']}"},
            "headers": {"Idempotency-Key": "held"},
        },
        "streamed": {
            "url": f"{service.base_url}/chat/completions",
            "json": {
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": WELCOME},
                    {"role": "user", "content": f"gate:{gates['streamed']}"},
                ],
                "stream": True,
            },
            "headers": {"X-Session-Id": session},
        },
    }
    outcome = {}
    try:
        assert HTTP.post(f"{service.base_url}/sessions", json={"id": session}).status_code == 201
        first = {"content": "hi"}
        HTTP.post(requests["native"]["url"], json=first, headers={"Idempotency-Key": "first"})
        requests["streamed"]["headers"]["X-Session-Id"] = f"o-{session}"
        chat(service, f"o-{session}", "hi")

        def send(name: str) -> None:
            outcome[name] = HTTP.post(**requests[name], timeout=60)

        threads = [threading.Thread(target=send, args=(name,)) for name in requests]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while not all(Path(f"{gate}.entered").exists() for gate in gates.values()):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        started = time.monotonic()
        service.process.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join(30)
        waited = time.monotonic() - started
        for name in requests:
            answer = outcome[name]
            assert answer.status_code == 503, (name, answer.text)
            assert answer.headers["content-type"].startswith("application/json"), name
            assert answer.json()["error"]["code"] == "shutting_down", name
            assert answer.headers["retry-after"], name
        assert waited < 5, waited
        assert service.process.wait(30) == 0
    finally:
        for gate in gates.values():
            gate.touch()
        service.kill()
    again = ServeProcess(tmp_path, config=config, store=service.store).start()
    try:
        sent = HTTP.post(
            f"{again.base_url}/sessions/{session}/messages",
            json={"content": "fixed after"},
            headers={"Idempotency-Key": "after"},
        )
        assert sent.json()["version"] == 2  # the held turn left nothing
    finally:
        again.stop()

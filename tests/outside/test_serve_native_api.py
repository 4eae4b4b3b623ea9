"""Outside tests of the native session API of `autograms serve` (README "The native API"):
create / send with an Idempotency-Key / get / delete, concurrent messages, state after errors."""

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
    folder = tmp_path_factory.mktemp("serve-native")
    bot = sup.write_bot(folder, "echobot", sup.ECHO_BOT)
    # A short lease keeps the test of a blocked session short (the default is 30 s).
    with sup.Server(bot, "--test-mode", "--lease-seconds", "10", folder=folder) as server:
        yield server


def create(server, body=None):
    status, _, raw = sup.request("POST", server.base + "/v1/sessions", body or {})
    assert status == 201, raw
    return json.loads(raw)["id"]


def send(server, sid, content, key, stream=False, raw_body=None, timeout=60):
    body = raw_body if raw_body is not None else {"content": content, "stream": stream}
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return sup.request(
        "POST", f"{server.base}/v1/sessions/{sid}/messages", body, headers, timeout=timeout
    )


def test_idempotency_key_missing_reused_and_replayed(echo):
    sid = create(echo)
    status, _, raw = send(echo, sid, "hi", None)
    assert status == 400 and json.loads(raw)["error"]["code"] == "missing_idempotency_key"
    status, _, raw = send(echo, sid, "hi", "k1")
    assert status == 200 and json.loads(raw)["replayed"] is False
    status, _, raw = send(echo, sid, "hi", "k1")
    assert status == 200 and json.loads(raw)["replayed"] is True
    status, _, raw = send(echo, sid, "other", "k1")
    assert status == 422 and json.loads(raw)["error"]["code"] == "idempotency_key_reused"
    assert echo.session(sid)["version"] == 1


def test_streamed_message_events_add_up_to_the_done_reply(echo):
    sid = create(echo)
    send(echo, sid, "start", "k0")
    status, headers, raw = send(echo, sid, "streamed ☃", "k1", stream=True)
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    events = sup.sse_events(raw)
    deltas = "".join(json.loads(d)["text"] for e, d in events if e == "delta")
    done = [json.loads(d) for e, d in events if e == "done"]
    assert done and done[0]["reply"] == deltas == "turn 1: streamed ☃"


def test_concurrent_messages_under_enqueue_all_apply_in_turn(echo):
    sid = create(echo)
    send(echo, sid, "start", "k0")
    results = {}

    def go(i):
        time.sleep(0.1 * i)
        results[i] = send(echo, sid, f"slow {i}", f"k{i + 1}")

    threads = [threading.Thread(target=go, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(results[i][0] == 200 for i in range(3)), results
    stored = echo.session(sid)
    assert stored["version"] == 4
    users = [m["content"] for m in stored["history"] if m["role"] == "user"]
    assert sorted(users[1:]) == ["slow 0", "slow 1", "slow 2"]
    replies = [m["content"] for m in stored["history"] if m["role"] == "assistant"]
    assert [r.split(":")[0] for r in replies[1:]] == ["turn 1", "turn 2", "turn 3"]


def test_deleting_a_session_while_its_turn_runs_leaves_it_deleted(echo):
    sid = create(echo)
    send(echo, sid, "start", "k0")
    out = []
    worker = threading.Thread(target=lambda: out.append(send(echo, sid, "slow", "k1")))
    worker.start()
    time.sleep(0.5)
    status, _, _ = sup.request("DELETE", f"{echo.base}/v1/sessions/{sid}")
    assert status == 204
    worker.join(30)
    assert out and out[0][0] in (404, 409), out
    status, _, _ = sup.request("GET", f"{echo.base}/v1/sessions/{sid}")
    assert status == 404


def test_a_client_chosen_id_is_created_once(echo):
    assert create(echo, {"id": "mine-1"}) == "mine-1"
    status, _, raw = sup.request("POST", echo.base + "/v1/sessions", {"id": "mine-1"})
    assert status == 409 and json.loads(raw)["error"]["code"] == "session_exists"
    for bad in ("", "a b", "x" * 201, 5):
        status, _, _ = sup.request("POST", echo.base + "/v1/sessions", {"id": bad})
        assert status == 400


def test_a_message_refused_by_the_store_does_not_block_the_session(echo):
    sid = create(echo)
    send(echo, sid, "start", "k0")
    status, _, raw = send(echo, sid, None, "k1", raw_body='{"content": "bad \\ud800 text"}')
    assert status in (400, 500), raw
    started = time.monotonic()
    status, _, raw = send(echo, sid, "next", "k2", timeout=60)
    took = time.monotonic() - started
    assert status == 200, raw
    assert took < 3, f"the next message of the session waited {took:.1f} s"


def test_the_reject_policy_refuses_a_second_message_with_409_busy_and_retry_after(tmp_path):
    bot = sup.write_bot(tmp_path, "echobot", sup.ECHO_BOT)
    with sup.Server(bot, "--test-mode", "--policy", "reject", folder=tmp_path) as server:
        sid = create(server)
        send(server, sid, "start", "k0")
        out = []
        worker = threading.Thread(target=lambda: out.append(send(server, sid, "slow", "k1")))
        worker.start()
        time.sleep(0.5)
        status, headers, raw = send(server, sid, "other", "k2")
        assert status == 409 and json.loads(raw)["error"]["code"] == "session_busy"
        assert int(headers["retry-after"]) >= 1
        worker.join(30)
        assert out[0][0] == 200
        status, _, raw = send(server, sid, "other", "k2")
        assert status == 200 and json.loads(raw)["reply"] == "turn 2: other"

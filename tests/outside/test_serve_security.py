"""Outside tests of API keys, error bodies and logs of `autograms serve` (README "Security",
"Operations": "An unexpected failure is a 500 carrying only an error id; the log prints the
same id with the traceback", "one JSON line per request on stderr")."""

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_outside_support as sup  # noqa: E402

FAILING_BOT = """
    from autograms import autograms_function
    from autograms.functional import reply

    @autograms_function()
    def chatbot():
        text = reply("hello")
        while True:
            if text == "boom":
                raise ValueError("secret-internal-detail at /srv/app/keys.txt")
            text = reply(f"ok: {text}")
"""


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve-keys")
    bot = sup.write_bot(folder, "failbot", FAILING_BOT)
    with sup.Server(
        bot,
        "--test-mode",
        "--api-key",
        "key-a",
        "--api-key",
        "key-b",
        folder=folder,
        env={"AUTOGRAMS_API_KEYS": ""},
    ) as server:
        yield server


def auth(key):
    return {"Authorization": f"Bearer {key}"}


def test_api_requests_need_a_valid_key(keyed):
    for path in ("/v1/models", "/v1/sessions", "/metrics"):
        status, _, raw = sup.request("GET", keyed.base + path)
        assert status == 401 and json.loads(raw)["error"]["code"] == "missing_api_key", path
        status, _, raw = sup.request("GET", keyed.base + path, headers=auth("key-c"))
        assert status == 401 and json.loads(raw)["error"]["code"] == "invalid_api_key", path
        status, _, _ = sup.request("GET", keyed.base + path, headers=auth("key-a"))
        assert status == 200, path
    status, _, _ = keyed.chat([{"role": "user", "content": "hi"}], "nokey-1")
    assert status == 401


def test_two_keys_using_one_conversation_id_never_meet(keyed):
    hi = [{"role": "user", "content": "hi"}]
    assert keyed.chat_text(hi, "same-id", headers=auth("key-a")) == "hello"
    history_a = hi + [
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "from a"},
    ]
    assert keyed.chat_text(history_a, "same-id", headers=auth("key-a")) == "ok: from a"
    # key-b starts its own conversation under the same id
    assert keyed.chat_text(hi, "same-id", headers=auth("key-b")) == "hello"
    b = keyed.session("same-id", headers=auth("key-b"))
    a = keyed.session("same-id", headers=auth("key-a"))
    assert b["version"] == 1 and a["version"] == 2
    # key-b cannot delete, read or write key-a's native session
    status, _, raw = sup.request(
        "POST", keyed.base + "/v1/sessions", {"id": "a-only"}, auth("key-a")
    )
    assert status == 201
    for method in ("GET", "DELETE"):
        status, _, _ = sup.request(
            method, keyed.base + "/v1/sessions/a-only", headers=auth("key-b")
        )
        assert status == 404
    status, _, _ = sup.request(
        "POST",
        keyed.base + "/v1/sessions/a-only/messages",
        {"content": "x"},
        {**auth("key-b"), "Idempotency-Key": "k1"},
    )
    assert status == 404
    status, _, raw = sup.request("GET", keyed.base + "/v1/sessions", headers=auth("key-b"))
    assert "a-only" not in [s["id"] for s in json.loads(raw)["data"]]
    assert keyed.session("a-only", headers=auth("key-a"))["version"] == 0


def test_a_failing_bot_gives_a_500_with_only_an_error_id_that_the_log_shows(keyed):
    history = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "boom"},
    ]
    keyed.chat_text(history[:1], "fail-1", headers=auth("key-a"))
    for stream in (False, True):
        status, headers, raw = keyed.chat(history, "fail-1", stream=stream, headers=auth("key-a"))
        text = raw.decode()
        assert "secret-internal-detail" not in text and "Traceback" not in text
        if headers["content-type"].startswith("text/event-stream"):
            assert stream and "[DONE]" not in text
            error = json.loads(sup.sse_events(raw)[-1][1])["error"]
        else:  # failed before the first token: a plain error response
            assert status == 500
            error = json.loads(raw)["error"]
        assert error["id"] and error["id"] in error["message"]
        error_id = error["id"]
        line = keyed.stderr_lines(lambda x, error_id=error_id: error_id in x and "Traceback" in x)[
            0
        ]
        assert "secret-internal-detail" in line
    assert keyed.session("fail-1", headers=auth("key-a"))["version"] == 1
    history[-1]["content"] = "fine"
    assert keyed.chat_text(history, "fail-1", headers=auth("key-a")) == "ok: fine"


def test_each_request_is_one_json_line_on_stderr(keyed):
    marker = "log-line-1"
    keyed.chat_text([{"role": "user", "content": "hi"}], marker, headers=auth("key-a"))
    lines = keyed.stderr_lines(lambda x: x.startswith("{") and marker in x and "/v1/chat" in x)
    requests = [x for x in map(json.loads, lines) if x.get("path") == "/v1/chat/completions"]
    assert len(requests) == 1
    assert requests[0]["status"] == 200 and requests[0]["session"] == marker

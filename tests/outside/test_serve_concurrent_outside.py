"""Outside tests (session 4): concurrent clients on one conversation of `autograms serve`
(test mode, SQLite, real HTTP).

README: "409 busy / turn in progress / history mismatch (with Retry-After where waiting
helps)"; the OpenAI endpoint's conversation "must be the conversation as the service returned
it ... the service never guesses a branch and never forks a session".
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.outside.s4_support import http, serve

BOT = """
import time
from autograms import autograms_function
from autograms.functional import reply

@autograms_function()
def chatbot():
    seen = []
    while True:
        msg = reply(f"seen: {','.join(seen)}", ADDRESS="loop")
        if msg.startswith("slow"):
            time.sleep(1.5)
        seen.append(msg)
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp_path: Path = tmp_path_factory.mktemp("s4_concurrent")
    (tmp_path / "s4_concurrent_bot.py").write_text(BOT)
    store = f"sqlite:///{tmp_path / 's.db'}"
    with serve(
        "s4_concurrent_bot.py", "--test-mode", "--workers", "2", "--store", store, cwd=tmp_path
    ) as (
        base,
        _,
    ):
        yield base


def test_concurrent_native_messages_to_one_session_each_apply_once_in_some_order(served):
    base = served
    status, _, body = http("POST", base + "/v1/sessions", {})
    assert status == 201
    sid = body["id"]
    results: list = []

    def send(i: int, key: str) -> None:
        results.append(
            http(
                "POST",
                f"{base}/v1/sessions/{sid}/messages",
                {"content": f"m{i}"},
                {"Idempotency-Key": key},
            )
        )

    threads = [threading.Thread(target=send, args=(i, f"k{i}")) for i in range(6)]
    threads += [threading.Thread(target=send, args=(0, "k0")) for _ in range(2)]  # a retry storm
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(status in (200, 409) for status, _, _ in results), results
    for i in range(6):  # each key ends applied: retry the conflicted ones until they replay
        for _ in range(50):
            status, _, body = http(
                "POST",
                f"{base}/v1/sessions/{sid}/messages",
                {"content": f"m{i}"},
                {"Idempotency-Key": f"k{i}"},
            )
            if status == 200:
                break
            time.sleep(0.1)
        assert status == 200
    status, _, view = http("GET", f"{base}/v1/sessions/{sid}")
    users = [m["content"] for m in view["history"] if m["role"] == "user"]
    assert sorted(users) == [f"m{i}" for i in range(6)] and view["version"] == 6


def test_a_different_continuation_sent_while_another_runs_is_not_told_to_retry(served):
    base = served
    headers = {"X-Session-Id": "conv-1"}
    first = [{"role": "user", "content": "hello"}]
    status, _, body = http(
        "POST", base + "/v1/chat/completions", {"model": "x", "messages": first}, headers
    )
    assert status == 200
    history = first + [{"role": "assistant", "content": body["choices"][0]["message"]["content"]}]
    out: dict = {}

    def go(text: str) -> None:
        messages = history + [{"role": "user", "content": text}]
        out[text] = http(
            "POST", base + "/v1/chat/completions", {"model": "x", "messages": messages}, headers
        )

    tab1 = threading.Thread(target=go, args=("slow from tab 1",))
    tab1.start()
    time.sleep(0.6)  # tab 1's turn is running (its program sleeps 1.5 s)
    go("from tab 2")
    tab1.join(30)
    codes = {
        text: (status, body if status != 200 else None) for text, (status, _, body) in out.items()
    }
    assert sorted(status for status, _ in codes.values()) == [200, 409], codes
    (loser,) = [body for status, body in codes.values() if status == 409]
    assert loser["error"]["code"] != "turn_in_progress", loser

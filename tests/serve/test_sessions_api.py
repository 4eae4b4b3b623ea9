"""The native session routes over real HTTP: create, list, send (idempotency keys), history and
where the program waits, delete; every error path with its status and code."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid

import httpx2
import pytest

from tests.serve.bots.streamer import GATE, WELCOME
from tests.serve.server import HTTP, FILLER, ServeProcess, model_config, start_model


def api(service, method: str, path: str, **options) -> httpx2.Response:
    return HTTP.request(method, f"{service.base_url}{path}", timeout=30, **options)


def new_session(service) -> str:
    response = api(service, "POST", "/sessions", json={})
    assert response.status_code == 201
    return response.json()["id"]


def send(service, session: str, text: str, key: str | None = None, **options) -> httpx2.Response:
    headers = {"Idempotency-Key": key or uuid.uuid4().hex}
    return api(
        service, "POST", f"/sessions/{session}/messages", json={"content": text}, headers=headers,
        **options,
    )  # fmt: skip


def events_of(response: httpx2.Response) -> list[tuple[str, dict]]:
    events = []
    for block in response.text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if "data" in lines:
            events.append((lines.get("event", "message"), json.loads(lines["data"])))
    return events


def test_a_session_is_created_listed_read_and_deleted(service):
    chosen = f"mine-{uuid.uuid4().hex[:8]}"
    created = api(service, "POST", "/sessions", json={"id": chosen})
    assert created.status_code == 201 and created.json()["id"] == chosen
    assert created.json()["version"] == 0
    again = api(service, "POST", "/sessions", json={"id": chosen})
    assert again.status_code == 409 and again.json()["error"]["code"] == "session_exists"
    listed = api(service, "GET", "/sessions", params={"limit": 1000}).json()["data"]
    assert chosen in [s["id"] for s in listed]
    assert send(service, chosen, "hi").json()["reply"] == WELCOME
    assert api(service, "DELETE", f"/sessions/{chosen}").status_code == 204
    for method, path in (("GET", ""), ("DELETE", ""), ("POST", "/messages")):
        gone = api(service, method, f"/sessions/{chosen}{path}", json={"content": "x"},
                   headers={"Idempotency-Key": "k"})  # fmt: skip
        assert gone.status_code == 404, (method, path)
        assert gone.json()["error"]["code"] == "session_not_found"


@pytest.mark.parametrize("limit", [1, 3, 7])
def test_a_listing_says_when_more_sessions_follow_and_its_pages_hold_them_all(service, limit):
    mine = {api(service, "POST", "/sessions", json={}).json()["id"] for _ in range(4)}
    seen: list[str] = []
    while True:
        page = api(service, "GET", "/sessions", params={"limit": limit, "offset": len(seen)})
        body = page.json()
        assert len(body["data"]) <= limit
        seen += [s["id"] for s in body["data"]]
        if not body["has_more"]:
            break
        assert len(body["data"]) == limit
    assert len(seen) == len(set(seen)) and mine <= set(seen)
    everything = api(service, "GET", "/sessions", params={"limit": 1000}).json()
    assert everything["has_more"] is False and len(everything["data"]) == len(seen)


def test_a_session_shows_its_history_where_it_waits_and_its_usage(service):
    session = new_session(service)
    send(service, session, "hi")
    answer = send(service, session, "tell me").json()
    view = api(service, "GET", f"/sessions/{session}").json()
    assert view["version"] == 2
    assert view["history"] == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": WELCOME},
        {"role": "user", "content": "tell me"},
        {"role": "assistant", "content": answer["reply"]},
    ]
    (frame,) = view["waiting"]
    assert frame["function"].endswith("chatbot") and frame["address"] == "answer"
    assert isinstance(frame["line"], int)
    assert view["usage"]["calls"] == 1 and answer["usage"]["calls"] == 1


def test_a_message_sent_again_with_its_key_is_answered_from_the_store(service):
    session = new_session(service)
    first = send(service, session, "hi", key="k1").json()
    again = send(service, session, "hi", key="k1").json()
    assert again == {**first, "replayed": True, "usage": again["usage"]}
    assert again["usage"]["calls"] == 0
    other = send(service, session, "something else", key="k1")
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert api(service, "GET", f"/sessions/{session}").json()["version"] == 1


def test_a_message_needs_an_idempotency_key_and_content(service):
    session = new_session(service)
    url = f"/sessions/{session}/messages"
    missing = api(service, "POST", url, json={"content": "hi"})
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "missing_idempotency_key"
    empty = api(service, "POST", url, json={}, headers={"Idempotency-Key": "k"})
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "invalid_field"


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (b'{"content": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", 400, "invalid_json"),
        (b"[1, 2]", 400, "invalid_request"),
        (b'{"content": "' + b"x" * 1_100_000 + b'"}', 413, "body_too_large"),
        (b'{"content": "a lone \\ud800 surrogate"}', 400, "invalid_input"),
    ],
)
def test_bad_bodies_are_refused(service, content, status, code):
    session = new_session(service)
    response = api(
        service, "POST", f"/sessions/{session}/messages", content=content,
        headers={"Idempotency-Key": "k", "Content-Type": "application/json"},
    )  # fmt: skip
    assert response.status_code == status and response.json()["error"]["code"] == code


def test_bad_ids_unknown_routes_and_wrong_methods(service):
    bad = api(service, "POST", "/sessions", json={"id": "has space"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_session_id"
    nowhere = api(service, "GET", "/nowhere")
    assert nowhere.status_code == 404 and nowhere.json()["error"]["code"] == "not_found"
    wrong = api(service, "PUT", "/sessions")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"
    limit = api(service, "GET", "/sessions", params={"limit": "many"})
    assert limit.status_code == 400


def test_a_streamed_message_sends_pieces_then_the_committed_answer(tmp_path):
    # a word every 50 ms: the module's model (2 ms) writes its whole reply while a loaded
    # box's server looks once, and the pieces that arrived together go out as one
    model = start_model(token_delay=0.05)
    service = ServeProcess(tmp_path, config=model_config(model)).start()
    try:
        session = new_session(service)
        send(service, session, "hi")
        response = api(
            service, "POST", f"/sessions/{session}/messages",
            json={"content": "stream it", "stream": True}, headers={"Idempotency-Key": "s1"},
        )  # fmt: skip
    finally:
        service.stop()
        model.stop()
    assert response.headers["content-type"].startswith("text/event-stream")
    events = events_of(response)
    deltas = [data["text"] for name, data in events if name == "delta"]
    (done,) = [data for name, data in events if name == "done"]
    assert len(deltas) > 1, deltas
    assert "".join(deltas) == done["reply"] and done["reply"].endswith(FILLER), events
    assert events[-1][0] == "done" and done["version"] == 2


def test_a_bot_that_raises_gives_500_with_an_error_id_the_log_also_has(service):
    session = new_session(service)
    send(service, session, "hi")
    response = send(service, session, "boom")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal_error" and error["id"] in error["message"]
    assert "Traceback" not in response.text and "ValueError" not in response.text
    records = [r for r in service.log_records() if error["id"] in r.get("message", "")]
    assert records and "the bot failed on purpose" in records[0]["traceback"]
    assert api(service, "GET", f"/sessions/{session}").json()["version"] == 1


def gate(tmp_path) -> tuple[str, object]:
    path = tmp_path / f"gate-{uuid.uuid4().hex[:8]}"
    return f"{GATE}{path}", path


def wait_for(path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def test_a_key_whose_turn_is_running_gets_409_then_the_stored_reply(service, tmp_path):
    session = new_session(service)
    send(service, session, "hi")
    message, path = gate(tmp_path)
    results = {}
    running = threading.Thread(
        target=lambda: results.update(first=send(service, session, message, "g"))
    )
    running.start()
    wait_for(path.with_name(path.name + ".entered"))
    busy = send(service, session, message, "g")
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "turn_in_progress"
    assert busy.headers["retry-after"] == "1"
    path.touch()
    running.join(30)
    assert results["first"].status_code == 200
    again = send(service, session, message, "g").json()
    assert again["replayed"] and again["reply"] == results["first"].json()["reply"]


def test_two_messages_at_once_are_applied_one_after_the_other(service, tmp_path):
    session = new_session(service)
    send(service, session, "hi")
    message, path = gate(tmp_path)
    results = {}
    first = threading.Thread(target=lambda: results.update(first=send(service, session, message)))
    first.start()
    wait_for(path.with_name(path.name + ".entered"))
    second = threading.Thread(
        target=lambda: results.update(second=send(service, session, "fixed 2"))
    )
    second.start()
    time.sleep(0.3)
    assert "second" not in results  # queued behind the first
    path.touch()
    first.join(30)
    second.join(30)
    assert results["second"].json()["version"] == 3 and results["first"].json()["version"] == 2
    users = [m["content"] for m in api(service, "GET", f"/sessions/{session}").json()["history"]
             if m["role"] == "user"]  # fmt: skip
    assert users == ["hi", message, "fixed 2"]


def test_under_the_reject_policy_a_busy_session_refuses_a_second_message(tmp_path, config):
    service = ServeProcess(tmp_path, "--policy", "reject", config=config).start()
    try:
        session = new_session(service)
        send(service, session, "hi")
        message, path = gate(tmp_path)
        running = threading.Thread(target=send, args=(service, session, message))
        running.start()
        wait_for(path.with_name(path.name + ".entered"))
        refused = send(service, session, "fixed meanwhile")
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "session_busy"
        path.touch()
        running.join(30)
        assert api(service, "GET", f"/sessions/{session}").json()["version"] == 2
    finally:
        service.stop()


def test_a_session_damaged_in_the_store_gives_500_session_refused_and_stays_as_it_was(service):
    session = new_session(service)
    send(service, session, "hi")
    with sqlite3.connect(service.store.removeprefix("sqlite:///")) as database:
        database.execute(
            "UPDATE autograms_sessions SET blob = 'not a session' WHERE id = ?", (session,)
        )
    response = send(service, session, "hello again")
    error = response.json()["error"]
    assert response.status_code == 500 and error["code"] == "session_refused"
    assert error["id"] in error["message"] and "Traceback" not in response.text
    assert any(error["id"] in r.get("message", "") for r in service.log_records())
    read = api(service, "GET", f"/sessions/{session}")
    assert read.status_code == 500 and read.json()["error"]["code"] == "session_refused"
    with sqlite3.connect(service.store.removeprefix("sqlite:///")) as database:
        row = database.execute(
            "SELECT version, blob FROM autograms_sessions WHERE id = ?", (session,)
        ).fetchone()
    assert row == (1, "not a session")


def test_a_message_for_another_version_is_refused_and_nothing_runs(service):
    """``"version"``: the message answers the session at that version; another is 409
    conversation_changed, the session unchanged; a retry of an applied message gets its
    stored reply whatever version it names."""
    sid = new_session(service)
    first = _message(service, sid, "fixed one", "k1", version=0)
    assert first.status_code == 200 and first.json()["version"] == 1
    stale = _message(service, sid, "fixed two", "k2", version=0)
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "conversation_changed"
    assert "version 1, not 0" in stale.json()["error"]["message"]
    assert api(service, "GET", f"/sessions/{sid}").json()["version"] == 1
    again = _message(service, sid, "fixed one", "k1", version=0)
    assert again.json() == {**first.json(), "replayed": True, "usage": again.json()["usage"]}
    streamed = _message(service, sid, "fixed two", "k3", version=0, stream=True)
    assert streamed.status_code == 409
    assert streamed.json()["error"]["code"] == "conversation_changed"
    assert _message(service, sid, "fixed two", "k4", version=1).json()["version"] == 2
    for bad in (-1, "1", True, 1.5):
        refused = _message(service, sid, "x", "k5", version=bad)
        assert refused.status_code == 400, bad
        assert refused.json()["error"]["code"] == "invalid_field"
    missing = _message(service, "no-such-session", "x", "k6", version=0)
    assert missing.status_code == 404


def _message(service, sid: str, text: str, key: str, **fields):
    return api(
        service,
        "POST",
        f"/sessions/{sid}/messages",
        json={"content": text, **fields},
        headers={"Idempotency-Key": key},
    )

"""An OpenAI client's history checked by the history digest on the session's row: a request
that continues the session reads no turn row; a repeat, an edited history and a row written
before the digest read the turns and are answered as before (the stored reply, 409, the next
turn). The app runs in this process (uvicorn in a thread) so that its store's reads of turn
rows can be counted."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid

import openai
import requests
import pytest
import uvicorn

from autograms.serve import create_app
from tests.serve.bots.streamer import WELCOME
from tests.serve.server import free_port, local_autogram


@pytest.fixture(scope="module")
def served(tmp_path_factory, config):
    """(base URL, its database file, the sessions whose turn rows were read, once per read:
    by `Store.turns` or by a claim asked for them)."""
    path = tmp_path_factory.mktemp("digest") / "sessions.db"
    app = create_app(local_autogram(config), f"sqlite:///{path}")
    store = app.state.service.store
    reads = []
    turns = store.turns

    def counted(session_id):
        reads.append(session_id)
        return turns(session_id)

    store.turns = counted
    claim = store.claim

    def claiming(session_id, *args, **kwargs):
        if kwargs.get("turns"):  # the claim reading the turns with the session
            reads.append(session_id)
        return claim(session_id, *args, **kwargs)

    store.claim = claiming
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started
    yield f"http://127.0.0.1:{port}/v1", path, reads
    server.should_exit = True
    thread.join(30)


def _ask(base_url: str, session: str, *texts: str, stream: bool = False) -> str:
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0)
    roles = ("user", "assistant")
    messages = [{"role": roles[i % 2], "content": t} for i, t in enumerate(texts)]
    headers = {"X-Session-Id": session}
    if not stream:
        answer = client.chat.completions.create(
            model="streamer", messages=messages, extra_headers=headers
        )
        return answer.choices[0].message.content
    chunks = client.chat.completions.create(
        model="streamer", messages=messages, extra_headers=headers, stream=True
    )
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_a_request_that_continues_the_session_reads_no_turn_row(served):
    base_url, _path, reads = served
    session = f"s-{uuid.uuid4().hex}"
    assert _ask(base_url, session, "hi") == WELCOME
    first = _ask(base_url, session, "hi", WELCOME, "question one")
    second = _ask(base_url, session, "hi", WELCOME, "question one", first, "two", stream=True)
    _ask(base_url, session, "hi", WELCOME, "question one", first, "two", second, "fixed 3")
    assert session not in reads


def test_a_repeat_and_an_edited_history_read_the_turns_and_answer_as_before(served):
    base_url, _path, reads = served
    session = f"s-{uuid.uuid4().hex}"
    _ask(base_url, session, "hi")
    answer = _ask(base_url, session, "hi", WELCOME, "question")
    assert session not in reads
    # a repeat of the latest turn is told by the digest too (its key's turn is the latest)
    assert _ask(base_url, session, "hi", WELCOME, "question") == answer  # the stored reply
    assert session not in reads
    assert _ask(base_url, session, "hi") == WELCOME  # an older turn's repeat reads them
    assert reads.count(session) == 1
    with pytest.raises(openai.ConflictError) as info:
        _ask(base_url, session, "hi", WELCOME, "question", "an edited reply", "next")
    assert info.value.body["code"] == "history_mismatch"
    assert "messages[3] (assistant) differs" in info.value.body["message"]
    assert reads.count(session) == 2


def test_a_session_row_without_a_digest_is_checked_on_its_turns(served):
    """A row written before schema 4 (no digest until its next turn) still continues."""
    base_url, path, reads = served
    session = f"s-{uuid.uuid4().hex}"
    _ask(base_url, session, "hi")
    answer = _ask(base_url, session, "hi", WELCOME, "question")
    with sqlite3.connect(path) as db:
        cleared = db.execute(
            "UPDATE autograms_sessions SET history_digest = NULL WHERE id = ?", (session,)
        ).rowcount
    assert cleared == 1
    _ask(base_url, session, "hi", WELCOME, "question", answer, "more")
    assert session in reads  # (the commit reads them too: it writes the digest again)
    with pytest.raises(openai.ConflictError) as info:  # a stale history: refused as before
        _ask(base_url, session, "hi", WELCOME, "question", answer, "other")
    assert info.value.body["code"] == "history_mismatch"


def _chat(base_url: str, session: str, messages: list[dict]) -> str:
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0)
    answer = client.chat.completions.create(
        model="streamer", messages=messages, extra_headers={"X-Session-Id": session}
    )
    return answer.choices[0].message.content


def test_a_session_where_the_bot_spoke_first_continues_with_its_shown_history(served):
    """Begun on the native API with an empty message: its shown history (the welcome first,
    the empty message hidden) continues it on the OpenAI API, by the digest; a repeat of the
    latest turn and of an older one answer the stored replies."""
    base_url, _path, reads = served
    root = base_url.removesuffix("/v1")
    session = f"s-{uuid.uuid4().hex}"
    assert requests.post(f"{root}/v1/sessions", json={"id": session}, timeout=30).ok
    first = requests.post(
        f"{root}/v1/sessions/{session}/messages",
        json={"content": ""},
        headers={"Idempotency-Key": "k0"},
        timeout=30,
    )
    assert first.json()["reply"] == WELCOME
    shown = requests.get(f"{root}/v1/sessions/{session}", timeout=30).json()["history"]
    assert shown == [{"role": "assistant", "content": WELCOME}]
    asked = [*shown, {"role": "user", "content": "fixed one"}]
    assert _chat(base_url, session, asked) == "Fixed answer to fixed one."
    asked += [{"role": "assistant", "content": "Fixed answer to fixed one."}]
    later = [*asked, {"role": "user", "content": "fixed two"}]
    assert _chat(base_url, session, later) == "Fixed answer to fixed two."
    assert _chat(base_url, session, later) == "Fixed answer to fixed two."
    assert session not in reads
    assert _chat(base_url, session, asked[:2]) == "Fixed answer to fixed one."
    assert reads.count(session) == 1
    view = requests.get(f"{root}/v1/sessions/{session}", timeout=30).json()
    assert view["version"] == 3


def test_a_greeting_the_client_shows_on_its_own_is_ignored(served):
    """An assistant message before the first user message that the session does not hold
    (a chat UI's own greeting) is passed over, as before, turn after turn."""
    base_url, _path, _reads = served
    session = f"s-{uuid.uuid4().hex}"
    greeting = {"role": "assistant", "content": "How can I help?"}
    asked = [greeting, {"role": "user", "content": "hi"}]
    assert _chat(base_url, session, asked) == WELCOME
    asked += [
        {"role": "assistant", "content": WELCOME},
        {"role": "user", "content": "fixed one"},
    ]
    assert _chat(base_url, session, asked) == "Fixed answer to fixed one."
    assert _chat(base_url, session, asked[1:]) == "Fixed answer to fixed one."  # a repeat
    with pytest.raises(openai.ConflictError) as info:  # the greeting as the session's turn
        _chat(base_url, session, [{"role": "user", "content": ""}, *asked])
    assert info.value.body["code"] == "history_mismatch"

"""`autograms serve` on a signed store (AUTOGRAMS_SESSION_KEY): a request that repeats or
continues committed turns one of whose rows was edited in the database is refused, never
answered with it nor compared with it."""

from __future__ import annotations

import sqlite3
import uuid

import openai
import pytest

from tests.serve.bots.streamer import WELCOME
from tests.serve.server import ServeProcess


@pytest.fixture(scope="module")
def signed_service(tmp_path_factory, config):
    env = {"AUTOGRAMS_SESSION_KEY": "serve-signed-key"}
    process = ServeProcess(tmp_path_factory.mktemp("signed"), config=config, env=env).start()
    yield process
    process.stop()


def _ask(service, session: str, *texts: str):
    client = openai.OpenAI(base_url=service.base_url, api_key="unused", max_retries=0)
    roles = ("user", "assistant")
    return client.chat.completions.create(
        model="streamer",
        messages=[{"role": roles[i % 2], "content": t} for i, t in enumerate(texts)],
        extra_headers={"X-Session-Id": session},
    )


def test_a_repeated_request_never_gets_a_turn_reply_edited_in_the_database(signed_service):
    session = f"s-{uuid.uuid4().hex}"
    _ask(signed_service, session, "hi")
    answer = _ask(signed_service, session, "hi", WELCOME, "question").choices[0].message.content
    again = _ask(signed_service, session, "hi", WELCOME, "question").choices[0].message.content
    assert again == answer  # an untouched row is replayed
    path = signed_service.store.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        edited = db.execute(
            "UPDATE autograms_turns SET reply = 'FORGED' WHERE reply = ?", (answer,)
        ).rowcount
    assert edited == 1
    with pytest.raises(openai.InternalServerError) as info:
        _ask(signed_service, session, "hi", WELCOME, "question")
    assert "FORGED" not in str(info.value.body)
    assert info.value.body["code"] == "session_refused"


@pytest.mark.parametrize("sent", ["forged", "true"])
def test_a_history_is_never_checked_against_a_turn_row_edited_in_the_database(signed_service, sent):
    """Turn 1's reply forged in the database: neither the forged history (which the row
    now matches) nor the true one (which it no longer does: a 409) is taken; the session is
    refused as tampered."""
    session = f"s-{uuid.uuid4().hex}"
    _ask(signed_service, session, "hi")
    answer = _ask(signed_service, session, "hi", WELCOME, "question").choices[0].message.content
    path = signed_service.store.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        edited = db.execute(
            "UPDATE autograms_turns SET reply = 'FORGED' WHERE session_id = ? AND version = 1",
            (session,),
        ).rowcount
    assert edited == 1
    first_reply = "FORGED" if sent == "forged" else WELCOME
    with pytest.raises(openai.InternalServerError) as info:
        _ask(signed_service, session, "hi", first_reply, "question", answer, "next")
    assert info.value.body["code"] == "session_refused"

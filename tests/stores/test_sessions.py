"""Sessions managed in a store (SQLite and PostgreSQL): create, get with history and where
the program waits, list by owner, delete, idle expiry, export to a session file and import
from one; the schema's version; store URLs."""

from __future__ import annotations

import time

import pytest

from autograms import Autogram, AutogramConfig, ModelError
from autograms.stores import (
    InvalidInputError,
    SCHEMA_VERSION,
    SessionExistsError,
    SessionNotFoundError,
    Sessions,
    StoreError,
    StoreSchemaError,
    TokenUsage,
    TurnRunner,
    migrate,
    open_store,
)
from tests.fakes.openai_server import FakeOpenAIServer, Reply
from tests.stores import bots
from tests.stores.checks import replay
from tests.stores.conftest import make_autogram
from tests.stores.test_turns import execute_sql


@pytest.fixture
def store(store_url):
    opened = open_store(store_url)
    yield opened
    opened.close()


@pytest.fixture
def model_server():
    with FakeOpenAIServer() as server:
        yield server


def with_model(server: FakeOpenAIServer, root=bots.thinker) -> Autogram:
    config = AutogramConfig(
        chatbot_type="proxy", base_url=server.base_url, chatbot_path="fake", api_key="k",
        chatbot_max_tries=1,
    )  # fmt: skip
    return Autogram(root_function=root, autogram_config=config)


def test_get_shows_history_where_the_program_waits_and_token_usage(store, model_server) -> None:
    autogram = with_model(model_server)
    sessions, runner = Sessions(autogram, store), TurnRunner(autogram, store)
    sid = sessions.create(owner="me").id
    replies = [runner.run_turn(sid, text, f"k-{text}").reply for text in ["a", "b", "c"]]
    # each turn restores the session afresh: the history the program reads is the store's log
    assert replies == ["history 1", "history 3", "history 5"]
    view = sessions.get(sid, owner="me")
    assert (view.id, view.owner, view.version) == (sid, "me", 3)
    assert view.history == [
        {"role": role, "content": content}
        for text, reply in zip(["a", "b", "c"], replies, strict=True)
        for role, content in (("user", text), ("assistant", reply))
    ]
    assert [(w.function, w.address) for w in view.waiting] == [("tests.stores.bots.thinker", None)]
    assert view.waiting[0].lineno > 0
    calls = [e for e in sessions.log(sid) if e["entry_type"] == "model"]
    assert view.usage == TokenUsage(
        calls=3,
        prompt_tokens=sum(c["prompt_tokens"] for c in calls),
        completion_tokens=sum(c["completion_tokens"] for c in calls),
    )
    assert view.usage.prompt_tokens > 0 and view.usage.completion_tokens > 0


def test_a_turn_whose_model_is_down_records_nothing(store, model_server) -> None:
    autogram = with_model(model_server)
    sessions, runner = Sessions(autogram, store), TurnRunner(autogram, store)
    sid = sessions.create().id
    runner.run_turn(sid, "a", "k-a")
    before = (store.load_session(sid), store.turns(sid), store.read_log(sid))
    model_server.script(Reply(status=500, content="down"))
    with pytest.raises(ModelError):
        runner.run_turn(sid, "b", "k-b")
    assert (store.load_session(sid), store.turns(sid), store.read_log(sid)) == before
    assert runner.run_turn(sid, "b", "k-b").version == 2


def test_where_the_program_waits_names_its_address_label(store) -> None:
    autogram = make_autogram()
    sessions, runner = Sessions(autogram, store), TurnRunner(autogram, store)
    sid = sessions.create().id
    assert sessions.get(sid).waiting == []  # not started
    runner.run_turn(sid, "", "k0")
    runner.run_turn(sid, "x", "k1")
    (point,) = sessions.get(sid).waiting
    assert (point.function, point.address) == ("tests.stores.bots.chain", "answer")


def test_create_list_by_owner_and_delete(store) -> None:
    sessions = Sessions(make_autogram(), store)
    ids = {owner: [sessions.create(owner=owner).id for _ in range(3)] for owner in ("a", "b")}
    assert [s.id for s in sessions.list(owner="a")] == ids["a"]
    assert len(sessions.list()) == 6
    assert all(s.blob is None for s in sessions.list())
    with pytest.raises(SessionExistsError):
        sessions.create(ids["a"][0])
    assert sessions.create(ids["a"][0], owner="a", exist_ok=True).id == ids["a"][0]
    with pytest.raises(SessionNotFoundError):
        sessions.delete(ids["a"][0], owner="b")
    sessions.delete(ids["a"][0], owner="a")
    assert [s.id for s in sessions.list(owner="a")] == ids["a"][1:]
    with pytest.raises(SessionNotFoundError):
        sessions.get(ids["a"][0])


@pytest.mark.parametrize(
    ("limits", "error"),
    [
        ({"limit": -1}, ValueError),
        ({"offset": -1}, ValueError),
        ({"limit": 2**63}, ValueError),
        ({"offset": 2**70}, ValueError),
        ({"limit": 1.5}, TypeError),
        ({"offset": True}, TypeError),
    ],
)
def test_list_refuses_a_limit_or_offset_no_database_takes(store, limits, error) -> None:
    sessions = Sessions(make_autogram(), store)
    sessions.create("one")
    with pytest.raises(error, match=next(iter(limits))) as info:
        sessions.list(**limits)
    if error is ValueError:
        assert isinstance(info.value, InvalidInputError) and info.value.reason == "out of range"
    assert [s.id for s in sessions.list(limit=2**63 - 1, offset=0)] == ["one"]
    assert sessions.list(limit=0) == [] and sessions.list(offset=1) == []


def test_deleting_a_session_deletes_its_turns_and_log(store) -> None:
    autogram = make_autogram()
    sessions, runner = Sessions(autogram, store), TurnRunner(autogram, store)
    sid = sessions.create().id
    runner.run_turn(sid, "", "k0")
    sessions.delete(sid)
    assert store.turns(sid) == [] and store.read_log(sid) == []
    with pytest.raises(SessionNotFoundError):
        runner.run_turn(sid, "again", "k1")


def test_idle_sessions_expire_and_active_ones_stay(store, store_url) -> None:
    autogram = make_autogram()
    sessions, runner = Sessions(autogram, store), TurnRunner(autogram, store)
    old, fresh = sessions.create().id, sessions.create().id
    runner.run_turn(old, "", "k-old")
    long_ago = time.time() - 3600
    execute_sql(
        store_url, "UPDATE autograms_sessions SET updated_at = ? WHERE id = ?", (long_ago, old)
    )
    assert sessions.expire(idle_seconds=600) == [old]
    assert [s.id for s in sessions.list()] == [fresh]
    assert store.turns(old) == []


@pytest.mark.parametrize(
    ("idle", "error"),
    [
        (True, TypeError),
        ("600", TypeError),
        (None, TypeError),
        (0, ValueError),
        (-1.0, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
    ],
)
def test_expire_refuses_an_idle_time_that_is_not_positive_seconds_and_deletes_nothing(
    store, idle, error
) -> None:
    autogram = make_autogram()
    sessions, runner = Sessions(autogram, store), TurnRunner(autogram, store)
    sid = sessions.create().id
    runner.run_turn(sid, "", "k0")
    with pytest.raises(error, match="idle_seconds"):
        sessions.expire(idle)
    assert [s.id for s in sessions.list()] == [sid]


def test_export_to_a_session_file_that_autogram_load_continues(store, tmp_path) -> None:
    autogram = make_autogram(bots.thinker)
    sessions, runner = Sessions(autogram, store), TurnRunner(autogram, store)
    sid = sessions.create().id
    for text in ["a", "b"]:
        runner.run_turn(sid, text, f"k-{text}")
    path = tmp_path / "exported.session"
    sessions.export_file(sid, path)
    memory = autogram.load(path)
    assert memory.extract_full_conv_history() == sessions.get(sid).history
    assert autogram.reply("c", memory_object=memory)[0] == runner.run_turn(sid, "c", "k-c").reply


def test_import_from_a_session_file_and_continue_in_the_store(store, tmp_path) -> None:
    autogram = make_autogram()
    texts = ["", "a", "b"]
    replies, memory = replay(autogram, texts)
    path = tmp_path / "saved.session"
    autogram.save(path, memory)
    sessions, runner = Sessions(autogram, store), TurnRunner(autogram, store)
    record = sessions.import_file(path, "imported", owner="me")
    assert (record.id, record.owner, record.version) == ("imported", "me", 0)
    view = sessions.get("imported")
    assert [m["content"] for m in view.history if m["role"] == "user"] == ["a", "b"]
    expected = autogram.reply("c", memory_object=memory)[0]
    assert runner.run_turn("imported", "c", "k-c").reply == expected
    round_trip = tmp_path / "again.session"
    sessions.export_file("imported", round_trip)
    # the store's history is AutoGRAMS' without the empty message that started the program
    history = autogram.load(round_trip).extract_full_conv_history()
    assert history[0] == {"role": "user", "content": ""}
    assert history[1:] == sessions.get("imported").history


def test_an_import_signed_with_another_key_is_refused_and_stores_nothing(store, tmp_path) -> None:
    other = make_autogram(session_key="other")
    _, memory = replay(other, ["", "a"])
    other.save(tmp_path / "s", memory)
    sessions = Sessions(make_autogram(session_key="mine"), store)
    with pytest.raises(Exception) as refused:
        sessions.import_file(tmp_path / "s", "x")
    assert refused.value.reason == "tampered"
    assert sessions.list() == []


def test_the_schema_is_created_on_first_use_and_versioned(store_url) -> None:
    with pytest.raises(StoreSchemaError) as missing:
        open_store(store_url, create=False)
    assert missing.value.reason == "no schema"
    assert migrate(store_url) == SCHEMA_VERSION
    assert migrate(store_url) == SCHEMA_VERSION  # idempotent
    store = open_store(store_url, create=False)
    assert store.schema_version() == SCHEMA_VERSION
    store.close()


def test_a_database_from_a_newer_release_is_refused(store_url) -> None:
    migrate(store_url)
    execute_sql(store_url, "UPDATE autograms_schema SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreSchemaError) as newer:
        open_store(store_url)
    assert newer.value.reason == "newer schema"
    assert "upgrade autograms" in str(newer.value)


@pytest.mark.parametrize(
    "url",
    ["mysql://x/y", "sqlite://relative.db", "sqlite:///:memory:", "sqlite:///"],
)
def test_bad_store_urls_are_refused_with_the_form_to_use(url) -> None:
    from autograms.stores.urls import check_url

    with pytest.raises(StoreError) as refused:
        open_store(url)
    assert refused.value.reason == "bad url"
    with pytest.raises(StoreError) as checked:
        check_url(url)
    assert checked.value.reason == "bad url"


def test_check_url_takes_the_urls_open_store_takes(tmp_path) -> None:
    from autograms.stores.urls import check_url

    for url in (f"sqlite:///{tmp_path / 's.db'}", "postgresql://u@h/db", "postgres://h/db"):
        check_url(url)
    assert not (tmp_path / "s.db").exists()  # checked, not opened


def test_a_password_never_appears_in_the_store_url(postgres_cluster) -> None:
    from autograms.stores.urls import hide_password

    assert hide_password("postgresql://u:s3cret@h/db") == "postgresql://u:***@h/db"
    # libpq takes the password as a query parameter too
    assert hide_password("postgresql://u@h/db?sslmode=require&Password=s3cret") == (
        "postgresql://u@h/db?sslmode=require&Password=***"
    )
    assert hide_password("sqlite:///sessions.db") == "sqlite:///sessions.db"


def test_a_long_log_is_imported_whole_and_read_back_in_order(store, tmp_path) -> None:
    autogram = make_autogram()
    texts = ["", *(f"m{index}" for index in range(400))]
    _, memory = replay(autogram, texts)
    autogram.save(tmp_path / "long", memory)
    sessions = Sessions(autogram, store)
    sessions.import_file(tmp_path / "long", "long")
    assert len(memory.model_turns) > 800
    assert sessions.log("long") == memory.model_turns


def test_times_are_the_databases_clock_on_postgresql(backend, store, monkeypatch) -> None:
    """Workers on machines whose clocks differ: on PostgreSQL every stamp and comparison of
    a time (created, changed, a lease, idle) is the database's, so a worker 10 minutes behind
    or ahead neither makes a session look idle nor holds a session longer than its lease."""
    if backend != "postgresql":
        pytest.skip("SQLite's workers share one machine's clock")
    autogram = make_autogram()
    sessions, runner = Sessions(autogram, store), TurnRunner(autogram, store, lease_seconds=5)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 600)  # this worker's clock is slow
    sid = sessions.create().id
    runner.run_turn(sid, "", "k0")
    record = sessions.record(sid)
    assert abs(record.created_at - real()) < 60 and abs(record.updated_at - real()) < 60
    assert sessions.expire(300) == []
    monkeypatch.setattr(time, "time", lambda: real() + 600)  # and now it is fast
    claim = store.claim(sid, "k1", 5.0)
    store.release(claim.ticket)
    claim = store.claim(sid, "k2", 5.0)  # a ticket of a worker that then dies
    assert claim.first
    monkeypatch.setattr(time, "time", real)
    started = time.monotonic()
    assert runner.run_turn(sid, "a", "k3").version == 2  # waits one lease, not ten minutes
    assert time.monotonic() - started < 30


def test_export_to_a_directory_is_refused_and_leaves_nothing(store, tmp_path) -> None:
    autogram = make_autogram(bots.thinker)
    sessions, runner = Sessions(autogram, store), TurnRunner(autogram, store)
    sid = sessions.create().id
    runner.run_turn(sid, "a", "k-a")
    out = tmp_path / "out"
    folder = out / "exports"
    folder.mkdir(parents=True)
    with pytest.raises(IsADirectoryError, match="exports"):
        sessions.export_file(sid, folder)
    with pytest.raises(IsADirectoryError, match="exports"):  # what the export calls
        autogram.save(folder, replay(autogram, ["", "a"])[1])
    assert list(out.iterdir()) == [folder]
    assert list(folder.iterdir()) == []


def test_the_history_leaves_out_only_the_empty_message_that_started_the_program(store) -> None:
    autogram = make_autogram()
    sessions, runner = Sessions(autogram, store), TurnRunner(autogram, store)
    sid = sessions.create().id
    for number, text in enumerate(["", "a", "", "b"]):
        runner.run_turn(sid, text, f"k-{number}")
    history = sessions.get(sid).history
    assert [m["content"] for m in history if m["role"] == "user"] == ["a", "", "b"]
    assert history[0]["role"] == "assistant"

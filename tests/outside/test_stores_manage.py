"""Outside tests of issue 13 (README "Sessions in a database"): sessions as things a team
manages -- create, get, list, delete, expire, export/import, owners, schema.
"""

import math
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stores_outside_support as sup  # noqa: E402

from autograms.stores import (  # noqa: E402
    SessionExistsError,
    SessionNotFoundError,
    Sessions,
    StoreSchemaError,
    TurnRunner,
    SCHEMA_VERSION,
    migrate,
    open_store,
)


@pytest.fixture(params=sup.BACKENDS)
def url(request, tmp_path):
    return sup.new_store_url(request.param, tmp_path)


@pytest.fixture
def opened(url):
    store, sessions, runner = sup.open_all(sup.echo, url)
    yield url, store, sessions, runner
    store.close()


# ---------------------------------------------------------------------------------------------
# Owners


def test_other_owner_sees_nothing_not_even_a_committed_reply(opened):
    url, store, sessions, runner = opened
    sid = sessions.create(owner="alice").id
    runner.run_turn(sid, "hello", "k0", owner="alice")
    runner.run_turn(sid, "secret", "k1", owner="alice")
    for call in (
        lambda: runner.run_turn(sid, "secret", "k1", owner="mallory"),  # a replay
        lambda: runner.run_turn(sid, "hi", "k9", owner="mallory"),
        lambda: sessions.get(sid, owner="mallory"),
        lambda: sessions.log(sid, owner="mallory"),
        lambda: sessions.delete(sid, owner="mallory"),
        lambda: sessions.create(sid, owner="mallory", exist_ok=True),
    ):
        with pytest.raises(SessionNotFoundError):
            call()
    assert [r.id for r in sessions.list(owner="mallory")] == []
    assert sessions.record(sid, owner="alice").version == 2
    with pytest.raises(SessionExistsError):
        sessions.create(sid, owner="alice")


def test_get_shows_history_and_where_the_program_waits_as_autogram_does(opened):
    url, store, sessions, runner = opened
    sid = sessions.create().id
    view = sessions.get(sid)
    assert (view.version, view.history, view.waiting) == (0, [], [])
    memory = None
    for i, text in enumerate(["hello", "a", "b"]):
        runner.run_turn(sid, text, f"k{i}")
        _, memory = sup.echo.reply(text, memory_object=memory)
        view = sessions.get(sid)
        frames = sup.echo.pending_frames(memory)
        assert [(w.function, w.lineno, w.address) for w in view.waiting] == [
            (f"{f.module}.{f.qualname}", f.lineno, f.label) for f in frames
        ]
    assert view.history == memory.extract_full_conv_history()
    assert view.waiting[-1].address == "loop"


# ---------------------------------------------------------------------------------------------
# Expire


def test_expire_deletes_idle_sessions_and_spares_a_running_turn(opened, tmp_path):
    url, store, sessions, runner = opened
    idle = sessions.create().id
    runner.run_turn(idle, "hello", "k0")
    busy = sessions.create().id
    runner.run_turn(busy, "hello", "k0")
    time.sleep(1.2)
    paused = sup.PausedTurn(runner, busy, "A", tmp_path)
    try:
        expired = sessions.expire(1)
    finally:
        result = paused.release()
    assert expired == [idle]
    assert result.reply == "1:block-A"
    with pytest.raises(SessionNotFoundError):
        sessions.get(idle)
    assert sessions.get(busy).version == 2


@pytest.mark.parametrize(
    "backend,idle",
    [
        pytest.param("sqlite", math.nan, id="sqlite-nan"),
        pytest.param(
            "postgresql",
            math.nan,
            id="postgresql-nan",
        ),
        pytest.param(
            "sqlite",
            -1.0,
            id="sqlite-negative",
        ),
        pytest.param(
            "postgresql",
            -1.0,
            id="postgresql-negative",
        ),
    ],
)
def test_expire_with_a_meaningless_idle_time_deletes_nothing(backend, idle, tmp_path):
    url = sup.new_store_url(backend, tmp_path)
    store, sessions, runner = sup.open_all(sup.echo, url)
    try:
        sid = sessions.create().id
        runner.run_turn(sid, "hello", "k0")
        try:
            deleted = sessions.expire(idle)
        except ValueError:
            deleted = []
        assert deleted == []
        assert sessions.get(sid).version == 1
    finally:
        store.close()


def test_expire_of_one_program_keeps_another_programs_sessions(opened):
    url, store, sessions, runner = opened
    mine = sessions.create().id
    runner.run_turn(mine, "hello", "k0")
    theirs_sessions = Sessions(sup.other, store)
    theirs = theirs_sessions.create().id
    TurnRunner(sup.other, store).run_turn(theirs, "hello", "k0")
    time.sleep(1.2)
    assert sessions.expire(1) == [mine]
    assert theirs_sessions.get(theirs).version == 1


def test_list_of_one_program_shows_only_its_sessions(opened):
    url, store, sessions, runner = opened
    mine = sessions.create(owner="team").id
    theirs = Sessions(sup.other, store).create(owner="team").id
    assert [r.id for r in sessions.list(owner="team")] == [mine], theirs


# ---------------------------------------------------------------------------------------------
# Files


def test_export_import_round_trip_continues_the_conversation(opened, tmp_path):
    url, store, sessions, runner = opened
    sid = sessions.create(owner="o").id
    texts = ["hello", "a", "b", "ünï ☃"]
    for i, text in enumerate(texts):
        runner.run_turn(sid, text, f"k{i}")
    path = tmp_path / "exported.session"
    sessions.export_file(sid, path, owner="o")
    # Autogram.load continues it exactly as the store would
    memory = sup.echo.load(str(path))
    assert memory.extract_full_conv_history() == sessions.get(sid).history
    answer, memory = sup.echo.reply("c", memory_object=memory)
    assert answer == sup.expected_reply(texts + ["c"])
    sup.echo.save(str(path), memory)
    # and the file comes back into the store
    rec = sessions.import_file(path, owner="p")
    view = sessions.get(rec.id, owner="p")
    assert view.history == memory.extract_full_conv_history()
    assert [w.address for w in view.waiting] == ["loop"]
    assert runner.run_turn(rec.id, "d", "k9", owner="p").reply == sup.expected_reply(
        texts + ["c", "d"]
    )
    with pytest.raises(SessionExistsError):
        sessions.import_file(path, rec.id)


def test_import_refuses_a_file_whose_log_is_missing(tmp_path):
    url = sup.new_store_url("sqlite", tmp_path)
    store, sessions, runner = sup.open_all(sup.echo, url)
    try:
        memory = None
        for text in ("hello", "a"):
            _, memory = sup.echo.reply(text, memory_object=memory)
        path = tmp_path / "lost-log.session"
        sup.echo.save(str(path), memory)
        os.remove(str(path) + ".log")
        try:
            rec = sessions.import_file(path)
        except Exception as exc:  # noqa: BLE001 - any clear refusal
            assert "log" in str(exc)
        else:
            history = sessions.get(rec.id).history
            pytest.fail(f"imported with the history {history!r}; the file had 4 log entries")
    finally:
        store.close()


# ---------------------------------------------------------------------------------------------
# Rows edited by hand


def test_damaged_log_row_is_reported_naming_the_session(opened, tmp_path):
    url, store, sessions, runner = opened
    sid = sessions.create().id
    runner.run_turn(sid, "hello", "k0")
    runner.run_turn(sid, "a", "k1")
    sup.sql(
        url,
        "UPDATE autograms_turns SET entries = ? WHERE session_id = ? AND version = 1",
        ("{not json", sid),
    )
    with pytest.raises(Exception) as info:
        sessions.get(sid)
    assert sid in str(info.value), f"{type(info.value).__name__}: {info.value}"


def test_schema_newer_than_this_release_is_refused(url):
    migrate(url)
    sup.sql(url, "UPDATE autograms_schema SET version = version + 1")
    for call in (lambda: open_store(url), lambda: migrate(url)):
        with pytest.raises(StoreSchemaError) as info:
            call()
        assert info.value.reason == "newer schema"


def test_database_without_tables_is_refused_with_create_false(url):
    with pytest.raises(StoreSchemaError) as info:
        open_store(url, create=False)
    assert "migrate" in str(info.value)
    assert migrate(url) == migrate(url) == SCHEMA_VERSION
    store = open_store(url, create=False)
    store.close()


def test_emptied_schema_table_gives_a_store_schema_error(url):
    migrate(url)
    sup.sql(url, "DELETE FROM autograms_schema")
    try:
        store = open_store(url)
    except StoreSchemaError:
        return
    store.close()  # or it repairs the table: then it says the version
    assert sup.sql(url, "SELECT version FROM autograms_schema") == [(1,)]

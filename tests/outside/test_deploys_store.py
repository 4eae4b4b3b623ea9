"""Outside tests of issue 15: `check_sessions` / `upgrade_sessions` on a SQLite store of signed
sessions (Sessions/TurnRunner), after the bot was edited: a row edited in the database, a saved
value whose class the new code removed, and what `restart=True` does with it."""

import sqlite3

import pytest

from autograms.deploys import Verdict, check_sessions, upgrade_sessions
from autograms.stores import Sessions, TurnRunner, open_store

from .deploys_support import HEAD, make_bot

KEY = "outside-deploys-key"

OLD = (
    HEAD
    + """
class Preference:
    def __init__(self, value):
        self.value = value


@autograms_function()
def chatbot():
    preference = Preference(1)
    a = reply("one", ADDRESS="one")
    b = reply("two")
    return reply(a + b)
"""
)

# the deploy removes the class and edits the function (so "two" is refused: no label)
NEW = (
    HEAD
    + """
@autograms_function()
def chatbot():
    a = reply("one", ADDRESS="one")
    b = reply("two")
    return reply(a + b + "!")
"""
)


@pytest.fixture
def bot(tmp_path, monkeypatch):
    yield from make_bot(tmp_path, monkeypatch)


@pytest.fixture
def store_of_three(bot, tmp_path):
    """(url, [idle id, id at 'one', id at the unlabelled 'two']) written by OLD, signed."""
    old = bot(OLD, key=KEY)
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    store = open_store(url)
    sessions, runner = Sessions(old, store), TurnRunner(old, store)
    ids = []
    for n in range(3):
        session = sessions.create(owner="o")
        for i, message in enumerate(["hi", "a"][:n]):
            runner.run_turn(session.id, message, idempotency_key=f"m{i}")
        ids.append(session.id)
    return url, ids


def by_id(report):
    return {check.session: check for check in report.sessions}


def test_a_saved_value_whose_class_was_removed_is_found_with_the_key(bot, store_of_three):
    url, ids = store_of_three
    new = bot(NEW, key=KEY)
    checks = by_id(check_sessions(new, store=open_store(url)))
    assert checks[ids[0]].verdict == Verdict.IDLE
    for session_id in ids[1:]:
        assert checks[session_id].verdict == Verdict.REFUSED
        assert "Preference" in checks[session_id].message


def test_without_the_key_signed_sessions_are_checked_from_the_header_only(bot, store_of_three):
    url, ids = store_of_three
    new = bot(NEW)
    checks = by_id(check_sessions(new, store=open_store(url)))
    assert checks[ids[1]].verdict == Verdict.REMAPPED
    assert not checks[ids[1]].values_read
    assert checks[ids[2]].verdict == Verdict.REFUSED


def test_a_row_edited_in_the_database_is_refused_as_tampered(bot, store_of_three, tmp_path):
    url, ids = store_of_three
    with sqlite3.connect(tmp_path / "sessions.db") as connection:
        (blob,) = connection.execute(
            "select blob from autograms_sessions where id = ?", (ids[1],)
        ).fetchone()
        middle = len(blob) // 2
        edited = blob[:middle] + ("0" if blob[middle] != "0" else "1") + blob[middle + 1 :]
        connection.execute("update autograms_sessions set blob = ? where id = ?", (edited, ids[1]))
    new = bot(OLD, key=KEY)
    checks = by_id(check_sessions(new, store=open_store(url)))
    assert checks[ids[1]].verdict == Verdict.REFUSED
    assert checks[ids[1]].reason == "tampered"
    assert checks[ids[2]].verdict == Verdict.RESUMES


def test_restart_restarts_a_session_whose_saved_class_was_removed(bot, store_of_three):
    url, ids = store_of_three
    new = bot(NEW, key=KEY)
    store = open_store(url)
    report = upgrade_sessions(new, store=store, restart=True)
    assert by_id(report)[ids[2]].verdict == Verdict.RESTARTS, by_id(report)[ids[2]]
    result = TurnRunner(new, store).run_turn(ids[2], "again", idempotency_key="after")
    assert result.reply == "one"


@pytest.mark.parametrize("what", ["get", "export_file"])
def test_a_refused_session_can_still_be_viewed_and_exported(bot, store_of_three, tmp_path, what):
    url, ids = store_of_three
    new = bot(NEW, key=KEY)
    sessions = Sessions(new, open_store(url))
    if what == "get":
        view = sessions.get(ids[2], owner="o")
        assert [turn["content"] for turn in view.history] == ["hi", "one", "a", "two"]
    else:
        sessions.export_file(ids[2], tmp_path / "kept.session", owner="o")
        assert (tmp_path / "kept.session").read_text().startswith("agsession1.")


def test_the_log_of_a_refused_session_can_still_be_read(bot, store_of_three):
    url, ids = store_of_three
    new = bot(NEW, key=KEY)
    entries = Sessions(new, open_store(url)).log(ids[2], owner="o")
    assert len(entries) >= 4


def test_a_log_row_edited_in_a_signed_store_is_refused(bot, store_of_three, tmp_path):
    url, ids = store_of_three
    with sqlite3.connect(tmp_path / "sessions.db") as connection:
        changed = connection.execute(
            'update autograms_turns set entries = replace(entries, \'"user_reply":"hi"\', '
            '\'"user_reply":"HACKED"\') where session_id = ?',
            (ids[1],),
        ).rowcount
    assert changed >= 1
    old = bot(OLD, key=KEY)
    store = open_store(url)
    check = by_id(check_sessions(old, store=store))[ids[1]]
    history = None
    try:
        history = [turn["content"] for turn in Sessions(old, store).get(ids[1], owner="o").history]
    except Exception as error:  # noqa: BLE001 - any refusal will do
        assert "tamper" in str(error) or "signature" in str(error), repr(error)
    assert check.verdict == Verdict.REFUSED, (check, history)

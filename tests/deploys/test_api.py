"""The Python API of the pre-deploy check in one process: sessions of every committed format
check out, and a session that does not check out for reasons other than code (signature,
format, program, damage) is refused naming why, before anything is unpickled."""

from __future__ import annotations

import importlib
import json
import sqlite3
import sys
from pathlib import Path

import pytest

from autograms import Autogram, AutogramConfig, session
from autograms.cli.__main__ import main
from autograms.deploys import Verdict, check_session, check_sessions, upgrade_sessions
from autograms.stores import open_store
from tests.deploys.harness import conversation
from tests.sessions.make_session_data import _autogram

DATA = Path(__file__).parents[1] / "sessions" / "data"
PYTHON = f"py{sys.version_info[0]}.{sys.version_info[1]}"
FOLDERS = sorted(DATA.glob(f"*/{PYTHON}"))


@pytest.mark.parametrize("folder", FOLDERS, ids=[folder.parent.name for folder in FOLDERS])
@pytest.mark.parametrize("example", ["fibonacci", "recruiter", "simple_example"])
def test_the_committed_sessions_of_every_format_resume_with_this_release(
    folder: Path, example: str
) -> None:
    report = check_sessions(_autogram(example, 1, signed=False), folder=folder)
    own = [check for check in report.sessions if check.session.startswith(example)]
    assert own and all(check.verdict is Verdict.RESUMES for check in own)
    assert all(check.frame.label for check in own)
    others = [check for check in report.sessions if check not in own]
    assert {check.reason for check in others} == {"other program"}
    assert len({check.format for check in own}) == 1  # each folder holds one format


@pytest.mark.parametrize("folder", FOLDERS, ids=[folder.parent.name for folder in FOLDERS])
def test_with_the_key_signed_sessions_are_also_unpickled_and_unsigned_ones_refused(
    folder: Path,
) -> None:
    report = check_sessions(_autogram("fibonacci", 1, signed=True), folder=folder)
    own = {check.session: check for check in report.sessions if check.session.startswith("fib")}
    signed = [check for name, check in own.items() if "-signed" in name]
    plain = [check for name, check in own.items() if "-plain" in name]
    assert signed and all(c.verdict is Verdict.RESUMES and c.values_read for c in signed)
    assert plain and {(c.verdict, c.reason) for c in plain} == {(Verdict.REFUSED, "unsigned")}


class Keepsake:
    """A value saved in a session whose class is gone when the session is checked."""


def test_a_saved_value_whose_class_is_gone_refuses_a_signed_session_only(monkeypatch) -> None:
    signed, memory = conversation("fibonacci", [""])
    signed = Autogram(signed.root_function, AutogramConfig(session_key="k"), test_mode=True)
    memory.memory_dict["keepsake"] = Keepsake()
    texts = {"signed": signed.serialize(memory), "plain": _unsigned(memory)}
    monkeypatch.delattr(sys.modules[__name__], "Keepsake")
    check = check_session(signed, texts["signed"])
    assert (check.verdict, check.reason) == (Verdict.REFUSED, "unreadable")
    # without a key nothing is unpickled: the check cannot see the value
    plain = Autogram(signed.root_function, test_mode=True)
    assert check_session(plain, texts["plain"]).verdict is Verdict.RESUMES


def _unsigned(memory) -> str:
    return Autogram(memory.root_function, test_mode=True).serialize(memory)


def test_sessions_that_do_not_check_out_are_refused_naming_why() -> None:
    autogram, memory = conversation("fibonacci", ["", "go"])
    text = autogram.serialize(memory)
    other, idle = conversation("simple_example", [])
    header = json.loads(session._unb64(text.split(".")[1]))
    newer = session._b64(json.dumps({**header, "format": session.FORMAT + 1}).encode())
    cases = {
        "other program": other.serialize(idle),
        "newer format": ".".join([text.split(".")[0], newer, *text.split(".")[2:]]),
        "damaged": text.replace(text.split(".")[2][-40:], "00" * 20),
        "not a session": "hello",
    }
    for reason, case in cases.items():
        check = check_session(autogram, case, name=reason)
        assert (check.session, check.verdict, check.reason) == (reason, Verdict.REFUSED, reason)
        assert check.message
    keyed = Autogram(autogram.root_function, AutogramConfig(session_key="k"), test_mode=True)
    tampered = keyed.serialize(memory)[:-3] + "xyz"  # another signature
    assert check_session(keyed, tampered).reason == "tampered"
    assert check_session(keyed, text).reason == "unsigned"


def test_an_upgrade_leaves_a_session_alone_when_a_turn_commits_first(store_url_of) -> None:
    autogram, memory = conversation("fibonacci", ["", "go"])
    store = open_store(store_url_of("sqlite"))
    try:
        blob = autogram.serialize(memory, include_log=False)
        store.create_session("s", None, blob, memory.model_turns)
        assert not store.replace_blob("s", 1, "changed")  # a stale version writes nothing
        assert store.load_session("s").blob == blob
        assert store.replace_blob("s", 0, blob)
        assert store.load_session("s").version == 1  # a turn that read version 0 cannot commit
        assert store.turns("s") == []  # and is not a turn
        report = upgrade_sessions(autogram, store=store, restart=True)
        assert [check.verdict for check in report.sessions] == [Verdict.RESUMES]
    finally:
        store.close()


def test_the_command_refuses_bad_arguments_with_status_2(tmp_path: Path, capsys) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    sqlite3.connect(tmp_path / "empty.db").close()  # a database without the tables
    cases = {
        ("--folder", str(tmp_path / "nowhere")): "no folder of session files",
        ("--folder", str(tmp_path), "--map", "no_new_label"): "bad --map 'no_new_label'",
        ("--store", "mysql://db/x"): "unknown store URL",
        ("--store", f"sqlite:///{tmp_path / 'typo.db'}"): "no SQLite store at",
        ("--store", empty): "has autograms schema 0",
    }
    for options, said in cases.items():
        assert main(["sessions", "check", "fibonacci", *options]) == 2
        assert said in capsys.readouterr().err
    assert main(["sessions", "check", "fibonacci", "--folder", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip().startswith("0 sessions")


def test_the_sessions_to_check_are_named_once(tmp_path: Path, store_url_of) -> None:
    autogram, _ = conversation("fibonacci", [])
    with pytest.raises(TypeError, match="store=... or folder="):
        check_sessions(autogram)
    store = open_store(store_url_of("sqlite"))
    try:
        with pytest.raises(TypeError, match="one of them"):
            upgrade_sessions(autogram, store=store, folder=tmp_path)
    finally:
        store.close()


NESTED = """
from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def ask():
    return reply("inner question")


@autograms_function()
def chatbot():
    a = reply("one", ADDRESS="one")
    b = ask()
    return reply(a + b, ADDRESS="last")
"""


def _nested_bot(folder: Path, source: str) -> Autogram:
    """An Autogram on `source`, (re)written and imported as module deploy_nested_bot."""
    (folder / "deploy_nested_bot.py").write_text(source)
    sys.modules.pop("deploy_nested_bot", None)
    importlib.invalidate_caches()
    return Autogram(importlib.import_module("deploy_nested_bot").chatbot, test_mode=True)


@pytest.mark.parametrize("where", ["folder", "store"])
def test_a_mapping_that_leaves_frames_unpickles_an_unsigned_session_only_when_trusted(
    tmp_path: Path, monkeypatch, where: str
) -> None:
    monkeypatch.delenv("AUTOGRAMS_SESSION_KEY", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    old = _nested_bot(tmp_path, NESTED)
    _, memory = old.reply()
    _, memory = old.reply("x", memory_object=memory)  # paused in ask()
    places = {"folder": {"folder": tmp_path / "s"}, "store": {}}
    if where == "folder":
        (tmp_path / "s").mkdir()
        old.save(tmp_path / "s" / "t.session", memory)
    else:
        places["store"] = {"store": open_store(f"sqlite:///{tmp_path / 'db.sqlite'}")}
        places["store"]["store"].create_session("t", None, old.serialize(memory), [])
    try:
        # the edit no longer calls ask(): the session is refused until mapped to a label of
        # the caller, which leaves the frame of ask()
        new = _nested_bot(tmp_path, NESTED.replace("    b = ask()\n", '    b = "!"\n'))
        plan = {"labels": {"chatbot": "last"}, **places[where]}
        refused = check_sessions(new, **plan).sessions[0]
        assert (refused.verdict, refused.reason) == (Verdict.REFUSED, "untrusted")
        assert upgrade_sessions(new, **plan).sessions[0].verdict is Verdict.REFUSED
        assert check_sessions(new, **plan, trust_unsigned=True).sessions[0].verdict is (
            Verdict.MAPPED
        )
        done = upgrade_sessions(new, **plan, trust_unsigned=True).sessions[0]
        assert done.verdict is Verdict.MAPPED
        report = check_sessions(new, **places[where]).sessions[0]
        assert report.verdict is Verdict.RESUMES and report.frame.label == "last"
    finally:
        for place in places.values():
            if "store" in place:
                place["store"].close()
        sys.modules.pop("deploy_nested_bot", None)

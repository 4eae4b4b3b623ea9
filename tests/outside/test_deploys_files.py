"""Outside tests of issue 15: `check_sessions(folder=...)` / `upgrade_sessions` on a folder of
session files that were tampered with, truncated, damaged or are not sessions, and the claim that
without a session key nothing is unpickled."""

import sys

import pytest

from autograms import SessionSignatureError
from autograms.deploys import Verdict, check_sessions, upgrade_sessions

from .deploys_support import HEAD, make_bot, save_all

BOT = (
    HEAD
    + """
@autograms_function()
def chatbot():
    name = reply("Hi! What is your name?", ADDRESS="name")
    age = reply("How old are you?", ADDRESS="age")
    color = reply("Favourite colour?")
    return reply(name + age + color, ADDRESS="bye")
"""
)


@pytest.fixture
def bot(tmp_path, monkeypatch):
    yield from make_bot(tmp_path, monkeypatch)


@pytest.fixture
def saved(bot, tmp_path):
    """(autogram, folder) with t0..t3.session saved by the bot (paused at name, age, colour, bye)."""
    autogram = bot(BOT)
    folder = tmp_path / "sessions"
    save_all(autogram, folder, ["Ada", "37", "blue"])
    return autogram, folder


def verdicts(report):
    return {check.session: check.verdict for check in report.sessions}


def test_unchanged_sessions_all_resume_here(saved):
    autogram, folder = saved
    report = check_sessions(autogram, folder=str(folder))
    assert verdicts(report) == {f"t{n}.session": Verdict.RESUMES for n in range(4)}
    assert not report.refused


def test_a_session_with_one_changed_hex_digit_is_refused(saved):
    autogram, folder = saved
    path = folder / "t2.session"
    text = path.read_text()
    middle = len(text) // 2
    path.write_text(text[:middle] + ("0" if text[middle] != "0" else "1") + text[middle + 1 :])
    report = check_sessions(autogram, folder=str(folder))
    assert verdicts(report)["t2.session"] == Verdict.REFUSED


def test_a_truncated_session_is_refused(saved):
    autogram, folder = saved
    path = folder / "t1.session"
    path.write_text(path.read_text()[:400])
    report = check_sessions(autogram, folder=str(folder))
    assert verdicts(report)["t1.session"] == Verdict.REFUSED


def test_files_that_are_not_sessions_are_not_counted(saved):
    autogram, folder = saved
    (folder / "README.txt").write_text("notes about these sessions\n")
    report = check_sessions(autogram, folder=str(folder))
    assert set(verdicts(report)) == {f"t{n}.session" for n in range(4)}


def test_a_session_with_leading_whitespace_is_checked(saved):
    autogram, folder = saved
    path = folder / "t1.session"
    path.write_text("\n  " + path.read_text())
    autogram.load(str(path))  # loads: surrounding whitespace is ignored
    report = check_sessions(autogram, folder=str(folder))
    assert "t1.session" in verdicts(report)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda text: "", id="emptied"),
        pytest.param(lambda text: "X" + text[1:], id="first-byte"),
    ],
)
def test_a_session_file_damaged_at_its_start_is_reported_refused(saved, damage):
    autogram, folder = saved
    path = folder / "t1.session"
    path.write_text(damage(path.read_text()))
    report = check_sessions(autogram, folder=str(folder))
    assert verdicts(report).get("t1.session") == Verdict.REFUSED, verdicts(report)


def _damage_log(path, how):
    log = path.with_name(path.name + ".log")
    if how == "missing":
        log.unlink()
    elif how == "emptied":
        log.write_text("")
    else:
        log.write_bytes(log.read_bytes()[:100])


LOG_DAMAGE = ["missing", "emptied", "truncated"]


@pytest.mark.parametrize("how", LOG_DAMAGE)
def test_a_saved_session_with_a_damaged_log_file_does_not_lose_its_history_silently(saved, how):
    autogram, folder = saved
    path = folder / "t1.session"
    _damage_log(path, how)
    try:
        memory = autogram.load(str(path))
        history = memory.extract_full_conv_history()
    except Exception as error:  # noqa: BLE001 - any refusal naming the damage is fine
        assert "damaged" in str(error) or "log" in str(error), repr(error)
    else:
        assert len(history) == 3, history


@pytest.mark.parametrize("how", LOG_DAMAGE)
def test_the_check_does_not_pass_a_session_whose_log_file_is_damaged(saved, how):
    autogram, folder = saved
    _damage_log(folder / "t1.session", how)
    report = check_sessions(autogram, folder=str(folder))
    assert verdicts(report)["t1.session"] == Verdict.REFUSED


EVIL = (
    HEAD
    + """
MARKER = {marker!r}


def _touch(path):
    with open(path, "a") as marker:
        marker.write("unpickled\\n")
    return Evil()


class Evil:
    def __reduce__(self):
        return (_touch, (MARKER,))


@autograms_function()
def chatbot():
    e = Evil()
    a = reply("one", ADDRESS="one")
    b = reply("two")
    return reply(a + b{suffix})
"""
)


@pytest.fixture
def evil(bot, tmp_path):
    """(marker, folder, new autogram): unsigned sessions holding a value whose unpickling writes
    marker, and the bot edited so that the one paused at the unlabelled call is refused."""
    marker = tmp_path / "unpickled.txt"
    old = bot(EVIL.format(marker=str(marker), suffix=""))
    folder = tmp_path / "sessions"
    save_all(old, folder, ["a"])
    new = bot(EVIL.format(marker=str(marker), suffix=' + "!"'))
    marker.unlink(missing_ok=True)  # the writer's own turns may unpickle: that is allowed
    return marker, folder, new


def test_check_without_a_key_unpickles_nothing(evil):
    marker, folder, new = evil
    report = check_sessions(new, folder=str(folder))
    report = check_sessions(new, folder=str(folder), labels={"chatbot": "one"}, restart=True)
    assert {c.session: c.verdict for c in report.sessions} == {
        "t0.session": Verdict.REMAPPED,
        "t1.session": Verdict.MAPPED,
    }
    assert not marker.exists()


@pytest.mark.parametrize(
    "choice",
    [
        pytest.param({"restart": True}, id="restart"),
        pytest.param({"labels": {"chatbot": "one"}}, id="map"),
    ],
)
def test_upgrade_without_a_key_unpickles_nothing(evil, choice):
    marker, folder, new = evil
    upgrade_sessions(new, folder=str(folder), **choice)
    assert not marker.exists(), marker.read_text()


NESTED = (
    HEAD
    + """
@autograms_function()
def inner():
    return reply("inner")


@autograms_function()
def chatbot():
    a = reply("one", ADDRESS="one")
    b = inner(ADDRESS="call_inner")
    return reply(a + b)
"""
)


def test_check_does_not_import_a_module_named_by_an_unsigned_session(bot, tmp_path):
    autogram = bot(NESTED)
    folder = tmp_path / "sessions"
    save_all(autogram, folder, ["x"])  # t1 is paused in inner()
    # a module on sys.path whose import leaves a mark, its name as long as the bot's
    other = "z" * len(bot.name)
    marker = tmp_path / "imported.txt"
    (bot.folder / f"{other}.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    path = folder / "t1.session"
    text = path.read_text()
    envelope = text.split(".")
    state = bytes.fromhex(envelope[2])
    original = f'"{bot.name}","inner"'.encode()
    assert original in state  # the snapshot's readable header names the frame's module
    envelope[2] = state.replace(original, f'"{other}","inner"'.encode()).hex()
    path.write_text(".".join(envelope))
    try:
        check_sessions(autogram, folder=str(folder))
        assert not marker.exists(), "the check imported a module the session named"
    finally:
        sys.modules.pop(other, None)


def test_a_signed_session_files_edited_log_is_refused(bot, tmp_path):
    autogram = bot(BOT, key="outside-deploys-key")
    folder = tmp_path / "sessions"
    paths = save_all(autogram, folder, ["Ada"])
    log = paths[1].with_name(paths[1].name + ".log")
    edited = log.read_text().replace('"Ada"', '"Eve"')
    assert edited != log.read_text()
    log.write_text(edited)
    assert verdicts(check_sessions(autogram, folder=str(folder)))["t1.session"] == Verdict.REFUSED
    with pytest.raises(SessionSignatureError):
        autogram.load(str(paths[1])).extract_full_conv_history()

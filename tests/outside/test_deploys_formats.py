"""Outside tests of issue 15: sessions written by an earlier state of the library, in the same
session format number, load after the library changed ("format, not release")."""

import base64
import importlib
import json
import shutil
import sys
from pathlib import Path

import pytest

from autograms import Autogram, SessionFormatError
from autograms.deploys import Verdict, check_session

DATA = Path(__file__).parent / "data_deploys" / "main-20ebe58"
MODULE = "outside_deploys_fmt_bot"
PY = "{}.{}".format(*sys.version_info[:2])


@pytest.fixture
def autogram(tmp_path, monkeypatch):
    shutil.copy(DATA / f"{MODULE}.py", tmp_path / f"{MODULE}.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop(MODULE, None)
    module = importlib.import_module(MODULE)
    yield Autogram(root_function=module.chatbot, test_mode=True)
    sys.modules.pop(MODULE, None)


def session_text():
    return (DATA / f"at_age.py{PY}.session").read_text()


def test_the_session_names_format_3_which_this_release_migrates(autogram):
    # the finding: 9c16184 changed the payload in format 3; this release writes a later one
    text, memory = autogram.reply()

    def header(blob):
        part = blob.strip().split(".")[1]
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))

    assert header(session_text())["format"] == 3
    assert header(autogram.serialize(memory))["format"] > 3


def test_a_format_3_session_of_20ebe58_continues(autogram):
    memory = autogram.deserialize(session_text())
    text, memory = autogram.reply("37", memory_object=memory)
    assert text == "Ada37"


def test_the_check_agrees_with_loading_a_format_3_session_of_20ebe58(autogram):
    check = check_session(autogram, session_text())
    try:
        autogram.reply("37", memory_object=autogram.deserialize(session_text()))
    except SessionFormatError:
        assert check.verdict == Verdict.REFUSED, check
    except Exception as error:  # noqa: BLE001 - the finding: an error that is not the library's
        pytest.fail(f"check said {check.verdict.value}, loading raised {error!r}")
    else:
        assert check.verdict == Verdict.RESUMES, check


XPY = Path(__file__).parent / "data_deploys" / "python-versions"
XPY_MODULE = "outside_deploys_xpy_bot"
OTHER_PYTHONS = sorted({"3.11", "3.12", "3.13"} - {PY})


@pytest.fixture
def xpy_autogram(tmp_path, monkeypatch):
    shutil.copy(XPY / f"{XPY_MODULE}.py", tmp_path / f"{XPY_MODULE}.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop(XPY_MODULE, None)
    module = importlib.import_module(XPY_MODULE)
    yield Autogram(root_function=module.chatbot, test_mode=True)
    sys.modules.pop(XPY_MODULE, None)


@pytest.mark.parametrize("other", OTHER_PYTHONS)
def test_a_session_of_another_python_resumes_at_its_label(xpy_autogram, other):
    text = (XPY / f"at_name.py{other}.session").read_text()
    check = check_session(xpy_autogram, text)
    assert check.verdict == Verdict.REMAPPED
    assert check.frames[0].reason == "other Python version"


@pytest.mark.parametrize("other", OTHER_PYTHONS)
def test_a_session_of_another_python_at_an_unlabelled_pause_is_refused(xpy_autogram, other):
    text = (XPY / f"unlabelled.py{other}.session").read_text()
    assert check_session(xpy_autogram, text).verdict == Verdict.REFUSED


@pytest.mark.parametrize("other", OTHER_PYTHONS)
def test_refusing_another_pythons_session_names_the_python_not_a_code_change(xpy_autogram, other):
    text = (XPY / f"unlabelled.py{other}.session").read_text()
    check = check_session(xpy_autogram, text)
    assert check.reason == "other Python version", (check.reason, check.message)

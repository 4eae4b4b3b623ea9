"""``load_autogram`` of a bot file edited since this process loaded it runs the new version, as
AutoGRAMS' ``load_autogram`` (which ran the file on every call) did; an unchanged file is not
run again, and an edit that fails to run leaves the loaded version in place."""

from __future__ import annotations

import os
import sys
import uuid

import pytest

from autograms import Autogram, load_autogram

_SOURCE = """from autograms import autograms_function
from autograms.functional import reply

RUNS = globals().get("RUNS", 0) + 1


@autograms_function()
def chatbot():
    reply("version {n}")
"""


@pytest.fixture
def bot_file(tmp_path):
    path = tmp_path / f"compat_edit_{uuid.uuid4().hex}.py"
    yield path
    sys.modules.pop(path.stem, None)


def _write(path, text: str, bump: int) -> None:
    path.write_text(text)
    stamp = os.stat(path).st_mtime + bump  # a later time, whatever the clock's resolution
    os.utime(path, (stamp, stamp))


def _first_reply(chatbot) -> str:
    return Autogram(root_function=chatbot, test_mode=True).reply()[0]


def test_an_unchanged_file_is_not_run_again(bot_file):
    _write(bot_file, _SOURCE.format(n=1), 0)
    first, _ = load_autogram(str(bot_file))
    again, _ = load_autogram(str(bot_file))
    assert again is first
    assert sys.modules[bot_file.stem].RUNS == 1


def test_an_edited_file_gives_the_new_chatbot(bot_file):
    _write(bot_file, _SOURCE.format(n=1), 0)
    first, _ = load_autogram(str(bot_file))
    assert _first_reply(first) == "version 1"
    _write(bot_file, _SOURCE.format(n=2), 5)
    second, _ = load_autogram(str(bot_file))
    assert _first_reply(second) == "version 2"
    assert sys.modules[bot_file.stem].chatbot is second  # `import` now gives the new one too


def test_an_edit_that_fails_to_run_keeps_the_loaded_version(bot_file):
    _write(bot_file, _SOURCE.format(n=1), 0)
    first, _ = load_autogram(str(bot_file))
    _write(bot_file, _SOURCE.format(n=2) + "\nraise RuntimeError('broken edit')\n", 5)
    with pytest.raises(RuntimeError, match="broken edit"):
        load_autogram(str(bot_file))
    assert sys.modules[bot_file.stem].chatbot is first
    _write(bot_file, _SOURCE.format(n=3), 10)
    third, _ = load_autogram(str(bot_file))
    assert _first_reply(third) == "version 3"

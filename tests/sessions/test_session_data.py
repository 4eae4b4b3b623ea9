"""Sessions written by earlier releases load and continue in this one.

``data/<release>/py<X.Y>/`` holds sessions an earlier release wrote with
``tests/sessions/make_session_data.py`` (never rewritten). Each must load here -- as serialized
text, as serialized text with its log, and as a saved file -- and its next turn must give the
reply that the same conversation gives when this release runs it from the start.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.sessions.make_session_data import _autogram

DATA = Path(__file__).parent / "data"
PYTHON = f"py{sys.version_info[0]}.{sys.version_info[1]}"


def _cases() -> list[tuple[str, dict]]:
    cases = []
    for manifest in sorted(DATA.glob(f"*/{PYTHON}/manifest.json")):
        for entry in json.loads(manifest.read_text())["sessions"]:
            cases.append((str(manifest.parent), entry))
    return cases


def _fresh_reply(entry: dict) -> str | None:
    autogram = _autogram(entry["example"], entry["seed"], entry["signed"])
    memory = None
    for message in entry["messages"]:
        _, memory = autogram.reply(message, memory_object=memory)
    text, _ = autogram.reply(entry["next"], memory_object=memory)
    return text


CASES = _cases()


@pytest.mark.parametrize(
    "folder, entry", CASES, ids=[f"{Path(f).parent.name}-{e['files']['saved']}" for f, e in CASES]
)
@pytest.mark.parametrize("form", ["serialized", "serialized_with_log", "saved"])
def test_an_earlier_release_session_continues_as_a_fresh_run_would(folder, entry, form):
    autogram = _autogram(entry["example"], entry["seed"], entry["signed"])
    path = Path(folder) / entry["files"][form]
    if form == "saved":
        memory = autogram.load(path)
    else:
        memory = autogram.deserialize(path.read_text())
    text, _ = autogram.reply(entry["next"], memory_object=memory)
    assert text == _fresh_reply(entry)


def test_there_is_session_data_for_this_python():
    assert CASES, f"no session data for {PYTHON} under {DATA}"

"""Subclasses of built-in and standard-library classes resume as plain Python keeps them.

Generated programs (tests/engine/values/library_subclasses.py): every library class of a table
subclassed in each shape of `VARIANTS` (extra attributes, an argument of its own, ``__slots__``,
a reference to itself, an instance dictionary shared with a local and another object), compared
with plain Python in process, after serialize/deserialize and with a fresh process per turn.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.values import library_subclasses
from tests.outside import engine_s8_support as support

MESSAGES = ["", "a", "b", "x"]


@pytest.mark.parametrize("mode", support.MODES)
def test_library_subclasses_resume_as_plain_python(mode: str, tmp_path: Path) -> None:
    programs = {
        f"library_subclasses_{variant}": (library_subclasses.program(variant), MESSAGES)
        for variant in library_subclasses.VARIANTS
    }
    expected = support.oracle_batch(tmp_path / "oracle", programs)
    got = support.engine_batch(tmp_path / mode, programs, mode)
    diverged = {name: support.transcript_diff(expected[name], got[name]) for name in programs}
    diverged = {name: diff for name, diff in diverged.items() if diff}
    assert not diverged, "\n".join(f"{name}:\n{diff}" for name, diff in diverged.items())


INSTANCE_DICTS = """
import collections
from autograms import autograms_function
from autograms.functional import reply


class Record:
    pass


class Scores(collections.Counter):
    def __init__(self, owner, *args):
        self.owner, self.updates = owner, 0
        super().__init__(*args)

    def update(self, *args, **kwargs):
        self.updates += 1
        super().update(*args, **kwargs)


@autograms_function()
def chatbot():
    ordered = Record()
    ordered.__dict__ = collections.OrderedDict(b=1, a=2)
    held = Record()
    held.x = 1
    attributes = vars(held)
    scores = Scores("ann", "aab")
    for turn in range(2):
        reply(f"turn {turn}?")
        ordered.c = turn
        attributes["y"] = turn
        scores.update("b")
        print(type(vars(ordered)).__name__, list(vars(ordered)), held.y, vars(held) is attributes)
        print(scores.owner, scores.updates, sorted(scores.items()))
    reply("end")
"""


@pytest.mark.parametrize("mode", support.MODES)
def test_instance_dictionaries_keep_their_identity_and_type(mode: str, tmp_path: Path) -> None:
    support.compare(tmp_path, "instance_dicts_kept", INSTANCE_DICTS, MESSAGES, mode)

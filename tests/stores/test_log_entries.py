"""Log entries a program or run loop appended come back from a store's log rows equal and of
the same types (an import's rows and a turn's rows, signed or not), and a file exported from
the store gives them back too (generated entries: ``tests.dialog.test_log_entries``)."""

from __future__ import annotations

import random

import pytest

from autograms import Autogram, AutogramConfig
from autograms.stores import Sessions, TurnRunner, open_store
from tests.dialog.test_log_entries import PROGRAM_NOTES, _appended, _entry, noting_bot, same


@pytest.fixture
def store(store_url):
    opened = open_store(store_url)
    yield opened
    opened.close()


@pytest.mark.parametrize("key", [None, "k"])
def test_appended_entries_come_back_from_the_stores_log_rows(store, tmp_path, key) -> None:
    autogram = Autogram(
        root_function=noting_bot, autogram_config=AutogramConfig(session_key=key), test_mode=True
    )
    rng = random.Random(7)
    _, memory = autogram.reply()
    expected = [_entry(rng, n) for n in range(8)]
    memory.memory_dict["model_turns"].extend(expected)
    autogram.save(tmp_path / "s", memory)
    sessions, runner = Sessions(autogram, store), TurnRunner(autogram, store)
    sessions.import_file(tmp_path / "s", "noted")
    for turn in range(4):  # the program appends while the store runs its turns
        message = f"store-{key}-{turn}"
        PROGRAM_NOTES[message] = _entry(rng, 100 + turn)
        expected.append(PROGRAM_NOTES[message])
        runner.run_turn("noted", message, f"k{turn}")
    for entries in (
        sessions.log("noted"),
        _exported(sessions, autogram, tmp_path).memory_dict["model_turns"],
    ):
        got = _appended(entries)
        assert len(got) == len(expected)
        assert all(same(back, entry) for back, entry in zip(got, expected, strict=True))


def _exported(sessions: Sessions, autogram: Autogram, tmp_path):
    sessions.export_file("noted", tmp_path / "exported")
    return autogram.load(tmp_path / "exported")

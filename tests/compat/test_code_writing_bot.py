"""A bot written the way AutoGRAMS' seed agent is: version check by integer parse and
`inspect` over the whole package at import, decisions, thoughts, code extraction and files
written relative to the working folder."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import autograms
from autograms import Autogram
from tests.compat.driver import converse

MESSAGES = ["Please write me a bot.", "yes", "What is reply()?", "and GOTO?", "thanks", "bye"]


def test_the_version_passes_an_integer_parse_check_and_states_the_api() -> None:
    parts = [int(part) for part in autograms.__version__.split(".")]
    assert parts >= [0, 5, 2]
    assert parts[:2] == [0, 6]  # the AutoGRAMS 0.6 API


def test_a_seed_agent_style_bot_reads_every_source_and_writes_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    seed_like = importlib.import_module("tests.compat.bots.seed_like")
    assert seed_like.SKIPPED == []
    assert "autograms.functional.reply_instruction" in seed_like.SOURCES
    assert "autograms.supervisors.SupervisorReturn" in seed_like.SOURCES
    replied_from = set()
    for seed in range(4):
        run = converse(Autogram(seed_like.chatbot, test_mode=True, seed=seed), MESSAGES)
        assert all(isinstance(text, str) and text for text in run.replies)
        replied_from |= {entry["function_name"] for entry in run.entries("agent_reply")}
    assert replied_from == {"chatbot", "write_code"}
    written = sorted(path.name for path in (tmp_path / "asa_code").rglob("*.py"))
    assert written and set(written) == {"chatbot_code.py", "run_chatbot.py"}


def test_a_closed_file_left_in_a_local_survives_the_next_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    seed_like = importlib.import_module("tests.compat.bots.seed_like")
    autogram = Autogram(seed_like.write_then_ask, test_mode=True)
    text, memory = autogram.reply()
    assert text == "I wrote notes.txt. Anything else?"
    text, _ = autogram.reply("no", memory_object=autogram.deserialize(autogram.serialize(memory)))
    assert text == "Done."

"""``autograms debug``: random trajectories in test mode, label coverage, and failures reported
with their run, turn, seed and pending frames."""

from __future__ import annotations

import json
import re
from pathlib import Path

from autograms.cli.__main__ import main

from .conftest import bot_path


def debug(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(["debug", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def coverage_lines(out: str) -> dict[str, str]:
    """label -> "x" (reached) or " " (never reached), from the coverage report."""
    return {m.group(2): m.group(1) for m in re.finditer(r"\[(x| )\] (\w+)\s+line", out)}


def test_coverage_of_a_bot_that_works(capsys):
    status, out, err = debug(
        capsys, bot_path("branching_bot"), "--runs", "8", "--turns", "4", "--seed", "0"
    )
    assert status == 0, out + err
    assert "8 run(s), 40 turn(s)" in out
    assert "0 failed" in out
    labels = coverage_lines(out)
    # both branches of the decision, the nested function, and a labelled call to a plain
    # helper (it never pauses) are reached; the label no message can reach is not
    assert labels == {
        "welcome": "x",
        "quiz": "x",
        "score": "x",
        "later": "x",
        "summary": "x",
        "anything_else": "x",
        "unreachable": " ",
        "question": "x",
    }
    assert "ADDRESS-label coverage: 7 of 8 labels reached (87%)" in out
    assert "unreachable" in out and "never reached" in out
    # the progress bar went to stderr, one line per step without a terminal
    assert "[" + "#" * 30 + "] 8/8 runs, 0 failed" in err


def test_a_failure_names_run_turn_seed_exception_and_pending_frames(capsys):
    status, out, _ = debug(
        capsys, bot_path("failing_bot"), "--runs", "3", "--turns", "6", "--seed", "7"
    )
    assert status == 1
    # the opening plus four answers pass; the fifth message makes `step` raise
    assert "FAILED: run 0, turn 5 (reply), seed 7: RuntimeError: total reached 3" in out
    assert "the same failure in run(s): 1, 2" in out
    assert f"replay: autograms debug {bot_path('failing_bot')} --runs 1 --turns 6 --seed 7" in out
    frames = out.split("pending frames before the turn (outermost first):\n")[1]
    assert re.match(
        r"    chatbot \(failing_bot\.py:\d+\)  at ADDRESS 'step'\n"
        r"        total = 3\n"
        r"    step \(failing_bot\.py:\d+\)  at ADDRESS 'ask'\n"
        r"        total = 3\n",
        frames,
    )
    assert 'raise RuntimeError(f"total reached {total}")' in out
    assert "3 failed" in out


def test_a_failure_in_the_opening_turn_has_no_pending_frames(capsys, tmp_path):
    bot = tmp_path / "broken_bot.py"
    bot.write_text(
        "from autograms import autograms_function\n\n"
        "@autograms_function()\n"
        "def chatbot():\n"
        "    raise KeyError('no such thing')\n"
    )
    status, out, _ = debug(capsys, str(bot), "--runs", "2", "--turns", "2", "--fail-fast")
    assert status == 1
    assert "FAILED: run 0, the opening turn (start), seed 0: KeyError: 'no such thing'" in out
    assert "pending frames before the turn: none (the program had not started)" in out
    assert "1 run(s)" in out  # --fail-fast stopped after the first run
    assert "the bot's decorated functions have no ADDRESS labels" in out


def test_messages_from_a_file_and_sessions_through_files(capsys, tmp_path):
    messages = tmp_path / "messages.json"
    messages.write_text(json.dumps(["4", "4", "4"]))
    status, out, _ = debug(
        capsys,
        bot_path("branching_bot"),
        "--runs",
        "2",
        "--turns",
        "3",
        "--messages",
        str(messages),
        "--via-files",
        "--transcripts",
    )
    assert status == 0, out
    assert "user:  '4'" in out
    assert "--- run 1 (seed 1)" in out
    lines = tmp_path / "lines.txt"
    lines.write_text("yes\n\nno\n")
    status, out, _ = debug(
        capsys, bot_path("branching_bot"), "--runs", "1", "--turns", "1", "--messages", str(lines)
    )
    assert status == 0


def test_a_program_that_returns_starts_again(capsys, tmp_path):
    messages = tmp_path / "bye.txt"
    messages.write_text("bye\n")
    status, out, _ = debug(
        capsys, bot_path("echo_bot"), "--runs", "2", "--turns", "4", "--messages", str(messages)
    )
    assert status == 0, out
    assert re.search(r"the program returned [1-9]\d* time\(s\)", out)


def test_bad_arguments_exit_with_status_2(capsys, tmp_path):
    status, _, err = debug(capsys, "no_such_example")
    assert status == 2
    assert "unknown example 'no_such_example'" in err
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    status, _, err = debug(capsys, bot_path("echo_bot"), "--messages", str(empty))
    assert status == 2
    assert "holds no messages" in err
    config = tmp_path / "config.json"
    config.write_text('{"no_such_field": 1}')
    status, _, err = debug(capsys, bot_path("echo_bot"), "--config", str(config))
    assert status == 2
    assert "unknown AutogramConfig field 'no_such_field'" in err


VOCABULARY = bot_path("vocabulary_bot")


def test_messages_drawn_from_the_bot_open_its_branches(capsys):
    status, out, err = debug(capsys, VOCABULARY, "--runs", "10", "--turns", "10")
    assert status == 0, out + err
    labels = coverage_lines(out)
    # a password, a word of a constant, a number just above a limit: random text finds none
    assert labels["password"] == labels["colour"] == labels["big_number"] == "x"
    # DecisionError never happens with usable answers
    assert labels["unclear"] == " "


def test_unusable_answers_run_the_handling_of_decision_errors(capsys):
    status, out, err = debug(
        capsys, VOCABULARY, "--runs", "10", "--turns", "10", "--unusable-answers", "0.5"
    )
    assert status == 0, out + err
    assert coverage_lines(out)["unclear"] == "x"


def test_unhandled_unusable_answers_are_failures_with_a_replay_line(capsys):
    status, out, _ = debug(
        capsys,
        bot_path("branching_bot"),
        "--runs",
        "5",
        "--turns",
        "2",
        "--unusable-answers",
        "1",
    )
    assert status == 1
    assert "DecisionError: model made no decision" in out
    assert "--unusable-answers 1.0" in out


def test_line_coverage_names_the_statements_never_run(capsys):
    status, out, _ = debug(capsys, VOCABULARY, "--runs", "3", "--turns", "3", "--seed", "1")
    assert status == 0
    match = re.search(
        r"line coverage: (\d+) of (\d+) statements of the functions in vocabulary_bot\.py ran",
        out,
    )
    assert match and int(match.group(1)) < int(match.group(2))
    never = re.search(r"never ran: lines ([\d, -]+)", out).group(1)
    lines = Path(VOCABULARY).read_text().splitlines()
    unclear = next(n for n, line in enumerate(lines, 1) if 'ADDRESS="unclear"' in line)
    assert any(
        int(first) <= unclear <= int(last or first)
        for first, _, last in (part.partition("-") for part in never.split(", "))
    )
    # with every branch taken, every statement ran (the engine's own code is not counted)
    status, out, _ = debug(
        capsys, VOCABULARY, "--runs", "20", "--turns", "12", "--unusable-answers", "0.5"
    )
    assert "statements of the functions in vocabulary_bot.py ran (100%)" in out


def test_the_vocabulary_leaves_out_docstrings_and_path_like_words():
    from autograms.cli._vocabulary import read_vocabulary

    source = (
        '"""A docstring."""\n'
        "WORDS = ('cancel', '.', '~/bots', './x')\n"
        "def f(text):\n"
        '    """Another docstring."""\n'
        "    return text == 'undo' or text.startswith('/') or float(text) > 2.5\n"
    )
    module = type("Module", (), {"WORDS": ("cancel", ".", "~/bots", "./x")})
    vocabulary = read_vocabulary(module, source)
    assert vocabulary.words == ["undo", "cancel"]
    assert "2.5" in vocabulary.numbers and "3/4" in vocabulary.numbers

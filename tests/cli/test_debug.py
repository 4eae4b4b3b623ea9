"""``autograms debug``: random trajectories in test mode, label coverage, and failures reported
with their run, turn, seed and pending frames."""

from __future__ import annotations

import json
import re

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
    # helper (it never pauses) are reached; the guarded label is not
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

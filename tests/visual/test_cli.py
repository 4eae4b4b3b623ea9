"""``autograms visualize`` as a user runs it: files written, messages and exit statuses."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from autograms.cli import visualize

from .conftest import bot_path

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = visualize.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def names(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()}


def test_writes_every_format_for_program_and_functions(capsys, tmp_path, dot_program):
    status, out, err = run(capsys, str(bot_path("quiz_returnto")), "--out", str(tmp_path))
    assert status == 0, err
    expected = {"quiz_returnto.html"} | {
        f"quiz_returnto{part}.{ext}"
        for part in ("", ".chatbot", ".run_round", ".ask_question")
        for ext in ("dot", "svg", "png")
    }
    assert names(tmp_path) == expected
    assert set(out.split()) == {str(tmp_path / name) for name in expected}
    assert err == ""


def test_format_and_function_narrow_the_output(capsys, tmp_path):
    status, _, err = run(
        capsys,
        str(bot_path("quiz_returnto")),
        "--out",
        str(tmp_path / "o"),
        "--format",
        "dot,html",
        "--function",
        "ask_question",
    )
    assert status == 0, err
    assert names(tmp_path / "o") == {"quiz_returnto.ask_question.dot", "quiz_returnto.html"}


def test_without_dot_the_dot_and_html_are_still_written(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    status, _, err = run(capsys, str(bot_path("simple_example")), "--out", str(tmp_path))
    assert status == 0
    assert "apt-get install graphviz" in err
    assert names(tmp_path) == {
        "simple_example.dot",
        "simple_example.chatbot.dot",
        "simple_example.html",
    }
    assert 'class="node"' in (tmp_path / "simple_example.html").read_text()


def test_without_dot_asking_for_pictures_fails(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    status, _, err = run(
        capsys, str(bot_path("simple_example")), "--out", str(tmp_path), "--format", "png,html"
    )
    assert status == 1
    assert "apt-get install graphviz" in err
    assert names(tmp_path) == {"simple_example.html"}


def test_problems_are_warnings(capsys, tmp_path):
    status, _, err = run(
        capsys, str(bot_path("constructs")), "--out", str(tmp_path), "--format", "dot"
    )
    assert status == 0
    assert "warning: GOTO to unknown label 'missing' in chatbot.inner (constructs.py:57)" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "No such file"),
        ("def (", "line 1"),
        ("def chatbot(): pass\n", "decorate the root function 'chatbot' with @autograms_"),
    ],
    ids=["missing", "syntax-error", "undecorated"],
)
def test_unreadable_bot_exits_2_naming_it(capsys, tmp_path, content, message):
    bot = tmp_path / "bot.py"
    if content is not None:
        bot.write_text(content)
    status, out, err = run(capsys, str(bot), "--out", str(tmp_path / "out"))
    assert status == 2
    assert err.startswith(f"autograms visualize: cannot visualise {bot}: ")
    assert message in err
    assert out == ""


def test_unknown_function_lists_the_known_ones(capsys, tmp_path):
    status, _, err = run(
        capsys, str(bot_path("quiz_returnto")), "--out", str(tmp_path), "--function", "nope"
    )
    assert status == 2
    assert "no decorated function 'nope'" in err and "known: chatbot, run_round" in err


def test_unknown_format_is_a_usage_error(capsys, tmp_path):
    with pytest.raises(SystemExit) as caught:
        visualize.main([str(bot_path("fibonacci")), "--out", str(tmp_path), "--format", "gif"])
    assert caught.value.code == 2
    assert "unknown format 'gif'; choose from dot,svg,png,pdf,html" in capsys.readouterr().err


def test_add_arguments_fits_a_subcommand_parser(tmp_path):
    parser = argparse.ArgumentParser(prog="autograms")
    sub = parser.add_subparsers(dest="command")
    visualize.add_arguments(sub.add_parser("visualize"))
    args = parser.parse_args(["visualize", "bot.py", "--out", str(tmp_path), "--format", "dot"])
    assert (args.bot, args.out, args.format, args.function) == (
        "bot.py",
        str(tmp_path),
        ("dot",),
        None,
    )


def test_runs_as_a_module(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograms.cli.visualize",
            str(bot_path("fibonacci")),
            "--out",
            str(tmp_path),
            "--format",
            "dot",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "fibonacci.dot").is_file()

"""The ``autograms`` command itself: ``python -m autograms``, the console script, the
subcommands, and ``autograms visualize`` wired to the visualiser."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from autograms import __version__
from autograms.cli.__main__ import main
from autograms.cli._bots import example_names

from .conftest import bot_path


def test_python_m_autograms_help(autograms):
    result = autograms("--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: autograms ")
    for command in ("run", "debug", "visualize"):
        assert command in result.stdout
    result = autograms("run", "--help")
    assert result.returncode == 0
    for text in ("--session FILE", "--test-mode", "--base-url URL", "/state", "/restart"):
        assert text in result.stdout


def test_the_console_script(cli_env):
    import subprocess

    script = Path(sys.executable).with_name("autograms")
    if not script.exists():
        script = shutil.which("autograms", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the autograms console script is not installed next to this interpreter")
    result = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, env=cli_env, timeout=60
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"autograms {__version__}"


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def test_visualize_writes_the_dot_of_a_bot_file(capsys, tmp_path):
    status = main(["visualize", bot_path("echo_bot"), "--out", str(tmp_path), "--format", "dot"])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert {path.name for path in tmp_path.iterdir()} == {
        "echo_bot.dot",
        "echo_bot.chatbot.dot",
        "echo_bot.ask_name.dot",
    }
    program = (tmp_path / "echo_bot.dot").read_text()
    assert program.startswith("digraph")
    for label in ("intro", "greet", "echo", "ask_name"):
        assert label in program
    assert str(tmp_path / "echo_bot.dot") in out


def test_visualize_accepts_an_example_name(capsys, tmp_path):
    names = example_names()
    if not names:
        pytest.skip("no examples installed yet")
    name = "recruiter" if "recruiter" in names else names[0]
    status = main(["visualize", name, "--out", str(tmp_path), "--format", "dot"])
    _, err = capsys.readouterr()
    assert status == 0, err
    assert (tmp_path / f"{name}.dot").read_text().startswith("digraph")


def test_visualize_an_unknown_example(capsys, tmp_path):
    status = main(["visualize", "no_such_example", "--out", str(tmp_path)])
    assert status == 2
    assert "unknown example 'no_such_example'" in capsys.readouterr().err

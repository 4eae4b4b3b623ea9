"""Outside tests (issue 16): AutoGRAMS 0.6.0's script flags with `autograms run|debug|visualize`.

The bot is written here; the commands are the original README's, with `autograms run|debug|
visualize` for `python run_autogram.py|debug_autogram.py|visualize_autogram.py`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BOT = """
from autograms import autograms_function
from autograms.functional import reply, yes_or_no


@autograms_function()
def chatbot():
    name = reply("What is your name?", ADDRESS="ask")
    while True:
        if yes_or_no("Is the user happy?"):
            reply(f"glad, {name}", ADDRESS="glad")
        else:
            reply(f"sorry, {name}", ADDRESS="sorry")
        name = name + "!"
"""


def _autograms() -> list[str]:
    script = Path(sys.executable).with_name("autograms")
    if script.exists():
        return [os.fspath(script)]
    return [sys.executable, "-m", "autograms"]


def _run(args, cwd, stdin="", timeout=60):
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env["HOME"] = os.fspath(cwd)  # saved conversations go under this test's folder
    return subprocess.run(
        [*_autograms(), *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


@pytest.fixture
def bot_file(tmp_path):
    path = tmp_path / "mybot.py"
    path.write_text(BOT)
    return path


def test_debug_takes_num_simulations_and_turns_per_simulation(bot_file, tmp_path):
    done = _run(
        [
            "debug",
            "--autogram_file",
            bot_file.name,
            "--num_simulations",
            "2",
            "--turns_per_simulation",
            "3",
        ],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_run_autogram_file_with_saveload_file_saves_and_continues(bot_file, tmp_path):
    args = ["run", "--autogram_file", bot_file.name, "--test-mode", "--saveload_file", "s.txt"]
    first = _run(args, tmp_path, stdin="Ada\n")
    assert first.returncode == 0, first.stderr[-2000:]
    assert "Ada" in first.stdout
    assert (tmp_path / "s.txt").exists()
    second = _run(args, tmp_path, stdin="more\n")
    assert second.returncode == 0, second.stderr[-2000:]
    assert "Ada!" in second.stdout  # the program continued where it paused


def test_visualize_save_folder_and_graph_format_write_static_and_interactive_graphs(
    bot_file, tmp_path
):
    done = _run(
        [
            "visualize",
            "--autogram_file",
            bot_file.name,
            "--save_folder",
            "graphs",
            "--graph_format",
            "dot",
        ],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    written = sorted(p.name for p in (tmp_path / "graphs").iterdir())
    assert any(name.endswith(".dot") for name in written)
    assert any(name.endswith(".html") for name in written), written


def test_visualize_save_folder_alone_writes_an_interactive_page(bot_file, tmp_path):
    done = _run(
        ["visualize", "--autogram_file", bot_file.name, "--save_folder", "graphs"],
        tmp_path,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]  # 1: no graphviz for png/svg
    written = sorted(p.name for p in (tmp_path / "graphs").iterdir())
    assert any(name.endswith(".html") for name in written), written

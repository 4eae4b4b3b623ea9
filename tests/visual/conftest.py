"""Fixtures of the visualiser tests: the fixture bots, graphviz and Chromium when present, and a
folder for artifacts (screenshots, drawings) that is listed at the end of the run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from autograms._visual import ProgramGraph, read_bot, run_dot, to_dot, to_html, to_svg, views

BOTS = Path(__file__).parent / "bots"
BOT_NAMES = (
    "simple_example",
    "fibonacci",
    "recruiter",
    "quiz_returnto",
    "constructs",
    "script_injection",
)
_ARTIFACTS: list[Path] = []


def bot_path(name: str) -> Path:
    """The file of the fixture bot `name`."""
    return BOTS / f"{name}.py"


def load(name: str) -> ProgramGraph:
    """The graph of the fixture bot `name`."""
    return read_bot(bot_path(name))


@pytest.fixture(scope="session")
def dot_program() -> str:
    """Path of graphviz's ``dot``; the test is skipped when it is not installed."""
    path = shutil.which("dot")
    if path is None:
        pytest.skip("graphviz's 'dot' is not installed (apt-get install graphviz)")
    return path


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder for files kept after the run: $AUTOGRAMS_TEST_ARTIFACTS, else a pytest temp
    folder (pytest keeps the last three runs)."""
    chosen = os.environ.get("AUTOGRAMS_TEST_ARTIFACTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("visual-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def keep(path: Path) -> Path:
    """Remember `path` to list it in the run's summary."""
    _ARTIFACTS.append(path)
    return path


def pytest_terminal_summary(terminalreporter) -> None:
    if _ARTIFACTS:
        terminalreporter.section("visualiser artifacts")
        for path in _ARTIFACTS:
            terminalreporter.write_line(str(path))


def page_for(name: str, dot: str | None) -> str:
    """The HTML page of the fixture bot `name`, drawn by `dot` or, if None, built in."""
    program = load(name)
    pictures = []
    for number, view in enumerate(views(program)):
        prefix = f"v{number}"
        if dot is None:
            pictures.append((view, to_svg(view, prefix)))
        else:
            svg = run_dot(dot, to_dot(view, prefix), "svg", view.name).decode("utf-8")
            pictures.append((view, svg))
    return to_html(program, pictures)

"""Fixtures of the ``autograms`` command tests: the test bots, a clean environment (no key, no
base URL, caches in a temporary folder), and ways to start the command in a pseudo-terminal
(pexpect) or as a plain subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOTS = Path(__file__).parent / "bots"
#: seconds any one expected output may take (two test workers share two cores)
TIMEOUT = 60
#: variables that would make `autograms run` pick a model or sign sessions
_MODEL_VARIABLES = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AUTOGRAMS_SESSION_KEY",
    "AUTOGRAMS_LOCAL_MODEL",
    "AUTOGRAMS_LLAMA_SERVER",
)


def bot_path(name: str) -> str:
    """The file of the test bot `name`."""
    return str(BOTS / f"{name}.py")


def hiding_packages(
    env: dict[str, str], folder: Path, packages: tuple[str, ...], *, drop: tuple[str, ...] = ()
) -> dict[str, str]:
    """`env` in which the top-level `packages` cannot be imported (a ``sitecustomize`` in
    `folder` refuses them) and the PYTHONPATH entries `drop` are removed."""
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(
        "import sys\n"
        "class _Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {packages!r}:\n"
        "            raise ImportError(name + ' is hidden by the test')\n"
        "sys.meta_path.insert(0, _Block())\n"
    )
    kept = [entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry]
    kept = [entry for entry in kept if entry not in drop]
    return {**env, "PYTHONPATH": os.pathsep.join([str(folder), *kept])}


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a command under test: no model settings, caches (readline history,
    llama-server) under the test's folder, a dumb terminal."""
    env = {k: v for k, v in os.environ.items() if k not in _MODEL_VARIABLES}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), TERM="dumb", PYTHONUNBUFFERED="1")
    return env


@pytest.fixture
def spawn(cli_env: dict[str, str]) -> Iterator[Callable[..., Any]]:
    """``spawn("run", BOT, ...)``: ``python -m autograms ...`` in a pseudo-terminal."""
    pexpect = pytest.importorskip(
        "pexpect", reason="pexpect is not installed: it belongs to the test extra"
    )
    children = []

    def start(*argv: str, env: dict[str, str] | None = None) -> Any:
        child = pexpect.spawn(
            sys.executable,
            ["-m", "autograms", *argv],
            cwd=str(ROOT),
            env=env or cli_env,
            encoding="utf-8",
            timeout=TIMEOUT,
            dimensions=(50, 200),
        )
        children.append(child)
        return child

    yield start
    for child in children:
        if child.isalive():
            child.terminate(force=True)


@pytest.fixture
def autograms(cli_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``autograms("run", BOT, ..., input=...)``: ``python -m autograms ...`` as a subprocess
    (stdin a pipe, not a terminal)."""

    def call(
        *argv: str,
        input: str | None = None,  # noqa: A002
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "autograms", *argv],
            cwd=str(ROOT),
            env=env or cli_env,
            input=input,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )

    return call

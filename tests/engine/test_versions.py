"""The engine refuses interpreters whose bytecode it does not know, at import, clearly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYENV_ROOT = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))


def test_unknown_minor_version_is_refused_at_import() -> None:
    code = (
        "import sys\n"
        "sys.version_info = (3, 14, 0, 'final', 0)\n"
        "try:\n"
        "    import autograms._frames\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("UnsupportedPythonError cpython 3.14 is not supported")
    assert "3.11, 3.12, 3.13" in result.stdout


def test_real_older_interpreter_gets_the_same_clear_error() -> None:
    python = PYENV_ROOT / "versions" / "3.10.13" / "bin" / "python"
    if not python.exists():
        pytest.skip(f"{python} is not installed")
    code = "import autograms._frames"
    result = subprocess.run(
        [str(python), "-c", code],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert result.returncode == 1
    assert "UnsupportedPythonError: cpython 3.10 is not supported" in result.stderr

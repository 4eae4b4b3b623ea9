"""Which tests run on every supported CPython and which on the primary one only.

The engine works on bytecode, and bytecode changes with every CPython release: the engine, the
dialog layer, sessions, deploys, examples and compatibility tests run every bot through it, so
they run on 3.11, 3.12 and 3.13. The layers above (session stores, the HTTP service, the CLI's
process and terminal handling, model clients, drawings, packaging, benchmark smoke runs) move
text and session bytes around without depending on the interpreter's bytecode; they run once, on
the primary CPython, which keeps `make test` inside CI's time. `make test` deselects them on the
other interpreters with `-m "not one_python"`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

#: The engine's code cache (autograms/_frames/code_cache.py) of this test run: empty at the
#: start, so the run builds every function once and its fresh processes load them from it.
_CODE_CACHE = tempfile.mkdtemp(prefix="autograms-code-cache-")
os.environ["AUTOGRAMS_CODE_CACHE"] = _CODE_CACHE

#: beginnings of paths under tests/ (a folder with its "/", a file, a file-name prefix) whose
#: tests run on one CPython
ONE_PYTHON_PATHS = (
    "benchmarks/",
    "cli/",
    "models/",
    "serve/",
    "stores/",
    "visual/",
    "test_benchmarks_smoke.py",
    "test_packaging.py",
    "test_lint.py",
    "outside/test_serve_",
    "outside/test_stores_",
)


def _runs_on_one_python(path: Path) -> bool:
    return path.resolve().relative_to(TESTS).as_posix().startswith(ONE_PYTHON_PATHS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _runs_on_one_python(item.path):
            item.add_marker(pytest.mark.one_python)


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_CODE_CACHE, ignore_errors=True)

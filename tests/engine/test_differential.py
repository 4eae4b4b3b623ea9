"""Every case, instrumented and resumed from a pickled snapshot at every pause, must print and
return exactly what the same program does when run without any pausing machinery -- resumed
in the same process and with a fresh interpreter per turn. Each run is its own subprocess, so
an interpreter crash is a failed test, not a dead test run."""

from __future__ import annotations

import functools
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CASE_MODULES = sorted(
    path.stem
    for path in (ROOT / "tests" / "engine" / "cases").glob("*.py")
    if not path.stem.startswith("_")
)


def _all_cases() -> list[tuple[str, str]]:
    pairs = []
    for module in CASE_MODULES:
        cases = importlib.import_module(f"tests.engine.cases.{module}").CASES
        pairs.extend((module, name) for name in cases)
    return pairs


@functools.cache
def transcript(module: str, name: str, mode: str) -> list:
    env = dict(os.environ)
    env.pop("AG_ENGINE_MODE", None)
    if mode == "reference":
        env["AG_ENGINE_MODE"] = "reference"
    result = subprocess.run(
        [sys.executable, "-m", "tests.engine.harness", "run", module, name, mode],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"{mode} run of {module}.{name} exited with {result.returncode}\n"
        f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-5000:]}"
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("mode", ["in_process", "fresh_process"])
@pytest.mark.parametrize(("module", "name"), _all_cases())
def test_resumed_transcript_equals_reference(module: str, name: str, mode: str) -> None:
    case = importlib.import_module(f"tests.engine.cases.{module}").CASES[name]
    expected = case.expected or transcript(module, name, "reference")
    assert any(event[0] == "pause" for event in expected), "a case must pause at least once"
    assert transcript(module, name, mode) == expected

"""The per-function instruction benchmark runs to completion and names the library's functions
with their counts (counts are never checked against a target)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
@pytest.mark.skipif(sys.version_info < (3, 12), reason="perf trampolines need CPython 3.12")
def test_quick_run_counts_the_turns_functions() -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.turn_functions", "--quick", "--top", "400"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stderr
    rows = {
        line.split("|")[1].strip(): int(line.split("|")[2].replace(",", ""))
        for line in completed.stdout.splitlines()
        if line.startswith("| ") and "---" not in line and "function" not in line
    }
    reply = rows["Autogram.reply:autograms/autogram.py"]
    serialize = rows["Autogram.serialize:autograms/autogram.py"]
    assert reply > serialize > 10_000, completed.stdout
    # a function's count includes its callees': the pause is part of the reply
    assert rows["pause:autograms/_frames/snapshot.py"] < reply, completed.stdout

"""The instruction-count benchmark runs to completion and counts every part of every turn
(counts are never checked against a target)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_quick_run_counts_each_part_of_the_turn() -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.turn_instructions", "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr
    rows = {
        line.split("|")[1].strip(): line.split("|")[2].strip()
        for line in completed.stdout.splitlines()
        if line.startswith("| ") and "---" not in line and "part" not in line
    }
    assert set(rows) == {"deserialize", "reply", "serialize", "whole turn"}, completed.stdout
    counts = {name: int(value.replace(",", "")) for name, value in rows.items()}
    assert all(count > 10_000 for count in counts.values()), counts

"""The per-turn spans benchmark runs to completion and names every kind of turn (timings are
never checked)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_groups_the_turns_by_the_decision_they_made() -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.turn_spans", "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    kinds = {
        line.split("|")[1].strip() for line in completed.stdout.splitlines()[4:] if "%" in line
    }
    assert {"no decision", "yes_or_no", "multiple_choice"} <= kinds, completed.stdout
    assert "slowest tenth (4 turns" in completed.stdout

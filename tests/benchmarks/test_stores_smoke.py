"""The store benchmark runs to completion on SQLite and writes its tables (LangGraph's row is
skipped when its venv is not installed; figures are never checked)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_a_small_run_writes_the_table_with_no_errors(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(ROOT)
    out = tmp_path / "stores"
    command = [
        sys.executable, "-m", "benchmarks.stores", "--turns", "5", "--warmup", "2",
        "--sessions", "2", "--processes", "1", "--start-delay", "0", "--stores", "sqlite", "--no-install",
        "--out", str(out),
    ]  # fmt: skip
    completed = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr
    rows = json.loads(Path(f"{out}.json").read_text())["rows"]
    ran = {row["system"]: row for row in rows if "skipped" not in row}
    assert {"autograms", "raw", "paired", "paired-optimistic"} <= set(ran)
    assert all(row["errors"] == 0 and row["turns"] == 5 for row in ran.values())
    # the paired run times the store's part of each turn and the raw write beside it
    assert {"program", "claim", "commit", "store", "raw"} <= set(ran["paired"]["spans_p50_ms"])
    assert ran["paired"]["store_over_raw_p50"] > 0
    table = Path(f"{out}.md").read_text()
    assert "## SQLite" in table and "| 1 | autograms TurnRunner |" in table
    assert "The store path apart from the program" in table and "| 1 | optimistic |" in table


def test_the_counts_run_on_sqlite_and_name_the_pages_each_turn_writes(tmp_path: Path) -> None:
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, "-m", "benchmarks.stores.counts", "--turns", "5",
               "--stores", "sqlite"]  # fmt: skip
    completed = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr
    figures: dict[str, dict[str, float]] = {}  # "sqlite store:", then "  name value" lines
    shown: dict[str, float] = {}
    for line in completed.stdout.splitlines():
        if line.startswith("  "):
            name, value = line.strip().rsplit(" ", 1)
            shown[name] = float(value)
        else:
            shown = figures[line.removesuffix(":")] = {}
    assert set(figures) == {"sqlite store", "sqlite optimistic", "sqlite raw"}
    store, optimistic = figures["sqlite store"], figures["sqlite optimistic"]
    assert store["fdatasync"] > 0.5 and store["statements"] > 3
    assert store["frames autograms_turns"] > 0  # pages named by their b-tree
    assert optimistic["statements"] < store["statements"]  # no claim

"""The serve benchmark runs to completion on SQLite and writes its tables, with the model's own
figures taken in the same run, a turn timed step by step and its CPU time part by part (figures
are never checked)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_small_run_writes_the_table_with_no_errors(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(ROOT)
    out = tmp_path / "serve"
    command = [
        sys.executable, "-m", "benchmarks.serve", "--clients", "1", "--turns", "2",
        "--seconds", "20", "--token-ms", "1", "--workers", "1", "--stores", "sqlite",
        "--bots", "streamer", "--span-turns", "2", "--cpu-turns", "2", "--out", str(out),
    ]  # fmt: skip
    completed = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    (row,) = json.loads(Path(f"{out}.json").read_text())["rows"]
    assert row["errors"] == 0 and row["turns"] == 2 and row["own_turns"] == 2
    assert row["added_ttft_p50_ms"] is not None and row["added_last_p50_ms"] is not None
    table = Path(f"{out}.md").read_text()
    assert "| sqlite | 1 | streamer |" in table and "| last piece added |" in table
    assert "| committed |" in table  # the step-by-step table of one client
    assert "| commit | turn |" in table and "| loop, other | loop |" in table  # CPU per part
    assert "Traceback" not in completed.stderr

"""The engine benchmarks run to completion and print their table. Timings are never checked:
`--quick` figures are rough, and a missed target is information, not a failure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = "| Benchmark | Result | Target | Status |"
SECTIONS = ("call overhead:", "warm resume", "snapshot size", "instrument a", "twin build", "cold:")


def _run_quick(results: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.engine", "--quick", "--results", str(results)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_quick_run_prints_and_saves_the_table(tmp_path: Path) -> None:
    completed = _run_quick(tmp_path)
    assert completed.returncode == 0, completed.stderr
    table = completed.stdout
    assert HEADER in table
    for section in SECTIONS:
        assert section in table, f"no {section!r} row in:\n{table}"
    rows = [line for line in table.splitlines() if line.startswith("| ") and line != HEADER]
    assert rows and all(row.endswith(("| PASS |", "| MISS |", "| info |")) for row in rows)
    saved = list(tmp_path.glob("engine-*.md"))
    assert len(saved) == 1 and saved[0].read_text(encoding="utf-8") == table


def test_cold_run_rewrites_only_the_cold_rows_of_the_saved_table(tmp_path: Path) -> None:
    from benchmarks.engine import Row, update_rows

    table = "\n".join(
        [
            "## Engine benchmarks",
            "",
            "Heading.",
            "",
            HEADER,
            "|---|---|---|---|",
            "| call overhead: tiny function | 1.0x | ≤ 1.05x | PASS |",
            "| cold: import | 70 ms | — | info |",
            "",
        ]
    )
    fresh = [Row("cold: import", "40 ms"), Row("cold session: total", "49 ms", "≤ 50 ms", True)]
    once = update_rows(table, fresh, "Cold rows re-measured now; load average 1.")
    twice = update_rows(once, fresh, "Cold rows re-measured later; load average 2.")
    assert twice.splitlines() == [
        "## Engine benchmarks",
        "",
        "Heading.",
        "",
        "Cold rows re-measured later; load average 2.",
        "",
        HEADER,
        "|---|---|---|---|",
        "| call overhead: tiny function | 1.0x | ≤ 1.05x | PASS |",
        "| cold: import | 40 ms | — | info |",
        "| cold session: total | 49 ms | ≤ 50 ms | PASS |",
    ]

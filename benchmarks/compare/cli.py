"""`python -m benchmarks.compare`: set up the peers, run every scenario on every framework in
alternating rounds, and write benchmarks/results/compare.{md,json,png}."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import report
from .environments import (
    PACKAGE_DIR,
    REPO_ROOT,
    Environment,
    default_base_python,
    default_bench_home,
    prepare_ours,
    prepare_venv,
)
from .execute import run_all
from .scenarios import CONTENDERS, Scenario, select
from .summary import summarize

PEER_VENVS = ("autograms", "langgraph", "plot")
TITLE = "autograms vs AutoGRAMS 0.5.3 vs LangGraph"


def parse_options(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few turns, one round (smoke)")
    parser.add_argument("--rounds", type=int, help="rounds of alternating runs (default 3)")
    parser.add_argument(
        "--scenarios",
        nargs="+",
        help="scenarios such as 1 3 5, or a comma list such as 1,3,5 (default: all)",
    )
    parser.add_argument(
        "--no-install", action="store_true", help="use only the venvs already installed"
    )
    parser.add_argument("--out-dir", type=Path, default=REPO_ROOT / "benchmarks" / "results")
    parser.add_argument("--ours-python", type=Path, default=Path(sys.executable))
    parser.add_argument("--base-python", type=Path, default=None)
    parser.add_argument("--bench-home", type=Path, default=None)
    parser.add_argument("--keep-work", action="store_true", help="keep session files and dbs")
    options = parser.parse_args(argv)
    options.scenarios = ",".join(options.scenarios) if options.scenarios else None
    options.rounds = options.rounds or (1 if options.quick else 3)
    options.base_python = options.base_python or default_base_python()
    options.bench_home = (options.bench_home or default_bench_home()).expanduser()
    return options


def prepare(options: argparse.Namespace, work_dir: Path) -> dict[str, Environment]:
    """The project's interpreter and the peer venvs (installed unless --no-install)."""
    environments = {"ours": prepare_ours(options.ours_python, work_dir)}
    for key in PEER_VENVS:
        environments[key] = prepare_venv(
            options.bench_home, key, options.base_python, install=not options.no_install
        )
    for key, environment in environments.items():
        state = environment.description if environment.available else environment.reason
        status = "ready" if environment.available else "unavailable"
        sys.stderr.write(f"{key}: {status} ({state})\n")
    return environments


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (the CPUs are shared)."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def run_meta(options: argparse.Namespace, argv: list[str]) -> dict[str, str]:
    """Facts printed at the top of the report, taken when the run starts."""
    reproduce = "make bench-compare"
    if options.quick:
        reproduce = "python -m benchmarks.compare --quick"
    return {
        "title": TITLE,
        "reproduce": reproduce,
        "command": " ".join(["python -m benchmarks.compare", *argv]),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} CPUs, {platform.platform()}",
        "load_start": load_average(),
        "rounds": str(options.rounds),
        "mode": "quick (smoke test: few turns, not meaningful)" if options.quick else "full",
    }


def results_json(
    scenarios: tuple[Scenario, ...],
    summaries: dict,
    environments: dict[str, Environment],
    meta: dict[str, str],
    quick: bool,
) -> dict:
    """Everything the figure and a reader of compare.json need."""
    return {
        "meta": meta,
        "labels": {key: contender.label for key, contender in CONTENDERS.items()},
        "environments": {
            key: {
                "python": env.python and str(env.python),
                "about": env.description,
                "reason": env.reason,
            }
            for key, env in environments.items()
        },
        "scenarios": [
            {"key": s.key, "title": s.heading(quick), "mode": s.mode, "summaries": summaries[s.key]}
            for s in scenarios
        ],
    }


def draw(plot: Environment, source: Path, target: Path) -> str | None:
    """Run figure.py in the plotting venv; the reason when there is no figure."""
    if not plot.available:
        return f"plotting venv unavailable ({plot.reason})"
    command = [str(plot.python), str(PACKAGE_DIR / "figure.py"), str(source), str(target)]
    proc = subprocess.run(command, capture_output=True, text=True, env=plot.child_env())
    if proc.returncode != 0:
        return "figure failed: " + " | ".join(proc.stderr.strip().splitlines()[-3:])
    return None


def write_outputs(
    options: argparse.Namespace,
    scenarios: tuple[Scenario, ...],
    summaries: dict,
    environments: dict[str, Environment],
    meta: dict[str, str],
) -> str:
    """Write compare.json, compare.png and compare.md; return the Markdown."""
    options.out_dir.mkdir(parents=True, exist_ok=True)
    source = options.out_dir / "compare.json"
    payload = results_json(scenarios, summaries, environments, meta, options.quick)
    source.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    figure_problem = draw(environments["plot"], source, options.out_dir / "compare.png")
    markdown = report.render(
        scenarios, summaries, environments, meta, figure_problem, options.quick
    )
    (options.out_dir / "compare.md").write_text(markdown)
    return markdown


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; always writes a report, even when some side cannot run."""
    argv = sys.argv[1:] if argv is None else argv
    options = parse_options(argv)
    scenarios = select(options.scenarios)
    options.bench_home.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix="run-", dir=options.bench_home))
    meta = run_meta(options, argv)
    try:
        environments = prepare(options, work_dir)
        runs = run_all(scenarios, environments, options.rounds, options.quick, work_dir)
        meta["load_end"] = load_average()
        summaries = {scenario.key: summarize(scenario, runs) for scenario in scenarios}
        markdown = write_outputs(options, scenarios, summaries, environments, meta)
    finally:
        if not options.keep_work:
            shutil.rmtree(work_dir, ignore_errors=True)
    sys.stdout.write(markdown)
    sys.stderr.write(f"wrote {options.out_dir}/compare.md, compare.json, compare.png\n")
    return 0

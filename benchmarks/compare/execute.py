"""Run the scenarios: every (scenario, contender) run is a runner process in the contender's
environment, and contenders alternate inside each round (ABC, BCA, CAB, ...) to cancel drift.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .environments import RUNNERS_DIR, Environment
from .scenarios import CONTENDERS, Contender, Scenario

#: Seconds one runner process may take before it is reported as failed.
RUN_TIMEOUT_S = 1800


@dataclass(frozen=True, slots=True)
class Run:
    """The outcome of one runner process."""

    scenario: str
    contender: str
    round: int
    #: The runner's JSON result, or None when it failed.
    data: dict | None
    #: Why it failed (the runner's last stderr lines).
    error: str | None = None


def rotated(keys: tuple[str, ...], round_index: int) -> tuple[str, ...]:
    """`keys` rotated by `round_index`, so each contender runs first once in a while."""
    shift = round_index % len(keys) if keys else 0
    return keys[shift:] + keys[:shift]


def run_one(
    scenario: Scenario,
    contender: Contender,
    environment: Environment,
    round_index: int,
    quick: bool,
    work_dir: Path,
) -> Run:
    """Run one runner process and parse its last stdout line."""
    work = work_dir / contender.key
    work.mkdir(parents=True, exist_ok=True)
    command = [
        str(environment.python),
        str(RUNNERS_DIR / contender.runner),
        *scenario.runner_args(quick),
        "--variant",
        contender.variant,
        "--work-dir",
        str(work),
    ]
    try:
        proc = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=environment.child_env(),
            cwd=work,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Run(scenario.key, contender.key, round_index, None, f"timeout {RUN_TIMEOUT_S}s")
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:]) or f"exit {proc.returncode}"
        return Run(scenario.key, contender.key, round_index, None, tail)
    return Run(scenario.key, contender.key, round_index, json.loads(lines[-1]))


def run_all(
    scenarios: tuple[Scenario, ...],
    environments: dict[str, Environment],
    rounds: int,
    quick: bool,
    work_dir: Path,
) -> list[Run]:
    """Every round runs every scenario with its available contenders in rotated order."""
    runs: list[Run] = []
    for round_index in range(rounds):
        for scenario in scenarios:
            keys = tuple(
                key
                for key in scenario.contenders
                if environments[CONTENDERS[key].environment].available
            )
            for key in rotated(keys, round_index):
                contender = CONTENDERS[key]
                environment = environments[contender.environment]
                run = run_one(scenario, contender, environment, round_index, quick, work_dir)
                sys.stderr.write(progress_line(run, rounds) + "\n")
                runs.append(run)
    return runs


def progress_line(run: Run, rounds: int) -> str:
    """One line per finished run."""
    head = f"[round {run.round + 1}/{rounds}] scenario {run.scenario:<3} {run.contender:<17}"
    if run.data is None:
        return f"{head} FAILED: {run.error}"
    return f"{head} ok"

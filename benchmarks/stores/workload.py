"""What every worker shares (standard library only: it also runs in LangGraph's venv): the
plan it is given, the conversation it drives, and the figures it reports.

A worker prepares its sessions, runs a few unmeasured warm-up turns, waits for the common
start time (so the processes of one run overlap), then runs its measured turns round-robin
over its sessions and prints one JSON line: turn latencies, start and end, errors, and the
parts of each turn a worker timed (``spans``: name -> milliseconds per measured turn).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

RUNNERS = Path(__file__).resolve().parents[1] / "compare" / "runners"
sys.path.insert(0, str(RUNNERS))  # dialog_script, api_bots, graphs: the comparison's bots

import dialog_script  # noqa: E402


def plan_from_argv() -> dict:
    return json.loads(sys.argv[1])


def user_text(turn: int) -> str:
    """The simulated user's reply on turn `turn` (1-based) of a session."""
    return dialog_script.user_reply(turn)


def run(plan: dict, turn: Callable[[str, int], dict | None]) -> None:
    """Drive `turn(session, n)` over the plan's sessions and print the figures; a turn may
    return the milliseconds it spent in each of its parts (kept for the measured turns)."""
    sessions = [f"p{plan['index']}-s{number}" for number in range(plan["sessions"])]
    counts = dict.fromkeys(sessions, 0)

    def next_turn(session: str) -> None:
        counts[session] += 1
        return turn(session, counts[session])

    for number in range(plan["warmup"]):
        next_turn(sessions[number % len(sessions)])
    time.sleep(max(0.0, plan["start_at"] - time.time()))
    latencies, errors, spans = [], 0, {}
    began = time.time()
    for number in range(plan["turns"]):
        clock = time.perf_counter()
        try:
            parts = next_turn(sessions[number % len(sessions)])
        except Exception as error:  # reported, never hidden
            errors += 1
            sys.stderr.write(f"turn failed: {type(error).__name__}: {error}\n")
            parts = None
        latencies.append(time.perf_counter() - clock)
        for name, milliseconds in (parts or {}).items():
            spans.setdefault(name, []).append(milliseconds)
    result = {
        "latencies": latencies, "start": began, "end": time.time(), "errors": errors,
        "spans": spans,
    }  # fmt: skip
    sys.stdout.write(json.dumps(result) + "\n")

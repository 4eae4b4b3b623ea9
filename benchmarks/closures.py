"""A conversation whose paused frames hold closures and comprehensions (issue 11), against the
same conversation without them: serialize → deserialize → reply, turn after turn.

    python -m benchmarks.closures [--turns N] [--quick] [--results DIR]

The bot is 4 decorated frames deep; the third has ``nums = [tid * k for k in range(4)]`` and a
nested function over a local. Each variant runs in its own process. Figures are CPU time per
turn (`time.thread_time`, collector on): p50 and p99 over turns 10-20 and over the last ten
turns (they should be alike: no cliff, no growth beyond the conversation's own), the session
size, and whether dill was ever imported. Information only: nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ._timing import CLOCK, load_average

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
VARIANTS = {"closures": "with closures and comprehensions", "plain": "without (comparison)"}
#: "Flat" (issue 11): the last ten turns' median CPU time at most this many times turns 10-20's.
FLAT_LIMIT = 1.2


def run_variant(variant: str, turns: int) -> dict:
    """Run one bot for `turns` resumed turns in this process; per-turn CPU seconds and sizes."""
    from autograms import Autogram

    from ._closure_bots import BOTS

    autogram = Autogram(root_function=BOTS[variant], test_mode=True)
    _, memory = autogram.reply()
    blob = autogram.serialize(memory)
    seconds, sizes = [], []
    for _ in range(turns):
        start = CLOCK()
        memory = autogram.deserialize(blob)
        _, memory = autogram.reply("next", memory_object=memory)
        blob = autogram.serialize(memory)
        seconds.append(CLOCK() - start)
        sizes.append(len(blob))
    return {"seconds": seconds, "sizes": sizes, "dill": "dill" in sys.modules}


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _window(seconds: Sequence[float], first: int, last: int) -> str:
    part = seconds[first:last]
    p50, p99 = statistics.median(part), _percentile(part, 0.99)
    return f"{p50 * 1e3:.2f} / {p99 * 1e3:.2f} ms"


def _measure(variant: str, turns: int) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "benchmarks.closures", "--variant", variant]
    completed = subprocess.run(
        [*command, "--turns", str(turns)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the {variant} run failed:\n{completed.stderr}")
    return json.loads(completed.stdout)


def render(results: dict[str, dict], turns: int) -> str:
    early, late = (10, 21), (turns - 10, turns)
    lines = [
        f"## Closures benchmark: CPython {platform.python_version()}",
        "",
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{time.strftime('%Y-%m-%d')}. {turns:,} turns of serialize → deserialize → reply, "
        "4 frames deep; CPU time per turn (`time.thread_time`), p50 / p99. Load average at "
        f"the end: {load_average()}.",
        "",
        f"| Paused frames | turns {early[0]}–{early[1] - 1} | turns {late[0] + 1}–{late[1]} "
        f"| session at turn {early[0]} / {turns:,} | dill imported |",
        "|---|---|---|---|---|",
    ]
    for variant, label in VARIANTS.items():
        result = results[variant]
        seconds, sizes = result["seconds"], result["sizes"]
        lines.append(
            f"| {label} | {_window(seconds, *early)} | {_window(seconds, *late)} "
            f"| {sizes[early[0]]:,} B / {sizes[-1]:,} B | {'yes' if result['dill'] else 'no'} |"
        )
    lines += ["", "| Target | Measured | Status |", "|---|---|---|"]
    for variant, label in VARIANTS.items():
        seconds = results[variant]["seconds"]
        growth = statistics.median(seconds[late[0] : late[1]]) / statistics.median(
            seconds[early[0] : early[1]]
        )
        status = "PASS" if growth <= FLAT_LIMIT else "MISS"
        lines.append(
            f"| flat turn cost {label}: turns {late[0] + 1}–{late[1]} ÷ turns "
            f"{early[0]}–{early[1] - 1} ≤ {FLAT_LIMIT}× | {growth:.2f}× | {status} |"
        )
    return "\n".join(lines) + "\n"


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.closures",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--turns", type=int, default=1000, help="resumed turns (default 1,000)")
    parser.add_argument("--quick", action="store_true", help="30 turns; saves no results")
    parser.add_argument("--results", type=Path, default=None, help="where to save the table")
    parser.add_argument("--variant", choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    turns = 30 if arguments.quick else arguments.turns
    if arguments.variant:
        print(json.dumps(run_variant(arguments.variant, turns)))
        return 0
    table = render({variant: _measure(variant, turns) for variant in VARIANTS}, turns)
    print(table)
    directory = arguments.results or (None if arguments.quick else RESULTS)
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"closures-{platform.python_version()}.md").write_text(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Instructions per turn of scenario 1, by part: a figure that a loaded machine does not move.

    python -m benchmarks.turn_instructions [--warm N] [--turns N] [--quick]

Runs the recruiter of ``make bench-compare``'s scenario 1 (``benchmarks/compare/runners``) in a
child process under ``valgrind --tool=callgrind``, as a stateless server does: deserialize →
reply → serialize every turn. After `--warm` turns, each of the next `--turns` turns calls
``os.getppid()`` between its parts, and callgrind (``--dump-before=getppid``) writes the
instructions executed since the last call, so each part of each turn is counted alone. The
table gives the median and mean per part (the median turn is a turn without a decision, as in
scenario 1). Compare two versions of the code by these counts: wall or CPU time on a shared
machine moves by more than a change of a few percent. Under valgrind a ``rep movsb`` copy
counts one instruction per byte, so copies of the session text weigh more here than in time.
Information only; needs valgrind.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

RUNNERS = Path(__file__).resolve().parent / "compare" / "runners"
ROOT = Path(__file__).resolve().parents[1]
PARTS = ("deserialize", "reply", "serialize")


def child(warm: int, turns: int) -> None:
    """The measured process: `warm` turns, then `turns` turns with a marker between parts."""
    sys.path.insert(0, str(RUNNERS))
    import api_bots  # the runners' directory is on sys.path only now
    import dialog_script

    from autograms import Autogram, AutogramConfig

    autogram = Autogram(api_bots.recruiter, AutogramConfig(), test_mode=True)
    _, memory = autogram.reply()
    text = autogram.serialize(memory)
    mark = os.getppid
    for turn in range(1, warm + turns + 1):
        measured = turn > warm
        if measured:
            mark()
        memory = autogram.deserialize(text)
        if measured:
            mark()
        _, memory = autogram.reply(dialog_script.user_reply(turn), memory_object=memory)
        if measured:
            mark()
        text = autogram.serialize(memory)
    mark()


def measure(warm: int, turns: int) -> list[tuple[int, int, int]]:
    """(deserialize, reply, serialize) instructions of each measured turn."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="turn-instructions-") as folder:
        command = [
            valgrind,
            "--tool=callgrind",
            "--dump-before=getppid",
            f"--callgrind-out-file={folder}/cg.out",
            sys.executable,
            "-m",
            "benchmarks.turn_instructions",
            "--child",
            f"--warm={warm}",
            f"--turns={turns}",
        ]
        completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        if completed.returncode != 0:
            raise SystemExit(f"the measured process failed:\n{completed.stderr[-3000:]}")
        dumps = sorted(Path(folder).glob("cg.out.*"), key=lambda path: int(path.suffix[1:]))
        counts = [_total(path) for path in dumps]
    # dump 1 is everything before the first marker; then one dump per part of each turn
    parts = counts[1 : 1 + 3 * turns]
    if len(parts) != 3 * turns:
        raise SystemExit(f"expected {3 * turns} dumps after the first, found {len(parts)}")
    return [(parts[3 * n], parts[3 * n + 1], parts[3 * n + 2]) for n in range(turns)]


def _total(path: Path) -> int:
    """The instructions a callgrind dump counts."""
    with path.open() as stream:
        for line in stream:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise SystemExit(f"{path} has no total")


def report(turns: Sequence[tuple[int, int, int]]) -> str:
    """The table: median and mean instructions per part and per turn."""
    lines = [
        "| part | median (instructions) | mean (instructions) |",
        "| --- | --- | --- |",
    ]
    columns = [[turn[index] for turn in turns] for index in range(len(PARTS))]
    columns.append([sum(turn) for turn in turns])
    for name, values in zip((*PARTS, "whole turn"), columns, strict=True):
        lines.append(
            f"| {name} | {statistics.median(values):,.0f} | {statistics.mean(values):,.0f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=20)
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="2 warm turns, 6 measured (smoke)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    warm, turns = (2, 6) if options.quick else (options.warm, options.turns)
    if options.child:
        child(warm, turns)
        return
    counted = measure(warm, turns)
    print(f"CPython {sys.version.split()[0]}; recruiter, turns {warm + 1}-{warm + turns}")
    print(report(counted))


if __name__ == "__main__":
    main()

"""Instructions per turn of scenario 1, by Python function: where a turn's instructions go.

    python -m benchmarks.turn_functions [--warm N] [--turns N] [--top N] [--quick]

Runs the recruiter of ``make bench-compare``'s scenario 1 (``benchmarks/compare/runners``) in a
child process under ``valgrind --tool=callgrind`` as `benchmarks.turn_instructions` does
(deserialize → reply → serialize every turn), with CPython's perf trampolines on (``-X perf``,
CPython 3.12 and later): every Python function then runs through a small piece of machine code
of its own, listed with the function's name in ``/tmp/perf-PID.map``, so callgrind's inclusive
count at that address is the function's. Prints the `--top` functions by inclusive
instructions per measured turn (a function that calls itself counts once, at its outermost
call). `--warm` sets where the measured turns start: ``--warm 1000`` looks at the turns of
scenario 4's end. The trampolines add a few instructions per call; compare counts of this
tool with each other, not with `turn_instructions`. Information only; needs valgrind.
"""

from __future__ import annotations

import argparse
import bisect
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

RUNNERS = Path(__file__).resolve().parent / "compare" / "runners"
ROOT = Path(__file__).resolve().parents[1]

#: A row of ``callgrind_annotate --inclusive=yes`` for code callgrind has no symbol for (the
#: trampolines): its inclusive count and its address.
_UNNAMED = re.compile(r"^\s*([\d,]+) \([^)]*\)\s+\?\?\?:0x([0-9a-f]+) ")


def child(warm: int, turns: int) -> None:
    """The measured process: `warm` turns, then `turns` turns between two markers."""
    sys.path.insert(0, str(RUNNERS))
    import api_bots  # the runners' directory is on sys.path only now
    import dialog_script

    from autograms import Autogram, AutogramConfig

    autogram = Autogram(api_bots.recruiter, AutogramConfig(), test_mode=True)
    _, memory = autogram.reply()
    text = autogram.serialize(memory)
    for turn in range(1, warm + turns + 1):
        if turn == warm + 1:
            os.getppid()
        memory = autogram.deserialize(text)
        _, memory = autogram.reply(dialog_script.user_reply(turn), memory_object=memory)
        text = autogram.serialize(memory)
    os.getppid()
    print(os.getpid())


def measure(warm: int, turns: int) -> list[tuple[int, str]]:
    """(inclusive instructions per measured turn, function) of every Python function run."""
    if sys.version_info < (3, 12):
        raise SystemExit("perf trampolines (-X perf) need CPython 3.12 or later")
    valgrind, annotate = shutil.which("valgrind"), shutil.which("callgrind_annotate")
    if valgrind is None or annotate is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="turn-functions-") as folder:
        command = [
            valgrind,
            "--tool=callgrind",
            "--dump-before=getppid",
            f"--callgrind-out-file={folder}/cg.out",
            sys.executable,
            "-X",
            "perf",
            "-m",
            "benchmarks.turn_functions",
            "--child",
            f"--warm={warm}",
            f"--turns={turns}",
        ]
        completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        if completed.returncode != 0:
            raise SystemExit(f"the measured process failed:\n{completed.stderr[-3000:]}")
        perf_map = Path(f"/tmp/perf-{completed.stdout.split()[-1]}.map")
        try:
            names = _trampolines(perf_map)
        finally:
            perf_map.unlink(missing_ok=True)
        # dump 1 is everything before the first marker, dump 2 the measured turns
        listing = subprocess.run(
            [annotate, "--inclusive=yes", "--threshold=100", f"{folder}/cg.out.2"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return _by_function(listing, names, turns)


def _trampolines(perf_map: Path) -> list[tuple[int, int, str]]:
    """(start, end, function) of each trampoline the perf map lists, by address."""
    entries = []
    for line in perf_map.read_text().splitlines():
        start, size, name = line.split(" ", 2)
        entries.append((int(start, 16), int(start, 16) + int(size, 16), name.removeprefix("py::")))
    return sorted(entries)


def _by_function(
    listing: str, names: list[tuple[int, int, str]], turns: int
) -> list[tuple[int, str]]:
    starts = [start for start, _, _ in names]
    counts: dict[str, int] = {}
    for line in listing.splitlines():
        found = _UNNAMED.match(line)
        if found is None:
            continue
        address = int(found.group(2), 16)
        index = bisect.bisect_right(starts, address) - 1
        if index < 0 or address >= names[index][1]:
            continue  # not a trampoline: code without a symbol elsewhere
        name = names[index][2].replace(f"{ROOT}{os.sep}", "")
        counts[name] = counts.get(name, 0) + int(found.group(1).replace(",", ""))
    return sorted(((count // turns, name) for name, count in counts.items()), reverse=True)


def report(rows: Sequence[tuple[int, str]], top: int) -> str:
    """The table of the `top` functions."""
    lines = ["| function | instructions per turn (inclusive) |", "| --- | --- |"]
    lines += [f"| {name} | {count:,} |" for count, name in rows[:top]]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=20)
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--top", type=int, default=60)
    parser.add_argument("--quick", action="store_true", help="2 warm turns, 4 measured (smoke)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    warm, turns = (2, 4) if options.quick else (options.warm, options.turns)
    if options.child:
        child(warm, turns)
        return
    rows = measure(warm, turns)
    print(f"CPython {sys.version.split()[0]}; recruiter, turns {warm + 1}-{warm + turns}")
    print(report(rows, options.top))


if __name__ == "__main__":
    main()

"""Command line of the dialog-layer differential tester (see docs/fuzzing.md).

python -m tests.dialog.fuzz campaign --count 300 --seed 1 [--fresh-every 10] [--keep DIR]
            check bots in process and serialized (every FRESH_EVERY-th with a fresh
            interpreter per turn too) against each other and the reference; each divergent
            bot is written to DIR with its script and its first differences
python -m tests.dialog.fuzz show SEED INDEX      print a bot and its script
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import campaign, runner
from .generator import generate

#: bots checked per batch (one fresh interpreter per turn serves a whole batch)
BATCH = 20


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.dialog.fuzz")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("campaign", help="check generated bots")
    run.add_argument("--count", type=int, default=300)
    run.add_argument("--seed", type=int, default=1)
    run.add_argument("--fresh-every", type=int, default=10)
    run.add_argument("--keep", type=Path, default=None)
    show = commands.add_parser("show", help="print a generated bot")
    show.add_argument("seed", type=int)
    show.add_argument("index", type=int)
    args = parser.parse_args(argv)
    if args.command == "show":
        bot = generate(args.seed, args.index)
        print(bot.source)
        print(f"# script: {bot.script!r}\n# tags: {sorted(bot.tags)}")
        return 0
    return _campaign(args)


def _campaign(args: argparse.Namespace) -> int:
    started = time.monotonic()
    found, turns = [], 0
    for start in range(0, args.count, BATCH):
        indices = list(range(start, min(start + BATCH, args.count)))
        batch, played = campaign.check(args.seed, indices, (runner.IN_PROCESS, runner.SERIALIZED))
        fresh = indices[:: args.fresh_every] if args.fresh_every else []
        if fresh:
            more, fresh_turns = campaign.check(
                args.seed, fresh, (runner.IN_PROCESS, runner.FRESH_PROCESS), reference=False
            )
            batch += more
            played += fresh_turns
        found += batch
        turns += played
        for finding in batch:
            _report(finding, args.keep)
        print(
            f"{indices[-1] + 1} bots, {turns} turns played in {time.monotonic() - started:.0f} s; "
            f"divergent: {len(found)}",
            flush=True,
        )
    python = ".".join(map(str, sys.version_info[:3]))
    print(f"CPython {python}: {args.count} bots from seed {args.seed}; divergent: {len(found)}")
    return 1 if found else 0


def _report(finding: campaign.Finding, keep: Path | None) -> None:
    origin = f"seed {finding.seed}, bot {finding.index}"
    for what, how in finding.differences.items():
        print(f"{origin}: {what}: {how[:400]}")
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        bot = generate(finding.seed, finding.index)
        notes = "\n".join(f"# {what}: {how}" for what, how in finding.differences.items())
        path = keep / f"{campaign.name_of(finding.seed, finding.index)}.py"
        path.write_text(f"{bot.source}\n# script: {bot.script!r}\n{notes}\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Command line of the generative differential tester (see docs/fuzzing.md).

python -m tests.engine.fuzz campaign --count 2000 --seed 7 [--fresh-every 5]
            [--exclude locals,super] [--focus dict-iter] [--per-family 2] [--budget 600]
python -m tests.engine.fuzz minimize SEED INDEX [--exclude ...] [--focus ...]
            check one program; if it diverges, minimize it and keep it as a found case
python -m tests.engine.fuzz refresh
            record, for this Python, where each found case still diverges
python -m tests.engine.fuzz show SEED INDEX [--exclude ...] [--focus ...] [--reference]
"""

from __future__ import annotations

import argparse
import sys

from . import campaign, context, found
from .generator import generate
from .render import ENGINE, REFERENCE, render


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.engine.fuzz")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("campaign", help="check programs, keep minimized divergences")
    run.add_argument("--count", type=int, default=500)
    run.add_argument("--seed", type=int, default=1)
    run.add_argument("--fresh-every", type=int, default=5)
    run.add_argument("--per-family", type=int, default=2)
    one = commands.add_parser("minimize", help="minimize one divergent program, keep it")
    show = commands.add_parser("show", help="print a generated program")
    for command in (one, show):
        command.add_argument("seed", type=int)
        command.add_argument("index", type=int)
    for command in (run, one, show):
        command.add_argument("--exclude", default="", help=f"of: {', '.join(context.FEATURES)}")
        command.add_argument("--focus", default="", help="features to write much more often")
    for command in (run, one):
        command.add_argument("--budget", type=int, default=600, help="checks per minimization")
    show.add_argument("--reference", action="store_true")
    commands.add_parser("refresh", help="record where each found case diverges on this Python")
    args = parser.parse_args(argv)

    if args.command == "refresh":
        for name, modes in found.refresh():
            print(f"{name}: diverges on {found.PYTHON} in {', '.join(modes) or 'no mode'}")
        return 0
    exclude, focus = _features(parser, args.exclude), _features(parser, args.focus)
    if args.command == "campaign":
        tally = campaign.run(
            args.count,
            args.seed,
            args.fresh_every,
            exclude,
            focus,
            args.per_family,
            args.budget,
            progress=lambda line: print(line, flush=True),
        )
        print(f"CPython {found.PYTHON}: {tally.line()}")
    elif args.command == "minimize":
        print(campaign.minimize_one(args.seed, args.index, exclude, focus, args.budget))
    else:
        program = generate(args.seed, args.index, exclude, focus)
        print(render(program, REFERENCE if args.reference else ENGINE))
        print("# script:", program.script)
    return 0


def _features(parser: argparse.ArgumentParser, names: str) -> frozenset[str]:
    chosen = frozenset(filter(None, names.split(",")))
    unknown = chosen - set(context.FEATURES)
    if unknown:
        parser.error(f"unknown features: {', '.join(sorted(unknown))}")
    return chosen


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The autograms command: run a bot in the terminal, serve it over HTTP, debug it on random
trajectories, visualize its control flow, check stored sessions before a deploy.

    autograms run recruiter
    autograms run path/to/bot.py --session chat.session
    autograms serve recruiter --port 8000
    autograms debug path/to/bot.py --runs 20 --turns 10 --seed 0
    autograms visualize recruiter --out graphs/
    autograms sessions check path/to/bot.py --store sqlite:///sessions.db
"""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap
from collections.abc import Sequence

from .._version import __version__
from . import _bots, debug, deploy, run, serve, visualize
from ._common import CliError, report


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``autograms`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="autograms",
        description=__doc__.split("\n\n")[0].replace("\n", " "),
        epilog="'autograms COMMAND --help' describes each command.",
    )
    parser.add_argument("--version", action="version", version=f"autograms {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log what the library does (model calls, the local model) to stderr",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, module, summary: str, handler) -> None:  # noqa: ANN001
        sub = commands.add_parser(
            name,
            parents=[common],
            help=summary,
            description=_description(module),
            epilog=getattr(module, "EPILOG", None),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(handler=handler)

    add("run", run, "chat with a bot in the terminal", run.run)
    add("serve", serve, "serve a bot over HTTP: OpenAI API, sessions, a chat page", serve.run)
    add("debug", debug, "run a bot on random trajectories offline and report coverage", debug.run)
    add("visualize", visualize, "draw a bot's control flow (DOT, SVG, PNG, HTML)", _visualize)
    add(
        "sessions",
        deploy,
        "before a deploy: check stored sessions against the bot's code, upgrade refused ones",
        deploy.run,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``autograms`` command with `argv` (default: the process arguments); the exit
    status."""
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    return args.handler(args)


def configure_logging(verbose: bool) -> None:
    """With ``-v``, the library's log (INFO and up) goes to stderr; without it, nowhere: its
    notices (retries, refused output forms) must not land in the middle of a conversation.
    The commands report what matters themselves, and ``run`` shows notices on its wait line."""
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    elif not logging.getLogger().handlers:
        # A handler on the root logger keeps logging's last resort (stderr) from printing
        # warnings of any library.
        logging.getLogger().addHandler(logging.NullHandler())


def _visualize(args: argparse.Namespace) -> int:
    """``visualize`` with BOT resolved first: an example's name becomes its file."""
    try:
        source = _bots.find_bot(_bots.bot_argument(args)[0])
    except _bots.BotNotFoundError as exc:
        report("visualize", str(exc))
        return 2
    except CliError as exc:
        report("visualize", exc.message)
        return exc.status
    args.bot = str(source.path)
    return visualize.run(args)


def _description(module) -> str:  # noqa: ANN001
    """The first paragraph of `module`'s docstring, as plain text."""
    paragraph = (module.__doc__ or "").split("\n\n")[0].replace("``", "")
    return textwrap.fill(" ".join(paragraph.split()), width=88)


if __name__ == "__main__":
    sys.exit(main())

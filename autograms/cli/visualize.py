"""``autograms visualize BOT --out DIR``: draw a bot's control flow as DOT, SVG and PNG files
and one self-contained interactive HTML page, reading the bot's source without running it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from autograms._visual import (
    BotSourceError,
    DotFailedError,
    DotNotFoundError,
    find_dot,
    read_bot,
    run_dot,
    to_dot,
    to_html,
    to_svg,
    views,
)
from autograms._visual.model import View
from autograms._visual.program import PROGRAM_VIEW

from ._bots import add_bot_argument

FORMATS = ("dot", "svg", "png", "pdf", "html")
#: what is written without --format (pdf only when asked: visualize_autogram.py's "pdf")
DEFAULT_FORMATS = ("dot", "svg", "png", "html")
PICTURE_FORMATS = frozenset({"svg", "png", "pdf"})

EPILOG = """\
Writes DIR/<bot>.{dot,svg,png} for the whole program, DIR/<bot>.<function>.{dot,svg,png} for
each decorated function, and DIR/<bot>.html, one page that works offline: click a node to see
its code, shift+click a second node to highlight the paths between them.

SVG and PNG need graphviz's 'dot' program (apt-get install graphviz). Without it, DOT and
HTML are still written (the HTML with a simpler built-in layout); the exit status is 1 only if
svg, png or pdf was asked for with --format. Exit status 2: the bot cannot be read, or an unknown
--function.

AutoGRAMS' visualize_autogram.py flags are accepted: --example_name and --autogram_file (BOT),
--save_folder (--out), --graph_format F (--format F,html: the graph in F, dot, svg, png or
pdf, and the interactive page).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``visualize`` arguments to `parser`."""
    add_bot_argument(parser)
    parser.add_argument("--out", metavar="DIR", help="folder to write into (required)")
    parser.add_argument(
        "--format",
        type=_formats,
        metavar="LIST",
        help=f"comma-separated formats out of {','.join(FORMATS)} (default: all but pdf)",
    )
    parser.add_argument(
        "--function", metavar="NAME", help="draw only this decorated function (default: all)"
    )
    # the original visualize_autogram.py's flags (the epilog lists them)
    parser.add_argument("--save_folder", dest="out", help=argparse.SUPPRESS)
    # the original wrote its static graph in this format and an interactive page beside it
    parser.add_argument("--graph_format", type=_formats, help=argparse.SUPPRESS)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``autograms visualize`` with `argv` (default: the process arguments); the exit
    status."""
    parser = argparse.ArgumentParser(
        prog="autograms visualize",
        description=__doc__.split("\n\n")[0].replace("\n", " "),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Draw what `args` (from `add_arguments`) ask for; the exit status. `args.bot` is the
    bot file (`autograms.cli.__main__` resolves an example's name first)."""
    if args.out is None:
        return _report("the following argument is required: --out DIR", 2)
    try:
        program = read_bot(args.bot)
        selected = views(program, args.function)
    except (BotSourceError, KeyError) as exc:
        return _report(exc.args[0], 2)
    if args.format is None and args.graph_format is not None:
        args.format = (*args.graph_format, "html")
    formats = frozenset(args.format or DEFAULT_FORMATS)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _report(f"cannot create output folder {str(out)!r}: {exc.strerror}", 2)
    for problem in program.problems:
        sys.stderr.write(f"warning: {problem}\n")

    dot_program = None
    missing = None
    if formats - {"dot"}:
        try:
            dot_program = find_dot()
        except DotNotFoundError as exc:
            missing = exc
    stem = Path(args.bot).stem
    pictures = []
    try:
        for number, view in enumerate(selected):
            base = out / (stem if view.name == PROGRAM_VIEW else f"{stem}.{view.name}")
            pictures.append((view, _draw(view, f"v{number}", base, formats, dot_program)))
        if "html" in formats:
            _write(out / f"{stem}.html", to_html(program, pictures).encode("utf-8"))
    except (DotFailedError, OSError) as exc:
        return _report(str(exc), 1)
    if missing is not None:
        asked = args.format is not None and formats & PICTURE_FORMATS
        note = "" if asked else "; DOT and HTML were written (HTML with the built-in layout)"
        return _report(f"{missing}{note}", 1 if asked else 0)
    return 0


def _draw(
    view: View, prefix: str, base: Path, formats: frozenset[str], dot_program: str | None
) -> str:
    """Write the files of one view; its SVG text for the HTML page ("" if no page is made)."""
    dot_text = to_dot(view, prefix)
    if "dot" in formats:
        _write(Path(f"{base}.dot"), dot_text.encode("utf-8"))
    if dot_program is None:
        return to_svg(view, prefix) if "html" in formats else ""
    for picture in ("png", "pdf"):
        if picture in formats:
            _write(Path(f"{base}.{picture}"), run_dot(dot_program, dot_text, picture, view.name))
    if not formats & {"svg", "html"}:
        return ""
    svg = run_dot(dot_program, dot_text, "svg", view.name)
    if "svg" in formats:
        _write(Path(f"{base}.svg"), svg)
    return svg.decode("utf-8")


def _write(path: Path, content: bytes) -> None:
    path.write_bytes(content)
    sys.stdout.write(f"{path}\n")


def _report(message: str, status: int) -> int:
    sys.stderr.write(f"autograms visualize: {message}\n")
    return status


def _formats(text: str) -> tuple[str, ...]:
    chosen = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = [part for part in chosen if part not in FORMATS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown format {','.join(unknown) or text!r}; choose from {','.join(FORMATS)}"
        )
    return chosen


if __name__ == "__main__":
    sys.exit(main())

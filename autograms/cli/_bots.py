"""Finding the bot a command names: an example (``recruiter``) or a file (``path/to/bot.py``).

Examples are the modules of the ``autograms.examples`` package that define a top-level
``chatbot``; they are listed from their source, without importing them. A bot file is imported
with `load_autogram`, which names its module as ``import`` would (``mybot.py`` -> ``mybot``), so
a session saved by the command continues in the user's own code and the other way round. The
file of an example, given by its path, is the example itself (module
``autograms.examples.<name>``).

The original AutoGRAMS scripts named the bot with ``--example_name NAME`` or
``--autogram_file PATH``; `add_bot_argument` accepts both, and `bot_argument` reads the choice.
Run in a checkout of AutoGRAMS' repository, ``--example_name NAME`` is its ``examples/NAME.py``,
as the scripts imported it.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import os
import pkgutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ..autogram import load_autogram
from ._common import CliError, bot_failed

#: the package whose modules `autograms run NAME` finds
EXAMPLES_PACKAGE = "autograms.examples"
#: the root function a bot file must define, and the optional set-up function
ROOT_NAME = "chatbot"
INIT_NAME = "init_chatbot"
#: the bot of the original scripts when none was named
DEFAULT_EXAMPLE = "autograms_seed_agent"
#: --example_name values whose file in AutoGRAMS' repository has another name
_CHECKOUT_FILES = {"doc_search": "autograms_doc_search"}


class BotNotFoundError(LookupError):
    """The argument names no example and no bot file; ``.available`` lists the examples."""

    def __init__(self, message: str, *, available: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.available = available


@dataclass(frozen=True, slots=True)
class BotSource:
    """Where a bot's code is, before it is imported."""

    #: what the user typed
    argument: str
    #: the .py file
    path: Path
    #: ``autograms.examples.<name>`` for an example, None for a file
    module_name: str | None

    @property
    def name(self) -> str:
        return self.path.stem


@dataclass(frozen=True, slots=True)
class Bot:
    """An imported bot: its root function and optional ``init_chatbot``."""

    source: BotSource
    module: ModuleType
    chatbot: Callable[..., Any]
    init_chatbot: Callable[..., Any] | None


def looks_like_path(argument: str) -> bool:
    """Whether `argument` names a file rather than an example."""
    return argument.endswith(".py") or os.sep in argument or "/" in argument


def example_names() -> tuple[str, ...]:
    """The examples `autograms run NAME` accepts, sorted."""
    try:
        package = importlib.import_module(EXAMPLES_PACKAGE)
    except ImportError:
        return ()
    names = []
    for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
        if info.name.startswith("_") or info.ispkg:
            continue
        path = _module_file(f"{EXAMPLES_PACKAGE}.{info.name}")
        if path is not None and _defines_root(path):
            names.append(info.name)
    return tuple(sorted(names))


def find_bot(argument: str) -> BotSource:
    """The bot `argument` names; raises `BotNotFoundError` with what exists instead."""
    if looks_like_path(argument):
        path = Path(argument)
        if not path.is_file():
            raise BotNotFoundError(f"no bot file at {argument!r}")
        return BotSource(argument, path, _example_module_of(path))
    available = example_names()
    module_name = f"{EXAMPLES_PACKAGE}.{argument}"
    path = _module_file(module_name) if argument in available else None
    if path is not None:
        return BotSource(argument, path, module_name)
    if os.path.isfile(argument):
        return BotSource(argument, Path(argument), None)
    script = _module_file(module_name) if argument.isidentifier() else None
    if script is not None:
        raise BotNotFoundError(
            f"example {argument!r} is a script, not a bot (it defines no {ROOT_NAME!r}): run "
            f"it with `{Path(sys.executable).name} -m {module_name}`",
            available=available,
        )
    listing = ", ".join(available) if available else "none installed"
    raise BotNotFoundError(
        f"unknown example {argument!r}; available examples: {listing} "
        "(or give the path of a bot's .py file)",
        available=available,
    )


def _example_module_of(path: Path) -> str | None:
    """``autograms.examples.<name>`` when `path` is the file of that installed example."""
    name = path.stem
    if not name.isidentifier():
        return None
    installed = _module_file(f"{EXAMPLES_PACKAGE}.{name}")
    if installed is None or os.path.realpath(installed) != os.path.realpath(path):
        return None
    return f"{EXAMPLES_PACKAGE}.{name}"


def load_bot(source: BotSource) -> Bot:
    """Import the bot (running its module's top level); raises `BotNotFoundError` when it
    has no ``chatbot``. Exceptions raised by the bot's own code propagate."""
    if source.module_name is not None:
        module = importlib.import_module(source.module_name)
        chatbot = getattr(module, ROOT_NAME, None)
        init_chatbot = getattr(module, INIT_NAME, None)
    else:
        chatbot, init_chatbot = load_autogram(source.path)
        module = sys.modules.get(chatbot.__module__) if chatbot is not None else None
    if chatbot is None:
        raise BotNotFoundError(
            f"{source.path} defines no function {ROOT_NAME!r} (the root function)"
        )
    return Bot(source, module, chatbot, init_chatbot if callable(init_chatbot) else None)


def _module_file(module_name: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


def _defines_root(path: Path) -> bool:
    """Whether the module at `path` defines ``chatbot`` at top level (read, not imported)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return False
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == ROOT_NAME:
            return True
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == ROOT_NAME for target in node.targets
        ):
            return True
        if isinstance(node, ast.ImportFrom) and any(
            (alias.asname or alias.name) == ROOT_NAME for alias in node.names
        ):
            return True
    return False


def require_bot(argument: str) -> BotSource:
    """`find_bot` for a command: an unknown bot is a `CliError` (exit status 2)."""
    try:
        return find_bot(argument)
    except BotNotFoundError as exc:
        raise CliError(str(exc)) from exc


def import_bot(source: BotSource) -> Bot:
    """`load_bot` for a command: a missing root function is a `CliError` (exit status 2), an
    exception from the bot's own code one with its traceback shown (exit status 1)."""
    try:
        return load_bot(source)
    except BotNotFoundError as exc:
        raise CliError(str(exc)) from exc
    except Exception as exc:
        raise bot_failed(f"importing {source.argument}", exc) from exc


def _checkout_example(name: str) -> str | None:
    """``examples/NAME.py`` in the working directory, if there is one: AutoGRAMS' scripts,
    run from a checkout of its repository, import ``examples.NAME`` from there -- a team's
    edited copy of an example, not the library's own."""
    path = Path("examples", f"{_CHECKOUT_FILES.get(name, name)}.py")
    return str(path) if name.isidentifier() and path.is_file() else None


def add_bot_argument(parser: argparse.ArgumentParser, *, default: str | None = None) -> None:
    """BOT, and the original scripts' ``--example_name`` / ``--autogram_file`` (hidden from
    the help: the epilog names them); `default` is used when none is given."""
    parser.add_argument(
        "bot",
        metavar="BOT",
        nargs="?",
        help="an example's name (e.g. recruiter) or the path of a bot's .py file"
        + (f" (default: {default})" if default else ""),
    )
    for flag in ("--example_name", "--autogram_file"):
        parser.add_argument(flag, dest=flag[2:], metavar="BOT", help=argparse.SUPPRESS)
    parser.set_defaults(default_bot=default)


def bot_argument(args: argparse.Namespace) -> tuple[str, bool]:
    """The bot that `add_bot_argument`'s arguments name, and whether it is the default; a
    `CliError` when they disagree or name none (and there is no default)."""
    given = [
        value for value in (args.bot, args.example_name, args.autogram_file) if value is not None
    ]
    if len(set(given)) > 1:
        raise CliError(f"name one bot: got {' and '.join(map(repr, dict.fromkeys(given)))}")
    if given:
        if given[0] == args.example_name and args.bot is None:
            checkout = _checkout_example(args.example_name)
            if checkout is not None:
                return checkout, False
        return given[0], False
    if args.default_bot is None:
        listing = ", ".join(example_names()) or "none installed"
        raise CliError(f"name a bot: an example ({listing}) or the path of a bot's .py file")
    return args.default_bot, True

"""Finding the bot a command names: an example (``recruiter``) or a file (``path/to/bot.py``).

Examples are the modules of the ``autograms.examples`` package that define a top-level
``chatbot``; they are listed from their source, without importing them. A bot file is imported
with `load_autogram`, which names its module after the file's absolute path, so a session saved
by one process resumes in another that loads the same file.
"""

from __future__ import annotations

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
        return BotSource(argument, path, None)
    available = example_names()
    module_name = f"{EXAMPLES_PACKAGE}.{argument}"
    path = _module_file(module_name) if argument in available else None
    if path is not None:
        return BotSource(argument, path, module_name)
    if os.path.isfile(argument):
        return BotSource(argument, Path(argument), None)
    listing = ", ".join(available) if available else "none installed"
    raise BotNotFoundError(
        f"unknown example {argument!r}; available examples: {listing} "
        "(or give the path of a bot's .py file)",
        available=available,
    )


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

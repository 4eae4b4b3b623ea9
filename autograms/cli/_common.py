"""What the ``autograms`` subcommands share: reading ``--config``, reporting errors, and showing
where a program is paused."""

from __future__ import annotations

import json
import os
import reprlib
import sys
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from ..config import AutogramConfig, ConfigError

#: exit status of a usage error: an unknown bot, a bad --config, a refused session
USAGE_ERROR = 2

_value_repr = reprlib.Repr()
_value_repr.maxstring = 80
_value_repr.maxother = 80
_value_repr.maxlist = _value_repr.maxtuple = _value_repr.maxdict = _value_repr.maxset = 8


class CliError(Exception):
    """A problem to report in one line, and the exit status it gives."""

    def __init__(self, message: str, status: int = USAGE_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def report(command: str, message: str, stream: TextIO | None = None) -> None:
    """Write ``autograms <command>: message`` to stderr."""
    (stream or sys.stderr).write(f"autograms {command}: {message}\n")


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The AutogramConfig fields in the JSON file at `path`, checked."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read config file {os.fspath(path)!r}: {_reason(exc)}") from exc
    try:
        fields = json.loads(text)
    except ValueError as exc:
        raise CliError(f"config file {os.fspath(path)!r} is not valid JSON: {exc}") from exc
    if not isinstance(fields, dict):
        raise CliError(
            f"config file {os.fspath(path)!r} must hold a JSON object of AutogramConfig "
            f"fields: got {type(fields).__name__}"
        )
    make_config(fields, source=os.fspath(path))
    return fields


def make_config(
    fields: Mapping[str, Any], *, source: str = "the configuration", **overrides: Any
) -> AutogramConfig:
    """An AutogramConfig from `fields` plus the non-None `overrides`; a bad field becomes a
    `CliError` naming `source`."""
    chosen = {**fields, **{k: v for k, v in overrides.items() if v is not None}}
    try:
        return AutogramConfig(**chosen)
    except (ConfigError, TypeError, ValueError) as exc:
        raise CliError(f"bad configuration in {source}: {exc}") from exc


def with_fields(config: AutogramConfig, **changes: Any) -> AutogramConfig:
    """`config` with some fields changed."""
    return replace(config, **changes)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def describe_error(exc: BaseException) -> str:
    """``Type: message`` for an exception."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def bot_failed(what: str, exc: BaseException) -> CliError:
    """The bot's own code raised: show its traceback; exit status 1."""
    sys.stderr.write("".join(traceback.format_exception(exc)))
    return CliError(f"{what} failed: {describe_error(exc)}", status=1)


def module_file(module_name: str) -> str:
    """The file name (no folder) of a loaded module, or the module name."""
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    return os.path.basename(path) if path else module_name


def format_frames(frames: Iterable[Any], indent: str = "  ") -> list[str]:
    """Lines showing pending frames (``PendingFrameInfo``), outermost first: function,
    file:line, ADDRESS label, then one line per local."""
    lines = []
    for frame in frames:
        label = f"  at ADDRESS {frame.label!r}" if frame.label else ""
        where = f"{module_file(frame.module)}:{frame.lineno}"
        lines.append(f"{indent}{frame.qualname} ({where}){label}")
        for name, value in frame.locals.items():
            lines.append(f"{indent}    {name} = {safe_repr(value)}")
    return lines


def safe_repr(value: Any) -> str:
    """A short repr that never raises."""
    try:
        return _value_repr.repr(value)
    except Exception as exc:  # a user object whose __repr__ fails
        return f"<{type(value).__name__} (repr failed: {type(exc).__name__})>"

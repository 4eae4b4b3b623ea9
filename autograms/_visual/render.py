"""Drawing DOT text with graphviz's ``dot`` program."""

from __future__ import annotations

import shutil
import subprocess

from .errors import DotFailedError, DotNotFoundError

FORMATS = frozenset({"svg", "png", "pdf"})
TIMEOUT_SECONDS = 120


def find_dot() -> str:
    """The path of the ``dot`` program; DotNotFoundError with the install line if missing."""
    path = shutil.which("dot")
    if path is None:
        raise DotNotFoundError()
    return path


def run_dot(dot_program: str, dot_text: str, fmt: str, view: str) -> bytes:
    """`dot_text` drawn in `fmt` (``svg``, ``png`` or ``pdf``) by `dot_program`; `view` names the
    picture in errors."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown picture format {fmt!r}; expected one of {sorted(FORMATS)}")
    try:
        done = subprocess.run(
            [dot_program, f"-T{fmt}"],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DotFailedError(view, fmt, str(exc)) from exc
    if done.returncode != 0:
        raise DotFailedError(view, fmt, done.stderr.decode("utf-8", "replace").strip())
    return done.stdout

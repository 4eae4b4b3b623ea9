"""Errors of the visualiser, each naming the file or program at fault."""

from __future__ import annotations

INSTALL_GRAPHVIZ = "apt-get install graphviz"


class BotSourceError(Exception):
    """The bot file cannot be read, does not parse, or has no decorated function."""

    def __init__(self, filename: str, reason: str) -> None:
        super().__init__(f"cannot visualise {filename}: {reason}")
        self.filename = filename
        self.reason = reason


class DotNotFoundError(Exception):
    """Graphviz's ``dot`` program is not on PATH."""

    def __init__(self) -> None:
        super().__init__(
            "graphviz's 'dot' program was not found on PATH, so no SVG or PNG can be drawn; "
            f"install it with: {INSTALL_GRAPHVIZ}"
        )


class DotFailedError(Exception):
    """``dot`` ran but did not produce the picture."""

    def __init__(self, view: str, fmt: str, detail: str) -> None:
        super().__init__(f"dot could not draw {view!r} as {fmt}: {detail}")
        self.view = view
        self.fmt = fmt
        self.detail = detail

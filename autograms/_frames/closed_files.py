"""Files the program had already closed when it paused.

``with open(path) as fid: ...`` leaves the closed file bound to ``fid`` for the rest of the
function, and AutoGRAMS bots (the seed agent's ``write_code``) pause after such blocks. A closed
file holds no operating-system resource, so it is not refused like an open one (resources.py):
it comes back as a `ClosedFile` with the same ``name`` and ``mode``, closed, on which every I/O
operation raises ``ValueError`` as it does on the closed original.
"""

from __future__ import annotations

import io
from typing import Any, NoReturn

_MESSAGE = "I/O operation on closed file."


class ClosedFile(io.IOBase):
    """Stands for a file that was closed when the program paused."""

    def __init__(self, name: Any = None, mode: str | None = None) -> None:
        super().__init__()
        self.name = name
        self.mode = mode
        self.close()

    def _closed(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ValueError(_MESSAGE)

    read = readall = readinto = readline = write = _closed
    fileno = seek = tell = truncate = detach = __next__ = _closed

    def __repr__(self) -> str:
        return f"<closed file name={self.name!r} mode={self.mode!r}>"

    def __reduce__(self) -> tuple:
        return (ClosedFile, (self.name, self.mode))


def is_closed_file(value: Any) -> bool:
    """Whether `value` is a file object (io.IOBase) that is closed."""
    return isinstance(value, io.IOBase) and value.closed is True


def reduce_closed_file(file: io.IOBase) -> tuple:
    """A closed file as its surrogate: name and mode, when the file has them."""
    return (ClosedFile, (getattr(file, "name", None), getattr(file, "mode", None)))

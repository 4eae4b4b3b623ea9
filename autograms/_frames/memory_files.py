"""In-memory files (``io.StringIO``, ``io.BytesIO``): values, not operating-system resources.

They hold no descriptor, so they are saved like any other value: their content, position and
attributes while open. A closed one comes back closed, of the same type, so every I/O operation
raises ``ValueError`` as on the original (its content is gone in plain Python too).

`closed_memory_file` is part of the snapshot format: keep its module and name.
"""

from __future__ import annotations

import io
from typing import Any

TYPES = (io.StringIO, io.BytesIO)


def is_memory_file(value: Any) -> bool:
    """Whether `value` is an in-memory file (an instance of StringIO or BytesIO)."""
    return isinstance(value, TYPES)


def reduce_memory_file(file: io.StringIO | io.BytesIO, protocol: int) -> Any:
    if file.closed:
        return (closed_memory_file, (type(file),))
    return file.__reduce_ex__(protocol)


def closed_memory_file(kind: type) -> io.StringIO | io.BytesIO:
    """A closed in-memory file of type `kind` (a StringIO or BytesIO, or a subclass)."""
    file = kind.__new__(kind)
    base = io.StringIO if issubclass(kind, io.StringIO) else io.BytesIO
    base.__init__(file)
    file.close()
    return file

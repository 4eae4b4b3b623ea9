"""The program's values an attachment holds.

The caller's attachment is saved in the same pickle as the paused frames, and some of what it
holds belongs to the program as much as a local does (the dialog layer's per-session globals).
A module-level object put there by the program must come back as the module's own object, so
the snapshot looks into those values for module-level containers as it looks into the frames'
locals (``pickling.dump_snapshot``). The engine does not know the attachment's shape: the
caller says where those values are, once per process, with `set_reader`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: attachment -> the containers of program values it holds (the dialog layer's reader)
_reader: Callable[[Any], list[Any]] | None = None


def set_reader(reader: Callable[[Any], list[Any]]) -> None:
    """Say where an attachment holds program values: `reader(attachment)` gives the
    containers (dicts, lists, ...) whose contents are the program's; it must not fail."""
    global _reader
    _reader = reader


def held_by(attachment: Any) -> list[Any]:
    """The containers of program values `attachment` holds (none without a reader)."""
    reader = _reader
    return reader(attachment) if reader is not None else []

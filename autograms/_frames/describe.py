"""A readable view of a snapshot's paused frames (for `/state` displays and error reports)."""

from __future__ import annotations

import sys
from typing import Any

from .._record import Record
from . import wire
from .errors import SnapshotMismatchError
from .identity import find_function
from .records import FrameState
from .registry import lookup


class PendingFrameInfo(Record):
    """One paused frame: where it waits and the user locals it holds."""

    __slots__ = ("module", "qualname", "lineno", "label", "locals")

    module: str
    qualname: str
    lineno: int
    label: str | None
    locals: dict[str, Any]

    def __init__(
        self,
        module: str,
        qualname: str,
        lineno: int,
        label: str | None,
        locals: dict[str, Any],
    ) -> None:
        self.module = module
        self.qualname = qualname
        self.lineno = lineno
        self.label = label
        self.locals = locals


def describe(snapshot: bytes, *, with_locals: bool = True) -> list[PendingFrameInfo]:
    """The paused frames of `snapshot`, outermost first (hidden engine values left out).

    With `with_locals` this unpickles the snapshot: only describe snapshots you trust.
    Without, it reads the snapshot's header only (each frame's `locals` is empty).
    """
    headers, payload = wire.read(snapshot)
    values = wire.read_payload(payload, headers)[0] if with_locals else [{}] * len(headers)
    return [
        PendingFrameInfo(
            module=header.module,
            qualname=header.qualname,
            lineno=current_line(header),
            label=header.label,
            locals={k: v for k, v in frame_values.items() if not k.startswith("__ag_")},
        )
        for header, frame_values in zip(headers, values, strict=True)
    ]


def current_line(state: FrameState) -> int:
    """The line of `state`'s paused call in the code loaded now: the same call site while the
    code is unchanged (it may have moved), the call its ADDRESS label marks after an edit;
    the snapshot's own line when the function is not loaded or has no such call."""
    if state.module not in sys.modules:
        return state.lineno
    try:
        info = lookup(find_function(state.module, state.qualname).__code__)
    except SnapshotMismatchError:
        return state.lineno
    if info is None:
        return state.lineno
    if info.fingerprint == state.fingerprint and 0 <= state.site < len(info.sites):
        return info.sites[state.site].lineno
    index = info.labels.get(state.label) if state.label is not None else None
    return info.sites[index].lineno if index is not None else state.lineno

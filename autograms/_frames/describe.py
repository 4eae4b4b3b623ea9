"""A readable view of a snapshot's paused frames (for `/state` displays and error reports)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import wire


@dataclass(frozen=True, slots=True)
class PendingFrameInfo:
    """One paused frame: where it waits and the user locals it holds."""

    module: str
    qualname: str
    lineno: int
    label: str | None
    locals: dict[str, Any]


def describe(snapshot: bytes) -> list[PendingFrameInfo]:
    """The paused frames of `snapshot`, outermost first (hidden engine values left out).

    This unpickles the snapshot: only describe snapshots you trust.
    """
    headers, payload = wire.read(snapshot)
    values, _ = wire.read_payload(payload)
    return [
        PendingFrameInfo(
            module=header.module,
            qualname=header.qualname,
            lineno=header.lineno,
            label=header.label,
            locals={k: v for k, v in frame_values.items() if not k.startswith("__ag_")},
        )
        for header, frame_values in zip(headers, values, strict=True)
    ]

"""A readable view of a snapshot's paused frames (for `/state` displays and error reports)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .resume import load_states


@dataclass(frozen=True, slots=True)
class PendingFrameInfo:
    """One paused frame: where it waits and the user locals it holds."""

    module: str
    qualname: str
    lineno: int
    label: str | None
    locals: dict[str, Any]


def describe(snapshot: bytes) -> list[PendingFrameInfo]:
    """The paused frames of `snapshot`, outermost first (hidden engine values left out)."""
    return [
        PendingFrameInfo(
            module=state.module,
            qualname=state.qualname,
            lineno=state.lineno,
            label=state.label,
            locals={k: v for k, v in state.values.items() if not k.startswith("__ag_")},
        )
        for state in load_states(snapshot)
    ]

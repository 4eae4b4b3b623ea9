"""Running a program until it finishes or pauses, and resuming it from a snapshot."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ContinuationError, JumpSignal, PauseSignal
from .registry import mark_driver_code
from .resume import build_contexts, load_states, validate


@dataclass(frozen=True, slots=True)
class Paused:
    """The program paused: `snapshot` continues it, `payload` is what `pause` was given."""

    snapshot: bytes
    payload: Any


@dataclass(frozen=True, slots=True)
class Finished:
    """The program's root function returned `value`."""

    value: Any


Outcome = Paused | Finished


def run(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Outcome:
    """Call `function` (instrumented) until it returns or pauses."""
    return _drive(function, args, kwargs)


def resume(snapshot: bytes, value: Any = None) -> Outcome:
    """Continue a paused program; the pausing call returns `value`.

    The snapshot is validated against the loaded code before anything runs: a refused
    snapshot raises and changes nothing.
    """
    frames = validate(load_states(snapshot))
    if not frames:
        raise ContinuationError("the snapshot holds no frames", reason="empty snapshot")
    root = build_contexts(frames, value)
    return _drive(root.function, (root,), {})


def _drive(function: Callable[..., Any], args: tuple, kwargs: dict) -> Outcome:
    try:
        result = function(*args, **kwargs)
    except PauseSignal as signal:
        return Paused(signal.snapshot, signal.payload)
    except JumpSignal as signal:
        raise ContinuationError(
            f"jump to ADDRESS {signal.label!r} reached no frame", reason="lost jump"
        ) from None
    return Finished(result)


mark_driver_code(_drive)

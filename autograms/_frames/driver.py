"""Running a program until it finishes or pauses, and resuming it from a snapshot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._record import Record
from . import finalizers, registered_closures, runtime, stack_room
from .errors import ContinuationError, JumpSignal, PauseSignal, Reason
from .registry import mark_driver_code
from .resume import Loaded, build_contexts, load
from .snapshot import attachment_provider

Attachment = Callable[[], Any] | None


class Paused(Record):
    """The program paused: `snapshot` continues it, `payload` is what `pause` was given."""

    __slots__ = ("snapshot", "payload")

    snapshot: bytes
    payload: Any

    def __init__(self, snapshot: bytes, payload: Any) -> None:
        self.snapshot = snapshot
        self.payload = payload


class Finished(Record):
    """The program's root function returned `value`."""

    __slots__ = ("value",)

    value: Any

    def __init__(self, value: Any) -> None:
        self.value = value


Outcome = Paused | Finished


def run(
    function: Callable[..., Any],
    args: tuple = (),
    kwargs: dict | None = None,
    *,
    attachment: Attachment = None,
) -> Outcome:
    """Call `function(*args, **kwargs)` (instrumented) until it returns or pauses.

    If it pauses, `attachment()` is called and its result saved in the snapshot with the
    frames (shared objects stay shared).
    """
    return _drive(function, args, kwargs or {}, attachment)


def resume(
    snapshot: bytes | Loaded, value: Any = None, *, attachment: Attachment = None
) -> Outcome:
    """Continue a paused program; the pausing call returns `value`.

    A snapshot given as bytes is validated against the loaded code first (see `load`), so a
    refused snapshot raises and changes nothing. Without `attachment`, the snapshot's own
    attachment is saved again at the next pause.
    """
    loaded = snapshot if isinstance(snapshot, Loaded) else load(snapshot)
    if loaded.used:
        raise ContinuationError("this loaded snapshot was already resumed", reason=Reason.REUSED)
    if not loaded.is_paused:
        raise ContinuationError("the snapshot holds no paused program", reason=Reason.NOT_PAUSED)
    loaded.used = True
    if loaded.quiet:  # its copies with finalizers are the program's now
        finalizers.arm(loaded.quiet)
    saved = loaded.attachment
    provider = attachment if attachment is not None else (lambda: saved)
    frames = loaded.release()  # not empty: is_paused
    needed = stack_room.needed_for(len(frames), frames[0].values)
    root = build_contexts(frames, value)
    del frames  # the resumed program alone keeps its values alive (finalizers, weakrefs)
    raised = stack_room.raise_to(needed)
    token = runtime.resuming.set(root)
    try:
        return _drive(root.function, (), {}, provider)
    except BaseException:  # a failed turn leaves the cells it shares with callbacks as before
        registered_closures.roll_back(loaded.shared_cells)
        raise
    finally:
        runtime.resuming.reset(token)
        stack_room.restore(raised)


def _drive(
    function: Callable[..., Any], args: tuple, kwargs: dict, attachment: Attachment
) -> Outcome:
    token = attachment_provider.set(attachment)
    try:
        result = function(*args, **kwargs)
    except PauseSignal as signal:
        if signal.refused is None:
            return Paused(signal.snapshot, signal.payload)
        refused = signal.refused
    except JumpSignal as signal:
        raise ContinuationError(
            f"jump to ADDRESS {signal.label!r} reached no frame", reason=Reason.LOST_JUMP
        ) from None
    else:
        return Finished(result)
    finally:
        attachment_provider.reset(token)
    raise refused  # outside the handler: the refusal keeps its own cause and context


mark_driver_code(_drive)

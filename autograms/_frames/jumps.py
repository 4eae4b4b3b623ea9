"""GOTO and RETURNTO: re-execute an ADDRESS-labelled call in the current or a calling frame.

A jump is checked when it is raised, against the target frame's current call site, and then
travels as a `JumpSignal`:

* the target's value stack must be a prefix of the current one (same producers), so a jump
  never enters a loop, ``with`` or ``except`` block from outside;
* the handlers left behind in the target frame, and the handler bodies the jump drops out of,
  may only be ``except`` blocks (and the interpreter's own cleanup code): leaving a ``with``
  or ``finally`` would skip its cleanup, or the re-raise of the exception in flight;
* of the compiler's copies of a labelled call (a ``finally`` body is compiled once per way
  into it), the jump goes to the first it can reach.

A local left unbound by the jump is not refused here: every load a jump can reach with the
local unbound checks it (see `instrument`), so the read raises UnboundLocalError, as it would
in the same program written with loops.

In frames between the raise and the target (RETURNTO) handlers run as for any exception, so
their ``finally`` blocks and ``__exit__`` methods run exactly once. In the target frame the
handlers are bypassed and the catch-all dispatcher jumps to the GOTO stub of the label.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from contextvars import ContextVar
from types import FrameType
from typing import Any, NoReturn

from .producers import HANDLER_CLEANUP, HANDLER_EXCEPT, producer_position
from .errors import ContinuationError, JumpSignal, Reason
from .records import CallSite, Refusal
from .identity import is_library_code
from .registry import FunctionInfo, is_driver_code, lookup

_LEAVABLE = (HANDLER_EXCEPT, HANDLER_CLEANUP)


def goto(label: str) -> NoReturn:
    """Re-execute the call labelled `label` in the innermost instrumented frame."""
    frames = instrumented_frames(sys._getframe(1))
    if not frames:
        raise ContinuationError(
            f"GOTO {label!r} outside an instrumented function", reason=Reason.NO_FRAME
        )
    frame, info = frames[0]
    if label not in info.labels:
        helper = _plain_caller(sys._getframe(1), frame)
        if helper is not None:
            raise _label_in_plain_helper(label, helper, info)
        raise _unknown_label(label, frame, info)
    raise _jump(frame, info, label)


def returnto(label: str) -> NoReturn:
    """Unwind to the nearest calling instrumented frame that owns `label` and re-execute it."""
    frames = instrumented_frames(sys._getframe(1))
    for frame, info in frames[1:]:
        if label in info.labels:
            raise _jump(frame, info, label)
    if not frames:
        raise ContinuationError(
            f"RETURNTO {label!r} outside an instrumented function", reason=Reason.NO_FRAME
        )
    frame, info = frames[0]
    raise ContinuationError(
        f"RETURNTO {label!r} in {info.qualname} ({info.filename}:{frame.f_lineno}): no "
        "function calling it has that ADDRESS label; use GOTO for a label in the same function",
        qualname=info.qualname,
        filename=info.filename,
        lineno=frame.f_lineno,
        reason=Reason.UNKNOWN_LABEL,
    )


def instrumented_frames(start: FrameType) -> list[tuple[FrameType, FunctionInfo]]:
    """Instrumented frames from `start` outward (innermost first), up to the driver."""
    frames = []
    frame: FrameType | None = start
    while frame is not None and not is_driver_code(frame.f_code):
        info = lookup(frame.f_code)
        if info is not None and not info.adopted:  # a plain helper jumps as plain code
            frames.append((frame, info))
        frame = frame.f_back
    return frames


def _plain_caller(start: FrameType, instrumented: FrameType) -> FrameType | None:
    """The innermost frame of the program's own code (not the library's) from `start` down to
    the instrumented frame `instrumented`, when it is a plain function's (a GOTO called
    there), else None."""
    frame: FrameType | None = start
    while frame is not None and frame is not instrumented:
        if not is_library_code(frame.f_code):
            return frame
        frame = frame.f_back
    return None


def _not_labels(info: FunctionInfo) -> str:
    """A sentence naming the ADDRESS arguments of `info`'s function that are no labels (an
    expression whose string the engine cannot know when it instruments the function), or ""."""
    if info.adopted:
        return ""
    from .sites import address_expressions  # the analysis: only for this error

    flow = info.flow
    named = []
    for position, key in sorted(address_expressions(flow).items()):
        site = next((site for site in info.sites if site.position == position), None)
        if site is not None and site.label is not None:
            continue
        location = flow.instrs[position].location
        line = location.lineno if location is not None else "?"
        named.append(f"ADDRESS={key or '<an expression>'} (line {line})")
    if not named:
        return ""
    return (
        f"; {', '.join(named)} is no label: a label is a string literal, a module-level "
        "string constant (bound once, to a literal) or a string attribute of a class or module "
        "bound above the function, known when the function is decorated"
    )


def _label_in_plain_helper(label: str, helper: FrameType, info: FunctionInfo) -> ContinuationError:
    """The error of a GOTO called in the plain (undecorated) function `helper`, whose
    decorated caller (`info`) has no call labelled `label`."""
    code = helper.f_code
    name = code.co_qualname
    known = ", ".join(repr(name) for name in sorted(info.labels)) or "none"
    return ContinuationError(
        f"GOTO {label!r} in {name} ({code.co_filename}:{helper.f_lineno}): {name} is not "
        "decorated, and a GOTO jumps only to the ADDRESS labels of decorated functions: here "
        f"those of {info.qualname}, the nearest decorated caller, which has none called "
        f"{label!r} (labels: {known}); decorate {name} with @autograms_function() to jump to "
        "its own labels",
        qualname=name,
        filename=code.co_filename,
        lineno=helper.f_lineno,
        reason=Reason.UNKNOWN_LABEL,
    )


def _unknown_label(label: str, frame: FrameType, info: FunctionInfo) -> ContinuationError:
    """The error of a GOTO in `frame` to a label its function does not have; it names the
    function's ADDRESS arguments whose values are no labels, if any."""
    known = ", ".join(repr(name) for name in sorted(info.labels))
    known = f"labels: {known}" if known else "it has no ADDRESS labels"
    return ContinuationError(
        f"GOTO {label!r} in {info.qualname} ({info.filename}:{frame.f_lineno}): the function "
        f"has no call with that ADDRESS label ({known}){_not_labels(info)}",
        qualname=info.qualname,
        filename=info.filename,
        lineno=frame.f_lineno,
        reason=Reason.UNKNOWN_LABEL,
    )


def _jump(frame: FrameType, info: FunctionInfo, label: str) -> JumpSignal:
    current = info.site_at(frame.f_code, frame.f_lasti)
    refusals = []
    for index in info.label_sites[label]:  # the copy the jump can reach, if any
        target = info.sites[index]
        refusal = _jump_refusal(frame, info, current, target)
        if refusal is None:
            return JumpSignal(frame, target.index, label)
        if refusal.reason is Reason.JUMP_INTO_BLOCK and target.statement_start >= 0:
            # from outside the expression around the call: re-run its whole statement
            refusal = _jump_refusal(frame, info, current, target, target.statement_depth)
            if refusal is None:
                return JumpSignal(frame, target.index + len(info.sites), label)
        refusals.append((target, refusal))
    target, refusal = refusals[0]
    raise ContinuationError(
        f"cannot jump to ADDRESS {label!r} in {info.qualname} ({info.filename}:"
        f"{target.lineno}): {refusal.problem}",
        qualname=info.qualname,
        filename=info.filename,
        lineno=target.lineno,
        reason=refusal.reason,
    )


def _jump_refusal(
    frame: FrameType,
    info: FunctionInfo,
    current: CallSite | None,
    target: CallSite,
    depth: int | None = None,
) -> Refusal | None:
    """Why a jump from `current` cannot enter `target` where the value stack holds `depth`
    items (the call expression's start by default); None if it can."""
    if target.goto_refusal is not None:
        return target.goto_refusal
    if target.refusal is not None:
        return target.refusal
    if current is None:
        return Refusal(
            Reason.NOT_AT_A_CALL, f"line {frame.f_lineno} is not a call the jump can leave from"
        )
    depth = target.depth if depth is None else depth
    if depth > current.depth or target.stack_keys[:depth] != current.stack_keys[:depth]:
        return Refusal(
            Reason.JUMP_INTO_BLOCK,
            "it would enter a loop, with or except block from outside (jump from line "
            f"{current.lineno})",
        )
    left = len(current.handlers) - len(target.handlers)
    if left < 0 or current.handlers[left:] != target.handlers:
        return Refusal(
            Reason.JUMP_INTO_BLOCK,
            f"it would enter a try block from outside (jump from line {current.lineno})",
        )
    kinds = [handler.kind for handler in current.handlers[:left]]
    kinds += _handler_bodies_left(info, current.stack_keys[depth:])
    for kind in kinds:
        if kind not in _LEAVABLE:
            return Refusal(
                Reason.JUMP_SKIPS_CLEANUP,
                f"it would leave a {kind} block without running it (jump from line "
                f"{current.lineno})",
            )
    return None


def _handler_bodies_left(info: FunctionInfo, items: tuple[frozenset[int], ...]) -> list[str]:
    """The kinds of the handler bodies a jump leaves when it drops these stack items: each
    handler body runs above the exception state its PUSH_EXC_INFO pushed (leaving the
    exception-path copy of a finally body would drop the exception it must re-raise)."""
    kinds = []
    for producers in items:
        entries = {producer_position(key) for key in producers if key >= 0}
        if entries and all(info.flow.instrs[p].name == "PUSH_EXC_INFO" for p in entries):
            kinds += [info.flow.handler_kind(position) for position in sorted(entries)]
    return kinds


# -- a jump in flight saved with a pause -----------------------------------------------------
#
# A RETURNTO runs the `finally` blocks of the frames it leaves, and one of them may pause
# (`finally: reply(...)`): the JumpSignal is then an item on that frame's value stack, to be
# raised again when the block ends. It names its target by frame, which cannot be saved; it is
# saved as the target's index among the paused frames, and bound to the resumed frame there.

#: The paused frames, outermost first, while a snapshot of them is being written.
saving_frames: ContextVar[tuple[FrameType, ...]] = ContextVar("autograms_frames_saving", default=())


def reduce_jump(signal: JumpSignal) -> tuple:
    """Pickle's reduction of a jump in flight: its target as an index among the paused frames."""
    frames = saving_frames.get()
    index = next((i for i, frame in enumerate(frames) if frame is signal.frame), None)
    if index is None:
        raise ContinuationError(
            f"cannot pause while a jump to ADDRESS {signal.label!r} is in flight to a frame "
            "that is not paused",
            reason=Reason.UNWINDING,
        )
    return (restored_jump, (index, signal.site, signal.label))


def restored_jump(index: int, site: int, label: str) -> JumpSignal:
    """A saved jump in flight; its `frame` is the index of its target among the paused frames
    until `bind_jumps` gives it the resumed frame."""
    return JumpSignal(index, site, label)


def saved_jumps(values: Iterable[Any]) -> list[JumpSignal]:
    """The restored jumps in flight among a frame's saved values."""
    return [value for value in values if type(value) is JumpSignal and type(value.frame) is int]

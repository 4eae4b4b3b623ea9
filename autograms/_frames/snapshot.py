"""pause(): record every instrumented frame of the running program and serialize it at once.

The walk goes from the caller of `pause` up to the driver frame (`driver.run`/`resume`) and
keeps frames by code identity:

* instrumented frames (normal code or twin) are recorded;
* the first other frame above the innermost recorded one ends the walk: the pause will
  resume *after* the call into it (a plain helper or node that called ``reply``);
* lambdas, comprehensions, generator expressions and generators are refused there, and so is
  an uninstrumented frame *between* two instrumented ones, which no resume could rebuild.

The snapshot is serialized before the signal unwinds anything, so no code that runs during
the unwind can change it (engine notes, pitfall P8).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Any, NoReturn

from . import callees, pickling, wire
from .errors import ContinuationError, PauseSignal, UnpicklableLocalError
from .instrument import CELLS
from .records import CallSite, RecipeKind
from .resources import ResourceRefused
from .registry import (
    FunctionInfo,
    is_driver_code,
    is_transparent_code,
    lookup,
)
from .versions import PY_MINOR

_GENERATOR_FLAGS = 0x20 | 0x80 | 0x100 | 0x200
_COMPREHENSIONS = {
    "<listcomp>": "a list comprehension",
    "<setcomp>": "a set comprehension",
    "<dictcomp>": "a dict comprehension",
    "<genexpr>": "a generator expression",
    "<lambda>": "a lambda",
}


#: Set by the driver: returns what to save alongside the frames when the program pauses.
attachment_provider: ContextVar[Callable[[], Any] | None] = ContextVar(
    "autograms_frames_attachment", default=None
)


def pause(payload: Any = None) -> NoReturn:
    """Snapshot the running program and unwind it; the driver returns the snapshot."""
    frames = program_frames(sys._getframe(1))
    saved = [capture(frame, info, site) for frame, info, site in frames]
    provider = attachment_provider.get()
    attachment = provider() if provider is not None else None
    raise PauseSignal(serialize(saved, frames, attachment), payload)


def program_frames(start: FrameType) -> list[tuple[FrameType, FunctionInfo, CallSite]]:
    """Instrumented frames from the driver up to the pause, outermost first, with the call
    site each is paused at."""
    chain: list[tuple[FrameType, FunctionInfo, CallSite]] = []
    caller: tuple[FrameType, FunctionInfo, CallSite] | None = None  # callee not yet checked
    cut: FrameType | None = None
    for frame in _frames_below_driver(start):
        code = frame.f_code
        info = lookup(code)
        if info is None and not is_transparent_code(code):
            _check_plain_frame(frame, chain)
        if caller is not None:
            _check_direct_call(caller, code)
            caller = None
        if is_transparent_code(code) and cut is None:
            continue
        if info is None:
            cut = cut or frame
        elif cut is not None:
            raise _sandwich_error(cut, info)
        else:
            caller = (frame, info, _paused_site(frame, info))
            chain.append(caller)
    return chain


def _frames_below_driver(start: FrameType) -> list[FrameType]:
    frames = []
    frame: FrameType | None = start
    while frame is not None and not is_driver_code(frame.f_code):
        frames.append(frame)
        frame = frame.f_back
    if frame is None:
        raise ContinuationError(
            "cannot pause: no program is running (call it through the engine's run/resume)",
            reason="no driver",
        )
    frames.reverse()
    return frames


def _check_plain_frame(frame: FrameType, chain: list) -> None:
    code = frame.f_code
    what = _COMPREHENSIONS.get(code.co_name)
    if what is None and code.co_flags & _GENERATOR_FLAGS:
        what = "a generator"
    if what is not None:
        raise _frame_error(frame, f"cannot pause inside {what}", f"move the pause out of {what}")
    if not chain:
        raise _frame_error(
            frame,
            f"cannot pause: {code.co_qualname} is not instrumented and is not called from an "
            "instrumented function",
            "instrument the program's root function",
        )


def _sandwich_error(cut: FrameType, inner: FunctionInfo) -> ContinuationError:
    return _frame_error(
        cut,
        f"cannot pause through {cut.f_code.co_qualname}: it is not instrumented, but calls "
        f"{inner.qualname}, which pauses",
        f"instrument {cut.f_code.co_qualname} too",
    )


def _frame_error(frame: FrameType, problem: str, hint: str) -> ContinuationError:
    code = frame.f_code
    return ContinuationError(
        f"{problem} ({code.co_filename}:{frame.f_lineno}); {hint}",
        qualname=code.co_qualname,
        filename=code.co_filename,
        lineno=frame.f_lineno,
        reason=problem,
    )


def _paused_site(frame: FrameType, info: FunctionInfo) -> CallSite:
    site = info.site_at(frame.f_code, frame.f_lasti)
    if site is None:
        raise _frame_error(
            frame,
            f"cannot pause {info.qualname}: the pause was reached through an operator, "
            "attribute access or iteration, not a call",
            "make the pausing call a direct function call",
        )
    if site.refusal is not None:
        raise _frame_error(frame, f"cannot pause {info.qualname}: {site.refusal}", "move the pause")
    return site


def _check_direct_call(
    caller: tuple[FrameType, FunctionInfo, CallSite], callee_code: CodeType
) -> None:
    frame, info, site = caller
    if info.is_resume_stub(frame.f_code, frame.f_lasti):
        return  # a resume stub calls the next frame's twin itself
    expected = callees.called_code(info.flow, site, frame)
    if callees.is_unknown(expected) or expected is callee_code:
        return
    registered = lookup(callee_code)
    if registered is not None and (
        expected is registered.original_code or lookup(expected) is registered
    ):
        return  # the function runs its normal code or a variant of it (variants.py)
    raise ContinuationError(
        f"cannot pause {info.qualname} ({info.filename}:{site.lineno}): the pausing function "
        f"{callee_code.co_qualname} was called indirectly (through a built-in, a class or a "
        "C function), so the call cannot be resumed; call it directly",
        qualname=info.qualname,
        filename=info.filename,
        lineno=site.lineno,
        reason="indirect call",
    )


@dataclass(frozen=True, slots=True)
class CapturePlan:
    """What a snapshot saves of a frame paused at one call site."""

    #: User locals, saved when bound, in the code's order.
    user: tuple[str, ...]
    #: Hidden locals (the site's spills, the cell tuple), always bound there.
    hidden: tuple[str, ...]
    #: The frame's header entry when every user local is bound, or None when a user local's
    #: name looks hidden (then the entry depends on which locals are bound).
    entry: bytes | None


def capture_plan(info: FunctionInfo, site: CallSite) -> CapturePlan:
    """The capture plan of `site` (made on first use, then kept with `info`)."""
    plan = info.capture_plans.get(site.index)
    if plan is None:
        plan = info.capture_plans.setdefault(site.index, _make_plan(info, site))
    return plan


def _make_plan(info: FunctionInfo, site: CallSite) -> CapturePlan:
    user = tuple(name for name in info.original_code.co_varnames if name in info.user_locals)
    hidden = tuple(site.hidden) + ((CELLS,) if info.has_cells else ())
    entry = None
    if not any(name.startswith(wire.HIDDEN_PREFIX) for name in user):
        entry = _header_entry(info, site, dict.fromkeys((*user, *hidden)))
    return CapturePlan(user, hidden, entry)


def capture(frame: FrameType, info: FunctionInfo, site: CallSite) -> dict[str, Any]:
    """The values a resume of one paused frame needs, by name."""
    plan = capture_plan(info, site)
    current = frame.f_locals  # synced now (3.11, 3.12) or a live view (3.13): read at once
    values = {name: current[name] for name in plan.user if name in current}
    for name in plan.hidden:
        values[name] = current[name]
    return values


def serialize(saved: list[dict[str, Any]], frames: list, attachment: Any) -> bytes:
    """The snapshot of `frames` (as `program_frames` gives them) with their `saved` values."""
    entries = [
        _frame_entry(info, site, values)
        for (_, info, site), values in zip(frames, saved, strict=True)
    ]
    try:
        return wire.encode_entries(entries, saved, PY_MINOR, attachment)
    except RecursionError as exc:
        raise _too_deep(frames) from exc
    except Exception as exc:  # noqa: BLE001 - find the culprit, then report it
        raise _unpicklable(saved, frames, attachment) from exc


def _too_deep(frames: list) -> ContinuationError:
    _, info, site = frames[-1]
    return ContinuationError(
        f"cannot pause {info.qualname} ({info.filename}:{site.lineno}): saving the program "
        f"exceeded the recursion limit ({sys.getrecursionlimit()}) with {len(frames)} paused "
        "frames; pause less deep, or save values that nest less deeply",
        qualname=info.qualname,
        filename=info.filename,
        lineno=site.lineno,
        reason="too deep",
    )


def _frame_entry(info: FunctionInfo, site: CallSite, values: dict[str, Any]) -> bytes:
    plan = capture_plan(info, site)
    if plan.entry is not None and len(values) == len(plan.user) + len(plan.hidden):
        return plan.entry  # every user local is bound: the usual case
    return _header_entry(info, site, values)


def _header_entry(info: FunctionInfo, site: CallSite, values: dict[str, Any]) -> bytes:
    return wire.header_entry(
        info.module,
        info.qualname,
        info.fingerprint,
        site.index,
        site.lineno,
        site.label,
        wire.hidden_names(values),
        wire.saved_names(values, info.user_locals),
    )


def _unpicklable(saved: list[dict[str, Any]], frames: list, attachment: Any) -> ContinuationError:
    try:
        pickling.dumps(attachment)
    except Exception as exc:  # noqa: BLE001
        return ContinuationError(
            f"the state saved with the program is not picklable: {exc}", reason="attachment"
        )
    for values, (_, info, site) in zip(saved, frames, strict=True):
        for name, value in values.items():
            try:
                pickling.dumps(value)
            except Exception as exc:  # noqa: BLE001
                what = describe_value(info, site, name)
                return UnpicklableLocalError(
                    f"{what} of {info.qualname} ({info.filename}:{site.lineno}) is not "
                    f"picklable: {_reason(value, exc)}",
                    local_name=name,
                    type_name=type(value).__qualname__,
                    qualname=info.qualname,
                    filename=info.filename,
                    lineno=site.lineno,
                )
    return ContinuationError("the snapshot is not picklable", reason="unpicklable")


def _reason(value: Any, exc: Exception) -> str:
    if isinstance(exc, ResourceRefused):
        return str(exc)
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}".removeprefix("builtins.") + f" ({exc})"


def describe_value(info: FunctionInfo, site: CallSite, name: str) -> str:
    """Name a saved value the way a user would recognise it."""
    if name == CELLS:
        return "a closure cell"
    for recipe in site.recipes:
        if recipe.name == name:
            return _describe_hidden(info, recipe.kind, recipe.source)
    return f"local {name!r}"


def _describe_hidden(info: FunctionInfo, kind: RecipeKind, source: int) -> str:
    if kind is RecipeKind.EXCEPT_STATE:
        return "the exception handled by an except block"
    instr = info.flow.instrs[source]
    line = instr.location.lineno if instr.location else "?"
    if instr.name == "GET_ITER":
        return f"the for-loop iterator (line {line})"
    if instr.name == "BEFORE_WITH":
        return f"the with-statement __exit__ (line {line})"
    return f"a partially evaluated expression (line {line})"

"""pause(): record every instrumented frame of the running program and serialize it at once.

The walk goes from the caller of `pause` up to the driver frame (`driver.run`/`resume`) and
keeps frames by code identity:

* instrumented frames (normal code or twin) are recorded;
* the first other frame above the innermost recorded one ends the walk: the pause will
  resume *after* the call into it (a plain helper or node that called ``reply``) when it only
  returns what that call returns; a helper that does more is adopted (helpers.py) and
  recorded like an instrumented frame;
* lambdas, comprehensions, generator expressions and generators are refused there, and so is
  an uninstrumented frame *between* two instrumented ones, which no resume could rebuild.

The snapshot is serialized before the signal unwinds anything, so no code that runs during
the unwind can change it (docs/engine.md, pitfall P8).
"""

from __future__ import annotations

import dis
import operator
import sys
from collections.abc import Callable
from contextvars import ContextVar
from types import FrameType
from typing import Any, NoReturn

from . import (
    callees,
    finalizers,
    held_locals,
    jumps,
    passed_helpers,
    pickling,
    plain_code,
    runtime,
    stack_room,
    wire,
)
from . import helpers as helpers_
from .errors import ContinuationError, PauseSignal, Reason, UnpicklableLocalError
from .hidden import CELLS, HELPER_RESULT
from .identity import POSITION, found_again
from .records import CallSite, FrameState, RecipeKind
from .producers import producer_position
from .resources import ResourceRefused
from . import registry
from .registry import (
    FunctionInfo,
    is_driver_code,
    is_transparent_code,
    lookup,
)
from .versions import PY_MINOR

_GENERATOR_FLAGS = 0x20 | 0x80 | 0x100 | 0x200
#: CO_COROUTINE, CO_ITERABLE_COROUTINE, CO_ASYNC_GENERATOR
_COROUTINE_FLAGS = 0x80 | 0x100 | 0x200
#: Frames of code that is never instrumented, by code name: why a pause is refused there.
_UNINSTRUMENTABLE = {
    "<listcomp>": (Reason.COMPREHENSION, "a list comprehension"),  # 3.11; inlined since
    "<setcomp>": (Reason.COMPREHENSION, "a set comprehension"),
    "<dictcomp>": (Reason.COMPREHENSION, "a dict comprehension"),
    "<genexpr>": (Reason.GENERATOR_FRAME, "a generator expression"),
    "<lambda>": (Reason.LAMBDA_FRAME, "a lambda"),
}


#: Set by the driver: returns what to save alongside the frames when the program pauses.
attachment_provider: ContextVar[Callable[[], Any] | None] = ContextVar(
    "autograms_frames_attachment", default=None
)


#: The paused program's frames (`program_frames`) while `pause` asks for the attachment.
_pausing: ContextVar[list[PausedFrame] | None] = ContextVar(
    "autograms_frames_pausing", default=None
)


class PausedFrame:
    """An instrumented frame of the running program, and the call site it is paused at."""

    __slots__ = ("frame", "info", "site", "constructs", "helper_result", "passed")

    frame: FrameType
    info: FunctionInfo
    site: CallSite
    #: The paused call constructs an instance whose __init__ is the next frame.
    constructs: bool
    #: For the innermost frame: what the plain helpers above it return, when not the resume
    #: value itself (a `plain_code.Constant`).
    helper_result: Any
    #: The plain helpers its paused call ran in, not resumed (see passed_helpers.py).
    passed: str

    def __init__(
        self,
        frame: FrameType,
        info: FunctionInfo,
        site: CallSite,
        constructs: bool = False,
        helper_result: Any = None,
    ) -> None:
        self.frame = frame
        self.info = info
        self.site = site
        self.constructs = constructs
        self.helper_result = helper_result
        self.passed = ""


def pause(payload: Any = None) -> NoReturn:
    """Snapshot the running program and unwind it; the driver returns the snapshot.

    A refused pause unwinds the program as a pause does and the driver raises the refusal
    (its handlers never see it); without a driver below, the refusal is raised here.
    """
    try:
        blob = _snapshot(sys._getframe(1))
    except ContinuationError as refusal:
        if refusal.reason is Reason.NO_DRIVER:
            raise
        raise PauseSignal(None, payload, refusal) from None
    raise PauseSignal(blob, payload)


def _snapshot(caller: FrameType) -> bytes:
    """The snapshot of the program paused in `caller`'s call of `pause`."""
    frames = program_frames(caller)
    positions = [found_again(paused.info, paused.frame) for paused in frames]
    saved = [capture(paused.frame, paused.info, paused.site) for paused in frames]
    for values, position in zip(saved, positions, strict=True):
        if position:
            values[POSITION] = position
    if frames and frames[-1].helper_result is not None:
        saved[-1][HELPER_RESULT] = frames[-1].helper_result.value
    for paused, values in zip(frames, saved, strict=True):
        if paused.passed:
            values[passed_helpers.PASSED] = paused.passed
    if saved:
        stack_room.record(saved[0])
    provider = attachment_provider.get()
    attachment = None
    if provider is not None:
        pausing = _pausing.set(frames)
        try:
            attachment = provider()
        finally:
            _pausing.reset(pausing)
    token = jumps.saving_frames.set(tuple([paused.frame for paused in frames]))
    notes: dict[int, Any] = {}
    noting = finalizers.NOTED.set(notes)
    try:
        blob = serialize(saved, frames, attachment)
    finally:
        finalizers.NOTED.reset(noting)
        jumps.saving_frames.reset(token)
    if notes:  # originals with finalizers, which the copies take over
        finalizers.hand_over(notes)
    return blob


def hooked_frames(start: FrameType | None, stop: FrameType | None) -> list[FrameType] | None:
    """The frames of functions instrumented with hooks from `start` down to `stop` or the
    engine's driver (neither included), outermost first; None when the walk reaches the
    bottom of the stack without meeting either (no program runs there).

    While a pause asks for its attachment they are read from the frames it recorded: the
    frames between the provider's and the pause's caller are the engine's and its caller's,
    none hooked, and walking the stack again would make a frame object for each."""
    pausing = _pausing.get()
    if pausing is None:
        return registry.hooked_frames(start, stop)
    found = []
    for paused in reversed(pausing):
        if paused.frame is stop:
            break
        if paused.info.hooks is not None:
            found.append(paused.frame)
    found.reverse()
    return found


def program_frames(start: FrameType) -> list[PausedFrame]:
    """Instrumented frames from the driver up to the pause, outermost first, with the call
    site each is paused at. A plain helper that does more after its paused call than return
    its result is adopted (helpers.py) and the walk done again."""
    while True:
        try:
            chain, helpers = _walk(start)
        except _AdoptFirst as calling_adopted:
            helpers_.adopt_frame(calling_adopted.frame)
            continue
        result: Any = plain_code.SAME
        for frame in reversed(helpers):
            result = _helper_result(frame, result)
            if result is None:
                break
        if result is not None:
            break
        helpers_.adopt_frame(_first_to_adopt(helpers))  # the next walk records its frame
    if chain and result is not plain_code.SAME:
        chain[-1].helper_result = result
    if chain and helpers:
        chain[-1].passed = _joined(chain[-1].passed, passed_helpers.identities(helpers))
    return chain


def _first_to_adopt(helpers: list[FrameType]) -> FrameType:
    """The outermost of the plain frames `helpers` (outermost first) that does more than
    return what its paused call returns: those before it pass that result through to their
    caller, and need not be resumed (`_passes_through`)."""
    for frame in helpers:
        if plain_code.pause_result(frame.f_code, frame.f_lasti) is not plain_code.SAME:
            return frame
    return helpers[0]


def _passes_through(helpers: list[FrameType], callee: FrameType) -> bool:
    """Whether each of the plain frames `helpers` (outermost first) only returns what its
    paused call returns, and that call called the next frame (after the last: `callee`), so
    that the frame below them may be given `callee`'s result (a decorator's wrapper
    ``return f(*args, **kwargs)``)."""
    for frame, called in zip(helpers, [*helpers[1:], callee], strict=True):
        if plain_code.pause_result(frame.f_code, frame.f_lasti) is not plain_code.SAME:
            return False
        if not helpers_.called_by_paused_call(frame, called):
            return False
    return True


def _joined(first: str, second: str) -> str:
    return "\n".join([part for part in (first, second) if part])


def _walk(start: FrameType) -> tuple[list[PausedFrame], list[FrameType]]:
    """The instrumented frames (see `program_frames`), and the uninstrumented frames above
    the innermost of them, outermost first."""
    chain: list[PausedFrame] = []
    caller: PausedFrame | None = None  # its callee not yet checked
    cut: FrameType | None = None
    helpers: list[FrameType] = []  # uninstrumented frames above the innermost recorded one
    for frame in _frames_below_driver(start):
        code = frame.f_code
        if code is _CONSTRUCT and caller is not None:
            caller.constructs = True  # a resumed constructor call (runtime.construct)
            caller = None
            continue
        info = lookup(code)
        if info is None and not is_transparent_code(code):
            _check_plain_frame(frame, chain)
        if caller is not None:
            caller.constructs = _check_direct_call(caller, frame)
            caller = None
        if is_transparent_code(code) and cut is None:
            continue
        if info is None:
            cut = cut or frame
            helpers.append(frame)
        elif cut is not None and info.adopted and _passes_through(helpers, frame):
            # plain frames that only pass the adopted helper's result on: not resumed
            chain[-1].passed = _joined(chain[-1].passed, passed_helpers.identities(helpers))
            cut, helpers = None, []
            caller = PausedFrame(frame, info, _paused_site(frame, info))
            chain.append(caller)
        elif cut is not None and info.adopted:
            raise _AdoptFirst(cut)  # a plain helper calling one adopted before: adopt it too
        elif cut is not None:
            raise _sandwich_error(cut, info)
        else:
            if chain and chain[-1].info.adopted and not info.adopted:
                raise _sandwich_error(chain[-1].frame, info)  # as before it was adopted
            caller = PausedFrame(frame, info, _paused_site(frame, info))
            chain.append(caller)
    return chain, helpers


class _AdoptFirst(Exception):
    """The walk met a plain helper calling an adopted one: `frame` must be adopted first."""

    def __init__(self, frame: FrameType) -> None:
        super().__init__(frame.f_code.co_qualname)
        self.frame = frame


_CONSTRUCT = runtime.construct.__code__


def _frames_below_driver(start: FrameType) -> list[FrameType]:
    frames = []
    frame: FrameType | None = start
    while frame is not None and not is_driver_code(frame.f_code):
        frames.append(frame)
        frame = frame.f_back
    if frame is None:
        raise ContinuationError(
            "cannot pause: no program is running (call it through the engine's run/resume)",
            reason=Reason.NO_DRIVER,
        )
    frames.reverse()
    return frames


def _check_plain_frame(frame: FrameType, chain: list) -> None:
    code = frame.f_code
    reason, what = _UNINSTRUMENTABLE.get(code.co_name, (None, None))
    if what is None and code.co_flags & _COROUTINE_FLAGS:
        reason, what = Reason.GENERATOR_FRAME, f"the coroutine {code.co_qualname}"
    elif what is None and code.co_flags & _GENERATOR_FLAGS:
        reason, what = Reason.GENERATOR_FRAME, f"the generator {code.co_qualname}"
    if reason is Reason.COMPREHENSION and _at_iteration(frame):
        # 3.11's comprehension frame, paused in the iterator it runs over: refused as 3.12+
        # refuse the same pause in the inlined comprehension
        raise _frame_error(
            frame,
            Reason.NOT_A_CALL,
            f"cannot pause {code.co_qualname}: the pause was reached through iteration, not a call",
            "make the pausing call a direct function call",
        )
    if reason is not None:
        raise _frame_error(
            frame, reason, f"cannot pause inside {what}", f"move the pause out of {what}"
        )
    if not chain:
        raise _frame_error(
            frame,
            Reason.NOT_INSTRUMENTED,
            f"cannot pause: {code.co_qualname} is not instrumented and is not called from an "
            "instrumented function",
            "instrument the program's root function",
        )


def _at_iteration(frame: FrameType) -> bool:
    """Whether `frame` is paused in the ``__next__`` its FOR_ITER called."""
    return frame.f_code.co_code[frame.f_lasti] == dis.opmap["FOR_ITER"]


def _helper_result(frame: FrameType, inner: Any) -> Any:
    """What the uninstrumented `frame` returns once its paused call returns `inner` (see
    plain_code.py); None when it does more than return (it must be resumed itself)."""
    result = plain_code.pause_result(frame.f_code, frame.f_lasti)
    return inner if result is plain_code.SAME else result


def _sandwich_error(cut: FrameType, inner: FunctionInfo) -> ContinuationError:
    return _frame_error(
        cut,
        Reason.NOT_INSTRUMENTED,
        f"cannot pause through {cut.f_code.co_qualname}: it is not instrumented, but calls "
        f"{inner.qualname}, which pauses",
        f"instrument {cut.f_code.co_qualname} too",
    )


def _frame_error(frame: FrameType, reason: Reason, problem: str, hint: str) -> ContinuationError:
    code = frame.f_code
    return ContinuationError(
        f"{problem} ({code.co_filename}:{frame.f_lineno}); {hint}",
        qualname=code.co_qualname,
        filename=code.co_filename,
        lineno=frame.f_lineno,
        reason=reason,
    )


def _paused_site(frame: FrameType, info: FunctionInfo) -> CallSite:
    site = info.site_at(frame.f_code, frame.f_lasti)
    if site is None and _at_with_statement(frame):
        raise _frame_error(
            frame,
            Reason.WITH_STATEMENT,
            f"cannot pause {info.qualname}: the pause is inside the __enter__ or __exit__ of "
            "a with statement, which the with statement calls itself",
            "pause before or after the with statement, or inside its body",
        )
    if site is None:
        raise _frame_error(
            frame,
            Reason.NOT_A_CALL,
            f"cannot pause {info.qualname}: the pause was reached through an operator, "
            "attribute access or iteration, not a call",
            "make the pausing call a direct function call",
        )
    refusal = site.refusal
    if refusal is not None:
        if refusal.reason is Reason.HELPER_CONTINUES:  # an adopted helper (helpers.py)
            raise _frame_error(
                frame,
                refusal.reason,
                f"cannot pause in {info.qualname}: {refusal.problem}",
                f"instrument {info.qualname} too (decorate it like the function that calls it)",
            )
        if refusal.reason is Reason.COMPREHENSION:  # worded as on 3.11, whose frame it is
            what = refusal.problem.removeprefix("cannot pause inside ")
            raise _frame_error(
                frame, refusal.reason, refusal.problem, f"move the pause out of {what}"
            )
        raise _frame_error(
            frame,
            refusal.reason,
            f"cannot pause {info.qualname}: {refusal.problem}",
            "move the pause",
        )
    return site


def _check_direct_call(caller: PausedFrame, callee: FrameType) -> bool:
    """Refuse unless the frame `callee` was called by the call its caller is paused in, or
    by a wrapper that returns what it returns (see callees.py). True when that call
    constructs an instance and `callee` is its __init__."""
    frame, info, site = caller.frame, caller.info, caller.site
    if info.is_resume_stub(frame.f_code, frame.f_lasti):
        return False  # a resume stub calls the next frame's twin itself
    if _calls_with_exit(info, site):  # refused however the interpreter called it
        raise _indirect_call_error(frame, info, site, callees.UNKNOWN, callee)
    if callees.entered_directly(frame, callee):
        return False
    target = callees.running_callable(info.flow, site, frame)
    if target is callees.UNKNOWN:
        target = callees.called_object(info.flow, site, frame)
    if target is not callees.UNKNOWN and callees.runs_code(target, callee.f_code):
        return False
    if callees.initialises(target, frame, callee):
        return True
    if callees.received_first(target, frame, callee):
        return False
    raise _indirect_call_error(frame, info, site, target, callee)


def _at_with_statement(frame: FrameType) -> bool:
    """Whether `frame` is paused in the instruction of a with statement that calls __enter__
    (or, for an exception, __exit__) from C."""
    for instruction in dis.get_instructions(frame.f_code):
        if instruction.offset == frame.f_lasti:
            return instruction.opname in ("BEFORE_WITH", "WITH_EXCEPT_START")
    return False


_BEFORE_WITH = bytes([dis.opmap["BEFORE_WITH"]])
#: Function -> whether its code has a with statement (append-only, like the registry).
_with_statements: dict[FunctionInfo, bool] = {}


def _has_with_statement(info: FunctionInfo) -> bool:
    known = _with_statements.get(info)
    if known is None:  # its opcodes, searched in C
        known = _BEFORE_WITH in info.original_code.co_code[::2]
        _with_statements[info] = known
    return known


#: (function, site index) -> `_calls_with_exit` (a property of the code: asked at every pause)
_with_exit: dict[tuple[FunctionInfo, int], bool] = {}


def _calls_with_exit(info: FunctionInfo, site: CallSite) -> bool:
    """Whether the call at `site` is a with statement's call of its __exit__."""
    key = (info, site.index)
    known = _with_exit.get(key)
    if known is None:
        known = _with_exit[key] = _finds_with_exit(info, site)
    return known


def _finds_with_exit(info: FunctionInfo, site: CallSite) -> bool:
    if not _has_with_statement(info):  # the usual case: no scan at each site's first visit
        return False
    from .sites import origin_of  # loaded with `info.flow` (see producers.py)

    flow = info.flow
    for producers, _ in flow.stacks[site.position][site.depth :]:
        for key in producers:
            origin = origin_of(flow, key)
            if origin is not None and origin >= 0:
                if flow.instrs[producer_position(origin)].name == "BEFORE_WITH":
                    return True
    return False


def _indirect_call_error(
    frame: FrameType, info: FunctionInfo, site: CallSite, target: Any, callee: FrameType
) -> ContinuationError:
    name = callee.f_code.co_qualname
    if _calls_with_exit(info, site):
        reason = Reason.WITH_STATEMENT
        problem = f"{name} is the __exit__ that the with statement calls when its body ends"
        hint = "pause before or after the with statement, or inside its body"
    elif target is frame.f_builtins.get("__build_class__"):
        reason = Reason.CLASS_BODY
        problem = f"the body of class {name} runs inside the class statement"
        hint = "move the pause out of the class body"
    elif callees.is_construction(target, callee):
        reason = Reason.CONSTRUCTOR
        problem = (
            f"{name} runs inside the call {target.__qualname__}(), which returns the new "
            f"instance, not what {callee.f_code.co_name} returns"
        )
        hint = "create the instance first, then call a method of it that pauses"
    elif callees.c_wrapper(target) is not None:
        reason = Reason.INDIRECT_CALL
        kind, wrapped = callees.c_wrapper(target)
        problem = (
            f"the pausing function {name} runs under {kind} of {wrapped}, a wrapper written "
            f"in C, which {info.qualname}'s call went through, so the call cannot be resumed"
        )
        hint = f"remove {kind} from {wrapped}: a function that pauses cannot run under it"
    else:
        reason = Reason.INDIRECT_CALL
        problem = (
            f"the pausing function {name} was called by {callees.describe(target)}, not by "
            f"{info.qualname} itself, so the call cannot be resumed"
        )
        hint = f"call {name} directly (a for loop instead of map(), say)"
    return ContinuationError(
        f"cannot pause {info.qualname} ({info.filename}:{site.lineno}): {problem}; {hint}",
        qualname=info.qualname,
        filename=info.filename,
        lineno=site.lineno,
        reason=reason,
    )


class CapturePlan:  # made at the first pause at each call site; never changed
    """What a snapshot saves of a frame paused at one call site."""

    __slots__ = ("user", "hidden", "captured", "entry", "read_user", "state", "may_hold_locals")

    #: User locals, saved when bound, in the code's order.
    user: tuple[str, ...]
    #: Hidden locals (the site's spills, the cell tuple), always bound there.
    hidden: tuple[str, ...]
    #: Hidden values read from the value stack: (name, slot, width) of each CAPTURE recipe.
    captured: tuple[tuple[str, int, int], ...]
    #: The frame's header entry when every user local is bound, or None when a user local's
    #: name looks hidden (then the entry depends on which locals are bound).
    entry: bytes | None
    #: Reads every user local at once from a frame's locals (in C), raising KeyError if one
    #: is unbound; None for fewer than two.
    read_user: Callable[[Any], tuple] | None
    #: The frame as a header with `entry` describes it (see wire.entry_state), or None.
    state: FrameState | None
    #: Whether the function may hold its frame's own locals dict (see held_locals.py).
    may_hold_locals: bool

    def __init__(
        self,
        user: tuple[str, ...],
        hidden: tuple[str, ...],
        captured: tuple[tuple[str, int, int], ...],
        entry: bytes | None,
        read_user: Callable[[Any], tuple] | None,
        state: FrameState | None,
        may_hold_locals: bool,
    ) -> None:
        self.user = user
        self.hidden = hidden
        self.captured = captured
        self.entry = entry
        self.read_user = read_user
        self.state = state
        self.may_hold_locals = may_hold_locals


def capture_plan(info: FunctionInfo, site: CallSite) -> CapturePlan:
    """The capture plan of `site` (made on first use, then kept with `info`)."""
    plan = info.capture_plans.get(site.index)
    if plan is None:
        plan = info.capture_plans.setdefault(site.index, _make_plan(info, site))
    return plan


def _make_plan(info: FunctionInfo, site: CallSite) -> CapturePlan:
    user, read_user = _user_plan(info)
    captured = tuple(
        (recipe.name, recipe.slot, recipe.width)
        for recipe in site.recipes
        if recipe.kind is RecipeKind.CAPTURE
    )
    names = {name for name, _, _ in captured}
    hidden = tuple(name for name in site.hidden if name not in names)
    hidden += (CELLS,) if info.has_cells else ()
    entry = state = None
    if not any(name.startswith(wire.HIDDEN_PREFIX) for name in user):
        fields = _entry_fields(info, site, dict.fromkeys((*user, *hidden, *names)))
        entry, state = wire.header_entry(*fields), wire.entry_state(PY_MINOR, *fields)
    may_hold = held_locals.may_hold(info.original_code)
    return CapturePlan(user, hidden, captured, entry, read_user, state, may_hold)


#: Function -> its user locals in the code's order, and their reader (see CapturePlan).
_user_plans: dict[FunctionInfo, tuple[tuple[str, ...], Any]] = {}


def _user_plan(info: FunctionInfo) -> tuple[tuple[str, ...], Any]:
    known = _user_plans.get(info)
    if known is None:
        user = tuple(name for name in info.original_code.co_varnames if name in info.user_locals)
        known = (user, operator.itemgetter(*user) if len(user) > 1 else None)
        _user_plans[info] = known
    return known


def capture(frame: FrameType, info: FunctionInfo, site: CallSite) -> dict[str, Any]:
    """The values a resume of one paused frame needs, by name."""
    plan = capture_plan(info, site)
    # synced now (3.11, 3.12) or a live view (3.13): read at once
    current, held = held_locals.read_locals(frame, plan.may_hold_locals)
    try:
        values = _user_values(plan, current)
        adopted_cells = info.adopted and info.has_cells
        for name in plan.hidden:
            values[name] = None if adopted_cells and name == CELLS else current[name]
        for name, slot, width in plan.captured:
            values[name] = _captured(frame, info, site, slot, width)
        if adopted_cells:  # its cells were never copied to a local: see helpers.cells_of
            captured = [values[name] for name, _, _ in plan.captured]
            values[CELLS] = helpers_.cells_of(info.original_code, current, captured)
    finally:
        held_locals.put_back(current, held)  # the program may hold it (`snap = locals()`)
    return values


def _user_values(plan: CapturePlan, current: Any) -> dict[str, Any]:
    """The bound user locals among a frame's locals `current`, in the code's order."""
    if plan.read_user is not None:
        try:
            return dict(zip(plan.user, plan.read_user(current), strict=True))  # all bound
        except KeyError:  # some are unbound
            pass
    return {name: current[name] for name in plan.user if name in current}


def _captured(frame: FrameType, info: FunctionInfo, site: CallSite, slot: int, width: int) -> Any:
    value = callees.captured_value(frame, slot, width)
    if value is callees.UNKNOWN:
        raise ContinuationError(
            f"cannot pause {info.qualname} ({info.filename}:{site.lineno}): the value stack of "
            "this CPython is laid out as the engine does not know, so a value loaded before "
            "the paused call cannot be saved; load it into a local before the call",
            qualname=info.qualname,
            filename=info.filename,
            lineno=site.lineno,
            reason=Reason.UNSAVED_VALUE,
        )
    return value


def serialize(saved: list[dict[str, Any]], frames: list[PausedFrame], attachment: Any) -> bytes:
    """The snapshot of `frames` (as `program_frames` gives them) with their `saved` values."""
    described = [_frame_entry(paused, values) for paused, values in zip(frames, saved, strict=True)]
    entries = [entry for entry, _ in described]
    states = [state for _, state in described]
    try:
        return wire.encode_entries(entries, saved, PY_MINOR, attachment, states, parsed=True)
    except RecursionError as exc:
        raise _too_deep(frames) from exc
    except Exception as exc:  # noqa: BLE001 - find the culprit, then report it
        raise _unpicklable(saved, frames, attachment) from exc


def _too_deep(frames: list[PausedFrame]) -> ContinuationError:
    info, site = frames[-1].info, frames[-1].site
    return ContinuationError(
        f"cannot pause {info.qualname} ({info.filename}:{site.lineno}): saving the program "
        f"exceeded the recursion limit ({sys.getrecursionlimit()}) with {len(frames)} paused "
        "frames; pause less deep, or save values that nest less deeply",
        qualname=info.qualname,
        filename=info.filename,
        lineno=site.lineno,
        reason=Reason.TOO_DEEP,
    )


def _frame_entry(paused: PausedFrame, values: dict[str, Any]) -> tuple[bytes, FrameState]:
    """The frame's header entry, and the state a parse of it reads."""
    plan = capture_plan(paused.info, paused.site)
    passed = passed_helpers.PASSED in values
    usual = len(values) == len(plan.user) + len(plan.hidden) + len(plan.captured) + passed
    # the same count can hide an unbound user local and a value of another kind (the payload
    # orders values by the entry's names, so they must be exactly these)
    usual = usual and not paused.constructs and all(map(values.__contains__, plan.user))
    if plan.entry is not None and usual and not passed:
        return plan.entry, plan.state  # every user local is bound, no constructor call
    if plan.entry is not None and usual:  # the same, through plain helpers it names
        known = _passed_entries.get(plan)
        if known is None:
            fields = _entry_fields(paused.info, paused.site, values)
            known = _passed_entries[plan] = (
                wire.header_entry(*fields),
                wire.entry_state(PY_MINOR, *fields),
            )
        return known
    fields = _entry_fields(paused.info, paused.site, values, paused.constructs)
    return wire.header_entry(*fields), wire.entry_state(PY_MINOR, *fields)


#: Capture plan -> its frame's header entry and state when every user local is bound and the
#: paused call ran in plain helpers it names (`passed_helpers.PASSED`).
_passed_entries: dict[CapturePlan, tuple[bytes, FrameState]] = {}


def _header_entry(
    info: FunctionInfo, site: CallSite, values: dict[str, Any], constructs: bool = False
) -> bytes:
    return wire.header_entry(*_entry_fields(info, site, values, constructs))


def _entry_fields(
    info: FunctionInfo, site: CallSite, values: dict[str, Any], constructs: bool = False
) -> tuple:
    """The fields of the frame's header entry (the arguments of wire.header_entry)."""
    return (
        info.module,
        info.qualname,
        info.fingerprint,
        site.index,
        site.lineno,
        site.label,
        wire.hidden_names(values),
        wire.saved_names(values, info.user_locals),
        constructs,
        info.original_code.co_cellvars if CELLS in values else None,
    )


def _unpicklable(
    saved: list[dict[str, Any]], frames: list[PausedFrame], attachment: Any
) -> ContinuationError:
    try:
        pickling.dumps(attachment)
    except Exception as exc:  # noqa: BLE001
        return ContinuationError(
            f"the state saved with the program is not picklable: {exc}",
            reason=Reason.ATTACHMENT,
        )
    for values, paused in zip(saved, frames, strict=True):
        info, site = paused.info, paused.site
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
    return ContinuationError("the snapshot is not picklable", reason=Reason.UNPICKLABLE)


def _reason(value: Any, exc: Exception) -> str:
    if isinstance(exc, ResourceRefused):
        return str(exc)
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}".removeprefix("builtins.") + f" ({exc})"


def describe_value(info: FunctionInfo, site: CallSite, name: str) -> str:
    """Name a saved value the way a user would recognise it."""
    if name == CELLS:
        return "a closure cell"
    if name == HELPER_RESULT:
        return "what a plain helper returns"
    if name == POSITION:
        return "which of the functions of its name it is"
    if name == passed_helpers.PASSED:
        return "the names of the plain helpers it paused in"
    if name == stack_room.RECORDED:
        return "the recursion limit it paused under"
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

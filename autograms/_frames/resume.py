"""Turn a snapshot back into a chain of resume contexts, refusing anything unsafe first.

Every frame is checked before any user code runs, so a refused snapshot changes nothing:

* the function is found again by module and qualified name and must be instrumented;
* its code fingerprint and the Python minor version must match, or else the paused call must
  carry an ADDRESS label that still exists in the new code with the same hidden slots
  (the paused call is then remapped to it);
* no local the compiler believes bound may be missing (on 3.12+ the interpreter would crash
  reading it, docs/engine.md, pitfall P3).

A program pauses at the same few places again and again, so a header that passed the checks
is remembered (bounded, see wire.py) with, for each frame, the function its name found and
that function's code. The checks' outcome depends on nothing else, so a later snapshot with
the same header is only checked for those two: the same function, still running the same code.

Each context holds the values its twin stores into its locals and knows how to produce the
result of the call the frame was paused in: the next context's frame result, or, for the
innermost frame, the value the caller resumes with.
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Iterable
from functools import partial
from itertools import repeat
from inspect import CO_VARARGS, CO_VARKEYWORDS
from types import CellType, CodeType, FunctionType
from typing import Any

from .._record import Record, replace
from . import (
    earlier_snapshots,
    finalizers,
    helpers,
    passed_helpers,
    registered_closures,
    runtime,
    wire,
)
from .errors import ContinuationError, Reason, SnapshotMismatchError
from .finalizers import Quiet
from .producers import AnalysisError
from .identity import (
    POSITION,
    code_fingerprint,
    find_function,
    named_info,
    positioned,
    wrapped_functions,
)
from .jumps import saved_jumps
from .hidden import CELLS, HELPER_RESULT
from .records import CallSite, FrameState, Recipe
from .registry import FunctionInfo, lookup
from .runtime import MISSING
from .snapshot import describe_value
from .code_cache import twin_of
from .versions import PY_MINOR

_HIDDEN_PREFIXES = ("__ag_s", "__ag_e", "__ag_v")


class ResumeContext:
    """What one twin needs to continue its frame (handed over by `runtime.restore`)."""

    __slots__ = ("function", "restore_values", "child", "jumps")

    def __init__(
        self, function: FunctionType, restore_values: tuple, child: Any, jumps: tuple = ()
    ) -> None:
        #: The twin to call (with no arguments) to continue the frame.
        self.function = function
        #: The frame's saved locals, what continues its paused call, its site index.
        self.restore_values = restore_values
        #: The context of the frame it was paused calling, or None for the innermost.
        self.child = child
        #: Jumps in flight (saved with a pause in a finally block they passed) aimed at this
        #: frame: they get the resumed frame as their target.
        self.jumps = jumps


class PendingFrame:  # not a Record: built for every frame of every resume, never compared
    """A validated frame of a snapshot: where it resumes and with what (never changed)."""

    __slots__ = ("info", "site", "state", "values", "remapped")

    info: FunctionInfo
    site: CallSite
    #: The frame as the header describes it (its values are in `values`).
    state: FrameState
    values: dict[str, Any]
    remapped: bool

    def __init__(
        self,
        info: FunctionInfo,
        site: CallSite,
        state: FrameState,
        values: dict[str, Any],
        remapped: bool,
    ) -> None:
        self.info = info
        self.site = site
        self.state = state
        self.values = values
        self.remapped = remapped


class Loaded:
    """A snapshot checked against the loaded code and unpickled: ready to resume once.

    `attachment` is the caller's state saved with it; changes made to it (or to objects it
    shares with the frames) are kept by `store`.
    """

    __slots__ = ("frames", "attachment", "python", "used", "quiet", "shared_cells")

    frames: list[PendingFrame]
    attachment: Any
    python: tuple[int, int]
    used: bool
    #: The copies with finalizers the load made, quiet until resumed (finalizers.py).
    quiet: Quiet
    #: The cells of registered functions the load took as they are, with their contents
    #: then: a failed turn gives them back (registered_closures.roll_back).
    shared_cells: list

    def __init__(
        self,
        frames: list[PendingFrame],
        attachment: Any,
        python: tuple[int, int],
        used: bool = False,
        quiet: Quiet | None = None,
        shared_cells: list | None = None,
    ) -> None:
        self.frames = frames
        self.attachment = attachment
        self.python = python
        self.used = used
        self.quiet = quiet if quiet is not None else []
        self.shared_cells = shared_cells if shared_cells is not None else []

    @property
    def is_paused(self) -> bool:
        return bool(self.frames)

    def release(self) -> list[PendingFrame]:
        """Hand the frames to a resume and forget them, so the resumed program alone keeps
        its values alive."""
        frames, self.frames = self.frames, []
        return frames


def load(blob: bytes) -> Loaded:
    """Validate a snapshot's frames from its header, then unpickle it."""
    header, payload = wire.split(blob)
    checked = _check_frames(header)
    quiet: Quiet = []
    shared_cells: list = []
    token = finalizers.LOADING.set(quiet)
    cells_token = registered_closures.LOADING.set(shared_cells)
    try:
        values, attachment = wire.read_payload(payload, [frame.state for frame in checked])
    finally:
        registered_closures.LOADING.reset(cells_token)
        finalizers.LOADING.reset(token)
    frames = []
    for frame, frame_values in zip(checked, values, strict=True):
        if POSITION in frame_values:
            frame = replace(frame, info=positioned(frame.info, frame_values))
        if passed_helpers.PASSED in frame_values:
            passed_helpers.check(frame_values[passed_helpers.PASSED])
        if frame.derived:
            frame_values = derive_values(frame, frame_values)
        if frame.remapped:
            frame_values = fit_values(frame.info, frame_values, frame.state.cells)
            bound = held_locals(frame.info, frame_values)
            _check_remapped_locals(frame.state, frame.info, frame.site, bound)
        frames.append(
            PendingFrame(frame.info, frame.site, frame.state, frame_values, frame.remapped)
        )
    python = checked[0].state.python if checked else PY_MINOR
    return Loaded(frames, attachment, python, quiet=quiet, shared_cells=shared_cells)


def derive_values(frame: CheckedFrame, values: dict[str, Any]) -> dict[str, Any]:
    """A frame's saved values with the items an earlier release did not save read again
    (see earlier_snapshots.py); refuses if that fails."""
    try:
        return earlier_snapshots.derive(frame.info, frame.site, frame.derived, values)
    except Exception as exc:  # noqa: BLE001 - what the earlier release would have met
        state = frame.state
        raise SnapshotMismatchError(
            f"cannot resume {state.qualname} ({frame.info.filename}:{frame.site.lineno}): "
            "the snapshot was written by an earlier release, which read values under the "
            f"paused call again on resume, and reading them now fails ({exc!r}); finish the "
            "conversation with that release, or start it again",
            qualname=state.qualname,
            lineno=frame.site.lineno,
            module=state.module,
            reason=Reason.VALUE_STACK_CHANGED,
        ) from exc


def check(blob: bytes) -> int:
    """Validate a snapshot's frames from its header and its payload's checksum (nothing is
    unpickled); returns how many frames it holds (0: none is paused)."""
    header, _ = wire.split(blob)
    checked = _check_frames(header)
    wire.check_payload(blob)
    return len(checked)


def store(loaded: Loaded) -> bytes:
    """Serialize a loaded snapshot again, with its (possibly changed) attachment."""
    states = [
        replace(
            frame.state,
            values=frame.values,
            hidden=wire.hidden_names(frame.values),
            saved=wire.saved_names(frame.values, frame.info.user_locals),
            cells=frame.info.original_code.co_cellvars if CELLS in frame.values else None,
        )
        for frame in loaded.frames
    ]
    with finalizers.saving(loaded.quiet):
        return wire.encode(states, loaded.python, loaded.attachment)


def pack(attachment: Any) -> bytes:
    """A snapshot with no paused frames, holding only `attachment`."""
    return wire.encode([], PY_MINOR, attachment)


def build_contexts(frames: list[PendingFrame], value: Any) -> ResumeContext:
    """Chain resume contexts, outermost first; the innermost frame's call returns `value`."""
    child: ResumeContext | None = None
    if frames and HELPER_RESULT in frames[-1].values:  # plain helpers return a constant
        value = frames[-1].values[HELPER_RESULT]
    continuation: Any = repeat(value).__next__  # a C callable: no frame of its own
    in_flight = _jumps_in_flight(frames)
    for index in reversed(range(len(frames))):
        frame, callee = frames[index], frames[index + 1] if index + 1 < len(frames) else None
        if frame.state.constructs:
            continuation = partial(runtime.construct, continuation, _instance(frame, callee))
        restore = _restore_values(frame) + (continuation, frame.site.index)
        function = twin_of(frame.info).function
        targets = tuple([signal for signal in in_flight if signal.frame == index])
        child = ResumeContext(function, restore, child, targets)
        continuation = function
    return child


#: Function -> `operator.itemgetter` of its restore names (None for fewer than two): reads a
#: frame's saved values in its twin's order in C (append-only, like the registry).
_restore_readers: dict[FunctionInfo, Any] = {}


def _restore_values(frame: PendingFrame) -> tuple:
    """The frame's saved values in its twin's restore order, MISSING for the unbound ones."""
    names = frame.info.restore_names
    reader = _restore_readers.get(frame.info)
    if reader is None and len(names) > 1:
        reader = _restore_readers.setdefault(frame.info, operator.itemgetter(*names))
    if reader is not None:
        try:
            return reader(frame.values)  # every one bound: the usual case
        except KeyError:
            pass
    return tuple(map(frame.values.get, names, repeat(MISSING)))


def _jumps_in_flight(frames: list[PendingFrame]) -> list:
    """The jumps saved in flight among the frames' hidden values (see jumps.reduce_jump)."""
    found = []
    for frame in frames:
        if frame.state.hidden:
            found += saved_jumps(map(frame.values.get, frame.state.hidden))
    return found


def _instance(frame: PendingFrame, callee: PendingFrame | None) -> Any:
    """The instance a constructor call paused in `callee` (an __init__) gives `frame`."""
    first = callee.info.original_code.co_varnames[:1] if callee is not None else ()
    if not first or first[0] not in callee.values:
        raise SnapshotMismatchError(
            f"the snapshot says {frame.state.qualname} constructs an instance, but the next "
            "frame holds none",
            qualname=frame.state.qualname,
            module=frame.state.module,
            reason=Reason.DAMAGED,
        )
    return callee.values[first[0]]


class CheckedFrame(Record):
    """A frame of a snapshot header, checked against the code now loaded."""

    __slots__ = ("info", "site", "state", "remapped", "function", "code", "derived")

    info: FunctionInfo
    site: CallSite
    state: FrameState
    remapped: bool
    #: The function the frame's name finds, when it is the instrumented one itself (not a
    #: wrapper), and its code then: while both stay the same, so does the check's outcome.
    function: FunctionType | None
    code: CodeType | None
    #: Value-stack items the snapshot lacks because the release that wrote it read them
    #: again on resume: read at load (earlier_snapshots.py).
    derived: tuple[Recipe, ...]

    def __init__(
        self,
        info: FunctionInfo,
        site: CallSite,
        state: FrameState,
        remapped: bool,
        function: FunctionType | None,
        code: CodeType | None,
        derived: tuple[Recipe, ...] = (),
    ) -> None:
        self.info = info
        self.site = site
        self.state = state
        self.remapped = remapped
        self.function = function
        self.code = code
        self.derived = derived


#: Header bytes -> its frames as checked, when every frame's name found its function
#: directly (bounded like wire's memos).
_checked_headers: dict[bytes, list[CheckedFrame]] = {}


def _check_frames(header: bytes) -> list[CheckedFrame]:
    """Check every frame a header names, or raise (see the module docstring)."""
    known = _checked_headers.get(header)
    if known is not None and all(_unchanged(frame) for frame in known):
        return known
    checked = [check_frame(state) for state in wire.read_header(header)]
    if all(frame.function is not None for frame in checked):
        wire.remember(_checked_headers, header, checked, len(header))
    return checked


def _unchanged(frame: CheckedFrame) -> bool:
    """Whether the frame's name still finds the function it found when checked, running the
    same code (raises as the check would if the name finds nothing now)."""
    function = _bound_directly(frame) or find_function(frame.state.module, frame.state.qualname)
    if function is not frame.function:
        return False
    return function.__code__ is frame.code or lookup(function.__code__) is lookup(frame.code)


def _bound_directly(frame: CheckedFrame) -> FunctionType | None:
    """The frame's function when its module binds it under its qualified name, as it did
    when checked (what `find_function` finds then, without its walk), else None."""
    module = sys.modules.get(frame.state.module)
    found = getattr(module, "__dict__", {}).get(frame.state.qualname)
    if found is not None and found is frame.function and "__func__" not in found.__dict__:
        return found
    return None


def check_frame(state: FrameState) -> CheckedFrame:
    """Check one frame of a header against the code now loaded, or raise (see the module
    docstring; its locals are checked once its values are read)."""
    function, info = instrumented_function(state)
    remapped = state.fingerprint != info.fingerprint or state.python != PY_MINOR
    site = _remapped_site(state, info) if remapped else _site(state, info)
    derived = _check_site(state, info, site, remapped)
    direct = lookup(function.__code__) is info
    return CheckedFrame(
        info,
        site,
        state,
        remapped,
        function if direct else None,
        function.__code__ if direct else None,
        derived,
    )


def _site(state: FrameState, info: FunctionInfo) -> CallSite:
    if not 0 <= state.site < len(info.sites):
        raise SnapshotMismatchError(
            f"the snapshot names call site {state.site} of {state.qualname}, which has "
            f"{len(info.sites)}",
            qualname=state.qualname,
            module=state.module,
            reason=Reason.DAMAGED,
        )
    return info.sites[state.site]


def instrumented_function(state: FrameState) -> tuple[FunctionType, FunctionInfo]:
    """The function the snapshot names, and the instrumented function it is or wraps (found
    through its ``__wrapped__``, or the functions its closure holds)."""
    found = find_function(state.module, state.qualname)
    exact = named_info(found, state.qualname, state.fingerprint)  # as a pause checked it
    if exact is not None:
        return found, exact
    others = []
    named: FunctionInfo | None = None  # the first with the name (none has the code)
    plain: FunctionType | None = None  # the first undecorated one with the name's code
    for function in wrapped_functions(found):
        info = lookup(function.__code__)
        if info is not None and info.qualname == state.qualname:
            named = named or info
        elif info is not None:
            others.append(info.qualname)
        elif function.__code__.co_qualname == state.qualname:
            if code_fingerprint(function.__code__) == state.fingerprint:
                # the plain helper the pause adopted, under a decorated wrapper of its name
                return found, _adopted(function, state)
            plain = plain or function
    if named is not None:
        return found, named
    if not others and plain is not None:
        return found, _adopted(plain, state)  # under a plain decorator's wrapper, maybe
    if not others and lookup(found.__code__) is None:
        return found, _adopted(found, state)  # refused there, saying why
    if others:
        raise SnapshotMismatchError(
            f"{state.module}.{state.qualname} now names another function, "
            f"{state.module}.{others[0]}: the function the snapshot paused in was renamed "
            "or removed; a paused frame resumes only in a function of its own name",
            qualname=state.qualname,
            module=state.module,
            reason=Reason.FUNCTION_NOT_FOUND,
        )
    raise SnapshotMismatchError(
        f"{state.module}.{state.qualname} is no longer instrumented",
        qualname=state.qualname,
        module=state.module,
        reason=Reason.NOT_RESUMABLE,
    )


def _adopted(function: FunctionType, state: FrameState) -> FunctionInfo:
    """`function`, undecorated, adopted as a pause adopted it (helpers.py), or refuse."""
    try:
        return helpers.adopt(function)
    except (ContinuationError, AnalysisError) as exc:
        raise SnapshotMismatchError(
            f"{state.module}.{state.qualname} is not instrumented, and cannot be resumed as a "
            f"plain helper ({exc})",
            qualname=state.qualname,
            module=state.module,
            reason=Reason.NOT_RESUMABLE,
        ) from exc


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - reading an empty cell raises ValueError
    except ValueError:
        return False
    return True


def _remapped_site(state: FrameState, info: FunctionInfo) -> CallSite:
    """The site of the paused call's ADDRESS label in the code now loaded, which differs from
    the code (or the Python) that paused; refuse if there is none."""
    where = f"{state.qualname} ({info.filename}, paused at line {state.lineno})"
    if state.python != PY_MINOR:
        reason = Reason.OTHER_PYTHON
        saved, running = _python_name(state.python), _python_name(PY_MINOR)
        cause = f"the snapshot was saved by Python {saved} and this is Python {running}"
        across = "Python versions"
    else:
        reason = Reason.CODE_CHANGED
        cause = (
            f"the code of {state.qualname} changed since the snapshot was saved (fingerprint "
            f"{info.fingerprint} vs. saved {state.fingerprint})"
        )
        across = "code changes"
    if info.adopted:  # a plain helper has no labels to remap to (helpers.py)
        raise SnapshotMismatchError(
            f"cannot resume {where}: {cause}, and {state.qualname} is a plain helper (not "
            "decorated), which resumes only in the code it paused in; decorate it and label "
            'its pausing call (ADDRESS="...") to resume across changes',
            qualname=state.qualname,
            lineno=state.lineno,
            module=state.module,
            reason=reason,
        )
    if state.label is None:
        raise SnapshotMismatchError(
            f"cannot resume {where}: {cause}, and no ADDRESS label marks the paused call; "
            f"a paused call resumes across {across} only at an ADDRESS label: give the call "
            'one (ADDRESS="...")',
            qualname=state.qualname,
            lineno=state.lineno,
            module=state.module,
            reason=reason,
        )
    index = labelled_site(info, state.label, state.hidden)
    if index is None:
        raise SnapshotMismatchError(
            f"cannot resume {where}: {cause}, and its ADDRESS label {state.label!r} no longer "
            "exists",
            qualname=state.qualname,
            lineno=state.lineno,
            module=state.module,
            reason=Reason.LABEL_REMOVED,
        )
    return info.sites[index]


def labelled_site(info: FunctionInfo, label: str, hidden: tuple[str, ...]) -> int | None:
    """The site of the call ADDRESS `label` marks, or None: of the compiler's copies of it
    (see FunctionInfo.label_sites), the one with the saved value-stack items `hidden`."""
    copies = info.label_sites.get(label, ())
    saved = frozenset(name for name in hidden if name.startswith(_HIDDEN_PREFIXES))
    for index in copies:
        if info.sites[index].hidden == saved:
            return index
    return copies[0] if copies else None


def _python_name(version: tuple[int, int]) -> str:
    return ".".join(str(part) for part in version)


def _check_site(
    state: FrameState, info: FunctionInfo, site: CallSite, remapped: bool
) -> tuple[Recipe, ...]:
    """Refuse a frame whose call site cannot resume it; the recipes of the value-stack items
    an earlier release did not save, to be read at load."""
    if site.refusal is not None:
        where = f"{state.qualname} ({info.filename}:{site.lineno})"
        raise SnapshotMismatchError(
            f"cannot resume {where}: {site.refusal.problem}",
            qualname=state.qualname,
            lineno=site.lineno,
            module=state.module,
            reason=site.refusal.reason,
        )
    saved = frozenset(state.hidden)
    if remapped:
        saved = frozenset(name for name in saved if name.startswith(_HIDDEN_PREFIXES))
    missing = site.hidden - saved
    if not missing and (not remapped or saved == site.hidden):
        return ()
    where = f"{state.qualname} ({info.filename}:{site.lineno})"
    if remapped and not saved <= site.hidden:
        raise SnapshotMismatchError(
            f"cannot resume {where}: the value stack at ADDRESS {state.label!r} changed "
            f"(saved {sorted(saved)} vs. expected {sorted(site.hidden)})",
            qualname=state.qualname,
            lineno=site.lineno,
            module=state.module,
            reason=Reason.VALUE_STACK_CHANGED,
        )
    try:
        return earlier_snapshots.derivable(info, site, missing)
    except earlier_snapshots.NotDerivable:
        if state.fingerprint != info.fingerprint and state.label is not None:
            raise _entered_block_refusal(state, info, site, missing) from None
        raise SnapshotMismatchError(
            f"cannot resume {where}: the snapshot lacks values under the paused call that "
            f"this code saves ({', '.join(sorted(missing))}), and they cannot be read again "
            "now; it was written by another release of autograms or for other code: finish "
            "the conversation with the release that wrote it, or start it again",
            qualname=state.qualname,
            lineno=site.lineno,
            module=state.module,
            reason=Reason.VALUE_STACK_CHANGED,
        ) from None


def _entered_block_refusal(
    state: FrameState, info: FunctionInfo, site: CallSite, missing: frozenset[str]
) -> SnapshotMismatchError:
    """The refusal of a session whose edited code wraps its paused labelled call in a block
    (a for loop, a with block) that holds a value under the call: the session never ran
    the block's start, so it has no such value to resume with."""
    blocks = ", ".join(describe_value(info, site, name) for name in sorted(missing))
    return SnapshotMismatchError(
        f"cannot resume {state.qualname} ({info.filename}:{site.lineno}): the code now runs "
        f"the call ADDRESS {state.label!r} inside a block the paused conversation never "
        f"entered ({blocks}: not in its snapshot); keep that call outside the new block "
        "until such conversations finish, or start the conversation again",
        qualname=state.qualname,
        lineno=site.lineno,
        module=state.module,
        reason=Reason.VALUE_STACK_CHANGED,
    )


def _check_remapped_locals(
    state: FrameState, info: FunctionInfo, site: CallSite, bound: Iterable[str]
) -> None:
    """Refuse a remapped frame whose saved locals (`bound`, cells included) lack one that a
    fresh run of the code now loaded may have bound at `site` and that the code reads after
    it without assigning it. A local no path to `site` assigns is unbound there in a fresh
    run too: the code after it is the code's own business."""
    missing = frozenset(_frame_locals(info).difference(bound)) & _may_be_bound(info, site)
    starts = [site.position + 1, *_handler_of(info, site)]
    unsafe = locals_read_unbound(info, starts, missing, checked=True)
    if unsafe:
        raise SnapshotMismatchError(
            f"cannot resume {state.qualname} ({info.filename}:{site.lineno}): the snapshot "
            f"lacks locals {sorted(unsafe)} that the code reads after this point without "
            "assigning them",
            qualname=state.qualname,
            lineno=site.lineno,
            module=state.module,
            reason=Reason.MISSING_LOCALS,
        )


def _frame_locals(info: FunctionInfo) -> frozenset[str]:
    """Every local a frame of `info` holds: its user locals and its cell variables."""
    return info.user_locals | frozenset(info.original_code.co_cellvars)


def _may_be_bound(info: FunctionInfo, site: CallSite) -> frozenset[str]:
    """The locals a fresh run may have bound on reaching `site`: its parameters and those
    some path from the entry assigns (cached per function)."""
    key = ("bound at", site.position)
    cached = info.safety_cache.get(key)
    if cached is None:
        code = info.original_code
        count = code.co_argcount + code.co_kwonlyargcount
        count += bool(code.co_flags & CO_VARARGS) + bool(code.co_flags & CO_VARKEYWORDS)
        cached = frozenset(code.co_varnames[:count]) | info.flow.assigned_before(site.position)
        info.safety_cache[key] = cached
    return cached


def bound_locals(state: FrameState, info: FunctionInfo, saved: Iterable[str]) -> frozenset[str]:
    """The locals a frame's header says it holds: its saved user locals `saved`, and the
    variables of its saved cells (as the header names them; a header written before it named
    them: assumed to be the cell variables of the code now loaded, as `fit_values` assumes)."""
    cells: Iterable[str] = ()
    if CELLS in state.hidden:
        cells = state.cells if state.cells is not None else info.original_code.co_cellvars
    return frozenset(saved).union(cells)


def fit_values(
    info: FunctionInfo, values: dict[str, Any], cells: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """A remapped frame's saved values laid out for the code now loaded. `cells` names the
    variables of the saved cells (None: assumed to be the cell variables of the code now
    loaded when as many). A saved cell whose variable is still a cell variable stays shared
    with the closures holding it; one whose variable became a plain local gives it its value;
    a local that became a cell variable moves into a new cell. Saved cells that fit neither
    are left out (a missing local is refused)."""
    fitted = dict(values)
    cellvars = info.original_code.co_cellvars
    saved = _saved_cells(fitted.pop(CELLS, None), cells, cellvars)
    for name, cell in saved.items():
        if name in info.user_locals and name not in fitted and _filled(cell):
            fitted[name] = cell.cell_contents
    if not cellvars:
        return fitted
    layout = []
    for name in cellvars:
        cell = saved.get(name)
        if not isinstance(cell, CellType):
            cell = CellType() if name not in fitted else CellType(fitted[name])
        fitted.pop(name, None)
        layout.append(cell)
    fitted[CELLS] = tuple(layout)
    return fitted


def _saved_cells(
    saved: Any, names: tuple[str, ...] | None, cellvars: tuple[str, ...]
) -> dict[str, Any]:
    """The saved cells by the name of their variable (empty if they do not match `names`)."""
    names = cellvars if names is None else names
    if not isinstance(saved, tuple) or len(saved) != len(names):
        return {}
    return dict(zip(names, saved, strict=True))


def held_locals(info: FunctionInfo, values: dict[str, Any]) -> frozenset[str]:
    """The locals `values` (laid out by `fit_values`) hold: user locals and filled cells."""
    cells = zip(info.original_code.co_cellvars, values.get(CELLS, ()), strict=False)
    return frozenset(values).union(name for name, cell in cells if _filled(cell))


def _handler_of(info: FunctionInfo, site: CallSite) -> list[int]:
    region = info.flow.regions[site.position]
    return [] if region is None else [info.flow.handler_position(region)]


def locals_read_unbound(
    info: FunctionInfo, starts: list[int], missing: frozenset[str], *, checked: bool
) -> set[str]:
    """Locals of `missing` that execution continuing at `starts` could read before
    assigning them (see `Flow.unbound_reads`; cached per function)."""
    if not missing:
        return set()
    key = (tuple(starts), missing, checked)
    cached = info.safety_cache.get(key)
    if cached is None:
        from .analysis import local_name  # the analysis is loaded by `info.flow`

        positions = info.flow.unbound_reads(tuple(starts), missing, checked=checked)
        cached = frozenset(local_name(info.flow.instrs[position].arg) for position in positions)
        info.safety_cache[key] = cached
    return set(cached)


# -- a frame at another label, for remap.py ---------------------------------------------------


def check_frame_at(state: FrameState, label: str) -> CheckedFrame:
    """Check one frame of a header as if it were paused at the call ADDRESS `label` marks
    in its function now loaded (a remap its caller names), or raise: the call must be one
    a pause can resume, with the same hidden value-stack items as the paused one."""
    _, info = instrumented_function(state)
    index = labelled_site(info, label, state.hidden)
    if index is None:
        known = ", ".join(repr(name) for name in sorted(info.labels)) or "none"
        raise SnapshotMismatchError(
            f"{state.qualname} ({info.filename}) has no call with ADDRESS {label!r} "
            f"(labels: {known})",
            qualname=state.qualname,
            reason="unknown label",
        )
    site = info.sites[index]
    derived = _check_site(replace(state, label=label), info, site, True)
    return CheckedFrame(info, site, state, True, None, None, derived)


def check_saved_locals(frame: CheckedFrame, held: frozenset[str]) -> None:
    """Refuse a remapped frame unless the locals it holds (`held`: `bound_locals` of its
    header, or `held_locals` of its values) include every local a fresh run may have bound
    at its call site and reads after it without assigning it."""
    _check_remapped_locals(frame.state, frame.info, frame.site, held)

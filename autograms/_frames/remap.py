"""Fitting a snapshot to changed code, frame by frame: how each paused frame would resume, and
resuming frames the code no longer has at ADDRESS labels the caller names.

`fit(snapshot, labels)` reads the header only (nothing is unpickled unless asked) and says for
every paused frame one of:

* ``same`` -- its code is unchanged: it resumes at the call it paused in;
* ``remapped`` -- its code (or the Python) changed: it resumes at its own ADDRESS label;
* ``relabelled`` -- it resumes at a label the caller's mapping names (see below);
* ``dropped`` -- it is inside a relabelled frame: it is left and never resumed;
* ``refused`` -- it cannot resume, with the `SnapshotMismatchError` a load would raise.

A mapping (`labels`) is for frames that would be refused. Its keys name such a frame by the
ADDRESS label it paused at, else by its function (``module:qualname``, ``module.qualname`` or
``qualname``); its value is an ADDRESS label of the code now loaded. The frame resumes at that
label in the innermost frame of its stack (itself first) whose function has it, as if it had
paused there: the call the label marks returns the value the resume brings. Frames inside that
one are dropped. The labelled call is checked as a remap is: it must be a call a pause can
resume, with the same hidden value-stack items, and the frame's saved locals must hold every
local the code reads after it without assigning it.

`relabel` does the same and unpickles: it returns the snapshot `Loaded` with the dropped frames
gone and every other frame at its call site in the code now loaded, so `store` writes a
snapshot that resumes with no remap at all.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from enum import Enum
from typing import Any

from .._record import Record, replace
from . import finalizers, wire
from .errors import SnapshotMismatchError
from .hidden import CELLS
from .identity import POSITION, positioned
from .records import FrameState
from .resume import (
    CheckedFrame,
    Loaded,
    PendingFrame,
    check_frame,
    check_frame_at,
    bound_locals,
    check_saved_locals,
    derive_values,
    fit_values,
    held_locals,
)
from .versions import PY_MINOR

#: Refusals that mean a frame's function is gone (so it cannot hold the mapped label).
_GONE = frozenset(
    {"module not importable", "function not found", "not a function", "not instrumented"}
)


class Fit(Enum):
    """How one paused frame fits the code now loaded."""

    SAME = "same"
    REMAPPED = "remapped"
    RELABELLED = "relabelled"
    DROPPED = "dropped"
    REFUSED = "refused"


class FrameFit(Record):
    """One paused frame and how it fits the code now loaded."""

    __slots__ = (
        "module",
        "qualname",
        "fit",
        "filename",
        "lineno",
        "label",
        "paused_label",
        "reason",
        "error",
        "locals_checked",
    )

    module: str
    qualname: str
    fit: Fit
    #: The file of the function now loaded (refused: of its module, if loaded; dropped: None).
    filename: str | None
    #: The line it resumes at in the code now loaded (refused or dropped: the line it paused at).
    lineno: int
    #: The ADDRESS label it resumes at (refused or dropped: the one it paused at).
    label: str | None
    #: The ADDRESS label it paused at.
    paused_label: str | None
    #: Why it was remapped ("code changed" or "other Python version") or refused (the error's
    #: reason); None otherwise.
    reason: str | None
    #: The refusal, for a refused frame.
    error: SnapshotMismatchError | None
    #: Whether the saved locals of a remapped or relabelled frame were checked (False: the
    #: snapshot predates headers naming them; a load checks them once they are unpickled).
    locals_checked: bool

    def __init__(
        self,
        module: str,
        qualname: str,
        fit: Fit,
        filename: str | None,
        lineno: int,
        label: str | None,
        paused_label: str | None,
        reason: str | None = None,
        error: SnapshotMismatchError | None = None,
        locals_checked: bool = True,
    ) -> None:
        self.module = module
        self.qualname = qualname
        self.fit = fit
        self.filename = filename
        self.lineno = lineno
        self.label = label
        self.paused_label = paused_label
        self.reason = reason
        self.error = error
        self.locals_checked = locals_checked


def fit(
    snapshot: bytes, labels: Mapping[str, str] | None = None, *, read_values: bool = False
) -> list[FrameFit]:
    """How each paused frame of `snapshot` fits the code now loaded, outermost first (see the
    module docstring). Only the header is read, unless `read_values` and the header does not
    name a remapped frame's saved locals: then the snapshot is unpickled to learn them.
    Raises SnapshotMismatchError only for a damaged snapshot."""
    header, _ = wire.split(snapshot)
    wire.check_payload(snapshot)
    names = _SavedNames(snapshot, read_values)
    return [fitted for fitted, _ in _fit_states(wire.read_header(header), labels or {}, names)]


def relabel(
    snapshot: bytes, labels: Mapping[str, str] | None = None
) -> tuple[Loaded, list[FrameFit]]:
    """Load `snapshot` with its frames fitted to the code now loaded (see the module
    docstring), and how each fits; raises the first refusal's SnapshotMismatchError."""
    states, payload = wire.read(snapshot)
    quiet: finalizers.Quiet = []
    token = finalizers.LOADING.set(quiet)
    try:
        values, attachment = wire.read_payload(payload, states)
    finally:
        finalizers.LOADING.reset(token)
    names = _SavedNames(snapshot, True, values)
    fitted = _fit_states(states, labels or {}, names)
    for frame_fit, _ in fitted:
        if frame_fit.error is not None:
            raise frame_fit.error
    frames = [
        _at_site(checked, frame_values)
        for (_, checked), frame_values in zip(fitted, values, strict=True)
        if checked is not None
    ]
    return Loaded(frames, attachment, PY_MINOR, quiet=quiet), [frame_fit for frame_fit, _ in fitted]


def relabel_header(snapshot: bytes, labels: Mapping[str, str] | None = None) -> bytes | None:
    """What `relabel` then `store` give, without unpickling anything: `snapshot` with only
    its header rewritten. A frame whose values must be checked or laid out again (its header
    does not name its saved locals, or its cells are in another layout) is left to a remap
    at its new label when loaded. None when that is not enough -- a frame is dropped (its
    values and its caller's state must go), or such a frame comes from another Python or
    unchanged code: then `relabel` it. Raises the first refusal's SnapshotMismatchError."""
    header, _ = wire.split(snapshot)
    fitted = _fit_states(wire.read_header(header), labels or {}, _SavedNames(snapshot, False))
    for frame_fit, _ in fitted:
        if frame_fit.error is not None:
            raise frame_fit.error
    states = []
    for _, checked in fitted:
        if checked is None:
            return None
        if _moves_as_saved(checked):
            states.append(_moved(checked))
        elif checked.state.python == PY_MINOR and checked.state.fingerprint != (
            checked.info.fingerprint
        ):
            states.append(_labelled(checked))
        else:
            return None
    return wire.with_header(snapshot, states, PY_MINOR)


def _moves_as_saved(checked: CheckedFrame) -> bool:
    """Whether a frame resumes at its checked site with its values as saved: unchanged, or
    its saved locals checked from the header and its cells in the layout the code expects."""
    if not checked.remapped:
        return True
    state, cellvars = checked.state, checked.info.original_code.co_cellvars
    if state.saved is None:
        return False
    if CELLS not in state.hidden:
        return not cellvars
    return bool(cellvars) if state.cells is None else state.cells == cellvars


def _labelled(checked: CheckedFrame) -> FrameState:
    """A frame's header entry at the label of its checked site, its code still the one it
    paused in: a load remaps it there, checking (and laying out) its values once read."""
    site = checked.site
    return replace(checked.state, site=site.index, lineno=site.lineno, label=site.label)


def attachment_of(snapshot: bytes) -> Any:
    """The attachment saved in `snapshot`, whatever its frames (this unpickles)."""
    states, payload = wire.read(snapshot)
    return wire.read_payload(payload, states)[1]


class _SavedNames:
    """The locals each remapped frame holds: from the header when it names its saved locals
    and the variables of its saved cells, else (when allowed) from the unpickled values laid
    out as a load lays them out."""

    def __init__(
        self, snapshot: bytes, read_values: bool, values: tuple[dict, ...] | None = None
    ) -> None:
        self.snapshot = snapshot
        self.read_values = read_values
        self.values = values

    def held(self, index: int, checked: CheckedFrame) -> frozenset[str] | None:
        """None when unknown without unpickling, and unpickling is not allowed."""
        state = checked.state
        if state.saved is not None and (state.cells is not None or CELLS not in state.hidden):
            return bound_locals(state, checked.info, state.saved)
        if not self.read_values:
            return None
        if self.values is None:
            states, payload = wire.read(self.snapshot)
            self.values = wire.read_payload(payload, states)[0]
        laid_out = fit_values(checked.info, self.values[index], state.cells)
        return held_locals(checked.info, laid_out)


_Fitted = tuple[FrameFit, CheckedFrame | None]


def _fit_states(
    states: list[FrameState], labels: Mapping[str, str], names: _SavedNames
) -> list[_Fitted]:
    """Each frame's fit, innermost first then reversed; a relabelled frame drops the frames
    inside it."""
    fitted: list[_Fitted | None] = [None] * len(states)
    index = len(states) - 1
    while index >= 0:
        state = states[index]
        try:
            fitted[index] = _fit_unchanged(index, state, names)
            index -= 1
            continue
        except SnapshotMismatchError as error:
            refusal = error
        target = _target(labels, state)
        owner = None if target is None else _owner(states, index, target)
        if owner is None:
            if target is not None:
                refusal = _no_owner(state, target, refusal)
            fitted[index] = (_refused(state, refusal), None)
            index -= 1
            continue
        try:
            fitted[owner] = _fit_relabelled(owner, states[owner], target, names)
        except SnapshotMismatchError as error:
            fitted[index] = (_refused(state, _mapping_refused(state, target, error)), None)
            index -= 1
            continue
        for inner in range(owner + 1, len(states)):
            fitted[inner] = (_dropped(states[inner]), None)
        index = owner - 1
    return fitted  # type: ignore[return-value]


def _fit_unchanged(index: int, state: FrameState, names: _SavedNames) -> _Fitted:
    checked = check_frame(state)
    if not checked.remapped:
        return _fitted(checked, Fit.SAME, None, True), checked
    held = names.held(index, checked)
    if held is not None:
        check_saved_locals(checked, held)
    reason = "other Python version" if state.python != PY_MINOR else "code changed"
    return _fitted(checked, Fit.REMAPPED, reason, held is not None), checked


def _fit_relabelled(index: int, state: FrameState, label: str, names: _SavedNames) -> _Fitted:
    checked = check_frame_at(state, label)
    held = names.held(index, checked)
    if held is not None:
        check_saved_locals(checked, held)
    return _fitted(checked, Fit.RELABELLED, None, held is not None), checked


def _fitted(checked: CheckedFrame, how: Fit, reason: str | None, locals_checked: bool) -> FrameFit:
    state, site = checked.state, checked.site
    return FrameFit(
        state.module,
        state.qualname,
        how,
        checked.info.filename,
        site.lineno,
        site.label,
        state.label,
        reason,
        None,
        locals_checked,
    )


def _refused(state: FrameState, error: SnapshotMismatchError) -> FrameFit:
    return FrameFit(
        state.module,
        state.qualname,
        Fit.REFUSED,
        getattr(sys.modules.get(state.module), "__file__", None),
        error.lineno if error.lineno is not None else state.lineno,
        state.label,
        state.label,
        error.reason,
        error,
    )


def _dropped(state: FrameState) -> FrameFit:
    return FrameFit(
        state.module, state.qualname, Fit.DROPPED, None, state.lineno, state.label, state.label
    )


def _target(labels: Mapping[str, str], state: FrameState) -> str | None:
    """The label the mapping gives a frame: by the label it paused at, else by its function."""
    keys = [state.label] if state.label is not None else []
    keys += [f"{state.module}:{state.qualname}", f"{state.module}.{state.qualname}", state.qualname]
    for key in keys:
        if key in labels:
            return labels[key]
    return None


def _owner(states: list[FrameState], index: int, label: str) -> int | None:
    """The innermost frame at or outside `index` whose function now loaded has `label`."""
    for candidate in range(index, -1, -1):
        try:
            check_frame_at(states[candidate], label)
        except SnapshotMismatchError as error:
            if error.reason == "unknown label" or error.reason in _GONE:
                continue
        return candidate
    return None


def _no_owner(
    state: FrameState, label: str, refusal: SnapshotMismatchError
) -> SnapshotMismatchError:
    return SnapshotMismatchError(
        f"{refusal}; the mapping sends {state.qualname} to ADDRESS {label!r}, but no function "
        "on its stack has that label now",
        qualname=state.qualname,
        lineno=state.lineno,
        reason="mapped label not found",
    )


def _mapping_refused(
    state: FrameState, label: str, error: SnapshotMismatchError
) -> SnapshotMismatchError:
    return SnapshotMismatchError(
        f"the mapping sends {state.qualname} (paused at line {state.lineno}) to ADDRESS "
        f"{label!r}, which cannot take it: {error}",
        qualname=error.qualname,
        lineno=error.lineno,
        reason=error.reason,
    )


def _at_site(checked: CheckedFrame, values: dict[str, Any]) -> PendingFrame:
    """A frame as if it had paused at its checked call site in the code now loaded."""
    if POSITION in values:
        checked = replace(checked, info=positioned(checked.info, values))
    if checked.derived:
        values = derive_values(checked, values)
    return PendingFrame(
        checked.info,
        checked.site,
        _moved(checked),
        fit_values(checked.info, values, checked.state.cells),
        False,
    )


def _moved(checked: CheckedFrame) -> FrameState:
    """A frame's header entry as if it had paused at its checked site in the code now
    loaded."""
    info, site = checked.info, checked.site
    return replace(
        checked.state,
        fingerprint=info.fingerprint,
        python=PY_MINOR,
        site=site.index,
        lineno=site.lineno,
        label=site.label,
    )

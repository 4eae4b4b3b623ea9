"""Deploys that never strand a conversation: check stored sessions against the code now loaded
before shipping it, and choose what becomes of the ones it would refuse.

    from autograms.deploys import check_sessions, upgrade_sessions

    report = check_sessions(autogram, store=open_store(url))   # or folder="sessions/"
    report.refused                                             # the sessions the code refuses

`check_sessions` loads every session of a store or a folder of session files against the
program's code *without running it*: the envelope and its signature, the session's format and
program, then each paused frame from the snapshot's header (`autograms._frames.fit`). Nothing
is unpickled unless a signature covers it: with a session key configured, a signed session's
values are unpickled too, so a saved value whose class the new code removed is found. Each
session gets a `Verdict`:

================ ===============================================================================
resumes          every paused frame's code is unchanged: it resumes where it paused
remapped         some frame's code (or the Python) changed: it resumes at its own ADDRESS label
mapped           refused, but the deploy's label mapping resumes it at a label of the new code
restarts         refused, and the deploy restarts refused sessions from the top
idle             not paused: its next message starts the program from the top anyway
refused          the new code cannot continue it (the report says which frame, line, and why)
================ ===============================================================================

What to do with the refused ones is a choice per deploy (``docs/sessions.md``): keep them for
the old code (`DeployReport.refused` names them), restart them from the top with their
conversation history kept (``restart=True``), or resume them at labels of the new code
(``labels={"old label or function": "new label"}``, checked like a remap; see
`autograms._frames.remap`). `check_sessions` with the same arguments says what
`upgrade_sessions` would do; `upgrade_sessions` rewrites the mapped and restarted sessions
(atomically, file by file; in a store only if no turn committed meanwhile) and leaves every
other session as it is.
"""

from __future__ import annotations

import contextlib
import enum
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import _frames, session
from ._errors import SessionError
from ._log import ConversationLog
from ._state import close_level, from_saved, to_saved
from .autogram import Autogram
from .memory import use_memory
from .stores import integrity
from .stores.base import Store
from .stores.errors import StoreError
from .stores.records import SessionRecord

#: times a store's session is read again when a turn committed while it was being upgraded
UPGRADE_ATTEMPTS = 3


class Verdict(enum.Enum):
    """What becomes of a stored session under the code now loaded (see the module docstring)."""

    RESUMES = "resumes"
    REMAPPED = "remapped"
    MAPPED = "mapped"
    RESTARTS = "restarts"
    IDLE = "idle"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class FrameReport:
    """One paused frame of a session, and how it fits the code now loaded."""

    module: str
    qualname: str
    #: "same", "remapped", "relabelled", "dropped" or "refused" (see autograms._frames.remap)
    fit: str
    #: the function's file now loaded (refused: its module's, when loaded; dropped: None)
    filename: str | None
    #: where it resumes in the code now loaded (refused or dropped: where it paused)
    lineno: int
    #: the ADDRESS label it resumes at (refused or dropped: the one it paused at)
    label: str | None
    #: the ADDRESS label it paused at
    paused_label: str | None
    #: why it was remapped ("code changed", "other Python version") or refused
    reason: str | None

    @property
    def function(self) -> str:
        """``module.qualname``."""
        return f"{self.module}.{self.qualname}"


@dataclass(frozen=True, slots=True)
class SessionCheck:
    """One session's verdict, and the facts behind it."""

    #: the session's id in a store, or its file's path relative to the folder
    session: str
    verdict: Verdict
    #: its paused frames, outermost first (empty when idle, or refused before they were read)
    frames: tuple[FrameReport, ...] = ()
    #: why it is (or, restarting, was) refused: the reason code of the error
    reason: str | None = None
    #: the refusal in words
    message: str | None = None
    #: the session format it was written in (None when it could not be read)
    format: int | None = None
    #: whether its values were unpickled too (signed, with the key configured)
    values_read: bool = False
    #: False when a remapped frame's saved locals could not be checked from the snapshot's
    #: header (a session written before format 3, unsigned): its load checks them
    locals_checked: bool = True

    @property
    def frame(self) -> FrameReport | None:
        """The frame the verdict is about: the refused one, else the innermost that resumes."""
        refused = [frame for frame in self.frames if frame.fit == "refused"]
        if refused:
            return refused[-1]
        kept = [frame for frame in self.frames if frame.fit != "dropped"]
        return kept[-1] if kept else None


@dataclass(frozen=True, slots=True)
class DeployReport:
    """Every session's verdict, in the order they were read."""

    sessions: list[SessionCheck] = field(default_factory=list)

    def count(self, verdict: Verdict) -> int:
        return sum(1 for check in self.sessions if check.verdict is verdict)

    @property
    def refused(self) -> list[SessionCheck]:
        """The sessions the code now loaded cannot continue."""
        return [check for check in self.sessions if check.verdict is Verdict.REFUSED]

    @property
    def ok(self) -> bool:
        """Whether every session can continue (none refused)."""
        return not self.refused


@dataclass(frozen=True, slots=True)
class DeployPlan:
    """What a deploy does with the sessions the new code would refuse."""

    #: old ADDRESS label or function -> ADDRESS label of the new code
    labels: Mapping[str, str] = field(default_factory=dict)
    #: restart the refused sessions no mapping resumes
    restart: bool = False


def _plan(labels: Mapping[str, str] | None, restart: bool) -> DeployPlan:
    """The plan, its label mapping checked: old label or function -> new label, all strings."""
    if labels is None:
        return DeployPlan({}, restart)
    if not isinstance(labels, Mapping):
        raise TypeError(
            f"labels must map old labels or functions to new labels, not {type(labels).__name__}"
            "; e.g. labels={'old_label': 'new_label'}"
        )
    for old, new in labels.items():
        if not isinstance(old, str) or not isinstance(new, str) or not old or not new:
            raise TypeError(
                f"labels maps {old!r} to {new!r}: each old label or function and each new label "
                "must be a non-empty string"
            )
    return DeployPlan(dict(labels), restart)


# -- one session ----------------------------------------------------------------------------


def check_session(
    autogram: Autogram,
    text: str,
    *,
    labels: Mapping[str, str] | None = None,
    restart: bool = False,
    name: str = "",
) -> SessionCheck:
    """The verdict on one session's text (`Autogram.serialize`'s or a session file's), without
    running anything; `name` is how the report names it."""
    return _checked(autogram, text, _plan(labels, restart), name)[0]


def upgrade_session(
    autogram: Autogram,
    text: str,
    *,
    labels: Mapping[str, str] | None = None,
    restart: bool = False,
    name: str = "",
) -> tuple[SessionCheck, str | None]:
    """The verdict on one session's text, and its new text when the verdict is ``mapped`` or
    ``restarts`` (None otherwise: the session stays as it is). A mapped session whose values
    then fail the mapping's check is restarted with `restart`, else refused."""
    plan = _plan(labels, restart)
    check, envelope = _checked(autogram, text, plan, name)
    if check.verdict not in (Verdict.MAPPED, Verdict.RESTARTS) or envelope is None:
        return check, None
    return _rewritten(autogram, envelope, check, plan)


def _checked(
    autogram: Autogram, text: str, plan: DeployPlan, name: str
) -> tuple[SessionCheck, session.Envelope | None]:
    key = _key(autogram)
    try:
        envelope = session.decode(text, key=key)
        session.check_program(envelope, autogram.root_function)
    except SessionError as error:
        return _refusal(name, error.reason, str(error), None), None
    written = envelope.header.get("format")
    trusted = key is not None and envelope.signed
    try:
        if not trusted:
            _check_modules_imported(envelope.snapshot)
        if trusted:  # the signature covers the values: read them too
            with _unpickling(autogram):
                fits = _frames.fit(envelope.snapshot, plan.labels, read_values=True)
                _frames.attachment_of(envelope.snapshot)
        else:
            fits = _frames.fit(envelope.snapshot, plan.labels)
    except _frames.SnapshotMismatchError as error:
        return _refusal(name, error.reason, str(error), written), envelope
    return _verdict(name, fits, plan, written, trusted), envelope


def _check_modules_imported(snapshot: bytes) -> None:
    """Refuse a snapshot no signature covers whose frames name a module the program has not
    imported: the check must not run the code of a module a session file names."""
    for frame in _frames.describe(snapshot, with_locals=False):
        if frame.module not in sys.modules:
            raise _frames.SnapshotMismatchError(
                f"{frame.module}.{frame.qualname} is in module {frame.module!r}, which the "
                "program has not imported; an unsigned session is checked against imported "
                "modules only",
                qualname=frame.qualname,
                reason="module not imported",
            )


def _verdict(
    name: str, fits: list[_frames.FrameFit], plan: DeployPlan, written: Any, trusted: bool
) -> SessionCheck:
    frames = tuple(_frame_report(frame) for frame in fits)
    how = {frame.fit for frame in fits}
    refused = [frame for frame in fits if frame.fit is _frames.Fit.REFUSED]
    if refused:
        verdict = Verdict.RESTARTS if plan.restart else Verdict.REFUSED
    elif not fits:
        verdict = Verdict.IDLE
    elif _frames.Fit.RELABELLED in how:
        verdict = Verdict.MAPPED
    elif _frames.Fit.REMAPPED in how:
        verdict = Verdict.REMAPPED
    else:
        verdict = Verdict.RESUMES
    error = refused[-1].error if refused else None
    return SessionCheck(
        name,
        verdict,
        frames,
        reason=str(error.reason) if error is not None else None,
        message=str(error) if error is not None else None,
        format=written if isinstance(written, int) else None,
        values_read=trusted,
        locals_checked=all(frame.locals_checked for frame in fits),
    )


def _frame_report(frame: _frames.FrameFit) -> FrameReport:
    return FrameReport(
        frame.module,
        frame.qualname,
        frame.fit.value,
        frame.filename,
        frame.lineno,
        frame.label,
        frame.paused_label,
        str(frame.reason) if frame.reason is not None else None,
    )


def _refusal(name: str, reason: Any, message: str, written: Any) -> SessionCheck:
    return SessionCheck(
        name,
        Verdict.REFUSED,
        reason=str(reason),
        message=message,
        format=written if isinstance(written, int) else None,
    )


# -- rewriting a session ---------------------------------------------------------------------


def _rewritten(
    autogram: Autogram, envelope: session.Envelope, check: SessionCheck, plan: DeployPlan
) -> tuple[SessionCheck, str | None]:
    """The session moved to its mapped labels, or restarted; refused if its values do not
    allow it (then restarted instead when the plan says so)."""
    try:
        with _unpickling(autogram):
            if check.verdict is Verdict.MAPPED:
                snapshot = _relabelled(envelope.snapshot, plan.labels)
            else:
                snapshot = _restarted(envelope.snapshot)
    except _frames.SnapshotMismatchError as error:
        if check.verdict is Verdict.MAPPED and plan.restart:
            return _rewritten(autogram, envelope, _as(check, Verdict.RESTARTS, error), plan)
        return _as(check, Verdict.REFUSED, error), None
    return check, _encoded(autogram, envelope, snapshot)


def _relabelled(snapshot: bytes, labels: Mapping[str, str]) -> bytes:
    """The snapshot with its frames at their mapped labels, and the conversation levels of
    the frames it drops closed as their calls returning would close them."""
    loaded, fits = _frames.relabel(snapshot, labels)
    state = from_saved(loaded.attachment)
    levels = state["turn_stack"]
    dropped = [frame.qualname for frame in fits if frame.fit is _frames.Fit.DROPPED]
    for qualname in reversed(dropped):  # innermost first
        if len(levels) > 1 and levels[-1]["function"] == qualname:
            close_level(levels)
    loaded.attachment = to_saved(state)
    return _frames.store(loaded)


def _restarted(snapshot: bytes) -> bytes:
    """An idle snapshot with the conversation of `snapshot`: every level closed as the
    program returning would close it (its turns stay where a prompt sees them)."""
    state = from_saved(_frames.attachment_of(snapshot))
    levels = state["turn_stack"]
    while len(levels) > 1:
        close_level(levels)
    return _frames.pack(to_saved(state))


def _encoded(autogram: Autogram, envelope: session.Envelope, snapshot: bytes) -> str:
    """The session's text around a new snapshot, its log kept as the envelope held it."""
    log = envelope.log
    if log is not None:
        log = ConversationLog(encoded=log, signed=envelope.signed).encode()
    return session.encode(
        snapshot,
        key=_key(autogram),
        program=envelope.program or session.program_name(autogram.root_function),
        log=log,
        log_file=envelope.log_file,
        log_digest=envelope.log_digest,
    )


def _as(check: SessionCheck, verdict: Verdict, error: Exception) -> SessionCheck:
    return SessionCheck(
        check.session,
        verdict,
        check.frames,
        getattr(error, "reason", None),
        str(error),
        check.format,
        check.values_read,
        check.locals_checked,
    )


def _unpickling(autogram: Autogram) -> contextlib.AbstractContextManager[Any]:
    """Where a session's values are unpickled: a memory saved among them (a program keeping
    ``get_memory()`` in a local) restores as the current one."""
    return use_memory(autogram.init_memory())


def _key(autogram: Autogram) -> bytes | None:
    return session.session_key(autogram.config.session_key)


# -- stores and folders ---------------------------------------------------------------------


def check_sessions(
    autogram: Autogram,
    *,
    store: Store | None = None,
    folder: str | os.PathLike[str] | None = None,
    labels: Mapping[str, str] | None = None,
    restart: bool = False,
) -> DeployReport:
    """The verdict on every session of `store` or of the session files in `folder` (see the
    module docstring); nothing is changed. With `labels` and `restart`, the verdicts say what
    `upgrade_sessions` with the same arguments would do."""
    plan = _plan(labels, restart)
    if _from_store(store, folder):
        return DeployReport([_checked_record(autogram, store, r, plan) for r in _records(store)])
    return DeployReport(
        [
            _checked_file(autogram, text, plan, name, path)
            for name, path, text in _files(_folder(folder))
        ]
    )


def _checked_record(
    autogram: Autogram, store: Store, record: SessionRecord, plan: DeployPlan
) -> SessionCheck:
    """`_checked` for a stored session, whose row and log must match their seal in a signed
    store."""
    refused = _unsealed(autogram, store, record)
    return refused or _checked(autogram, record.blob, plan, record.id)[0]


def _unsealed(autogram: Autogram, store: Store, record: SessionRecord) -> SessionCheck | None:
    """The refusal of a row (or its log) that does not match its seal; None if it does."""
    try:
        integrity.check_stored(_key(autogram), store, record)
    except StoreError as error:
        return _refusal(record.id, error.reason, str(error), None)
    return None


def _checked_file(
    autogram: Autogram, text: str, plan: DeployPlan, name: str, path: Path
) -> SessionCheck:
    """`_checked` for a session file, whose ``.log`` must hold the bytes it names (and, signed,
    the ones signed)."""
    check, envelope = _checked(autogram, text, plan, name)
    if check.verdict is Verdict.REFUSED or envelope is None or envelope.log_file is None:
        return check
    digest = envelope.log_digest if check.values_read else None  # no key: nothing verified
    try:
        session.read_log(path, envelope.log_file[1], digest)
    except SessionError as error:
        return _refusal(name, error.reason, str(error), check.format)
    return check


def upgrade_sessions(
    autogram: Autogram,
    *,
    store: Store | None = None,
    folder: str | os.PathLike[str] | None = None,
    labels: Mapping[str, str] | None = None,
    restart: bool = False,
) -> DeployReport:
    """Rewrite the sessions of `store` or `folder` that the plan maps or restarts; every
    other session is left as it is. Returns each session's verdict (as done)."""
    plan = _plan(labels, restart)
    if _from_store(store, folder):
        return DeployReport([_upgrade_record(autogram, store, r, plan) for r in _records(store)])
    checks = []
    for name, path, text in _files(_folder(folder)):
        check, new_text = upgrade_session(
            autogram, text, labels=plan.labels, restart=plan.restart, name=name
        )
        if new_text is not None:
            if check.format == 1:
                new_text = _with_log_file(new_text, path, autogram)
            session.write_file(path, new_text)
        checks.append(check)
    return DeployReport(checks)


def _upgrade_record(
    autogram: Autogram, store: Store, record: SessionRecord, plan: DeployPlan
) -> SessionCheck:
    """Upgrade one stored session; read again if a turn commits meanwhile."""
    for _ in range(UPGRADE_ATTEMPTS):
        refused = _unsealed(autogram, store, record)
        if refused is not None:
            return refused
        check, new_blob = upgrade_session(
            autogram, record.blob, labels=plan.labels, restart=plan.restart, name=record.id
        )
        if new_blob is None:
            return check
        seal = integrity.sealed(_key(autogram), record, record.version + 1, new_blob)
        if store.replace_blob(record.id, record.version, new_blob, seal=seal):
            return check
        fresh = store.load_session(record.id)
        if fresh is None:
            return _refusal(record.id, "not found", "the session was deleted meanwhile", None)
        record = fresh
    return _refusal(
        record.id, "busy", "turns kept committing while it was upgraded: run again", None
    )


def _records(store: Store, page: int = 500) -> Iterator[SessionRecord]:
    """Every session of `store` with its blob, oldest first."""
    offset = 0
    while True:
        listed = store.list_sessions(None, page, offset)
        for row in listed:
            record = store.load_session(row.id)
            if record is not None:
                yield record
        if len(listed) < page:
            return
        offset += page


def _from_store(store: Store | None, folder: str | os.PathLike[str] | None) -> bool:
    """Whether the sessions are `store`'s (else `folder`'s); exactly one must be given."""
    if (store is None) == (folder is None):
        raise TypeError("name the sessions: store=... or folder=..., one of them")
    return store is not None


def _folder(folder: str | os.PathLike[str] | None) -> Path:
    path = Path(folder)
    if not path.is_dir():
        raise FileNotFoundError(f"no folder of session files at {os.fspath(folder)}")
    return path


def _files(folder: Path) -> Iterator[tuple[str, Path, str]]:
    """(name relative to `folder`, path, text) of every session file under `folder`: files
    named ``*.session`` (however damaged: the check refuses them) and files that start with
    the session marker after any whitespace, leaving logs (``.log``) and temporary files out."""
    marker = (session.MAGIC + ".").encode()
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix == ".log" or path.name.startswith(".session-"):
            continue
        with open(path, "rb") as stream:
            start = stream.read(4096).lstrip()
        if path.suffix != ".session" and not start.startswith(marker):
            continue
        yield str(path.relative_to(folder)), path, _read(path)


def _read(path: Path) -> str:
    """A session file's text; undecodable bytes kept visible so that the check refuses it."""
    with open(path, "rb") as stream:
        return stream.read().decode("utf-8", errors="replace")


def _with_log_file(text: str, path: Path, autogram: Autogram) -> str:
    """The rewrite of a session file of format 1, which named no part of its ``.log`` as its
    own (it owned the whole file): named, as a save would name it."""
    envelope = session.decode(text, key=_key(autogram))
    has_log_file = Path(f"{path}.log").exists()
    if envelope.log is not None or envelope.log_file is not None or not has_log_file:
        return text
    owned = (len(session.read_log(path)), session.log_size(path))
    return session.encode(
        envelope.snapshot, key=_key(autogram), program=envelope.program, log_file=owned
    )

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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from . import _frames, session
from ._errors import SessionError
from ._log import ConversationLog, LogSource
from ._state import Turn, close_level, from_saved, to_saved
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
    #: a stored session no program owns yet (see `check_sessions`): checked, never rewritten
    unclaimed: bool = False

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
    #: the sessions of a store that belong to other programs, left alone (a shared store)
    skipped: int = 0

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
    #: unpickle sessions no signature covers when a mapping or a restart needs their values
    trust_unsigned: bool = False


def _plan(
    labels: Mapping[str, str] | None, restart: bool, trust_unsigned: bool = False
) -> DeployPlan:
    """The plan, its label mapping checked: old label or function -> new label, all strings."""
    if labels is None:
        return DeployPlan({}, restart, trust_unsigned)
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
    return DeployPlan(dict(labels), restart, trust_unsigned)


# -- one session ----------------------------------------------------------------------------


def check_session(
    autogram: Autogram,
    text: str,
    *,
    labels: Mapping[str, str] | None = None,
    restart: bool = False,
    trust_unsigned: bool = False,
    name: str = "",
) -> SessionCheck:
    """The verdict on one session's text (`Autogram.serialize`'s or a session file's), without
    running anything; `name` is how the report names it."""
    return _checked(autogram, text, _plan(labels, restart, trust_unsigned), name)[0]


def upgrade_session(
    autogram: Autogram,
    text: str,
    *,
    labels: Mapping[str, str] | None = None,
    restart: bool = False,
    trust_unsigned: bool = False,
    name: str = "",
    log: LogSource | None = None,
) -> tuple[SessionCheck, str | None]:
    """The verdict on one session's text, and its new text when the verdict is ``mapped`` or
    ``restarts`` (None otherwise: the session stays as it is). A mapped session whose values
    then fail the mapping's check is restarted with `restart`, else refused. `log` is the
    session's log when its text does not hold it (a store's rows, a file's ``.log``): a
    restart that does not read the session's values starts from it."""
    plan = _plan(labels, restart, trust_unsigned)
    check, envelope = _checked(autogram, text, plan, name)
    if check.verdict not in (Verdict.MAPPED, Verdict.RESTARTS) or envelope is None:
        return check, None
    return _rewritten(autogram, envelope, check, plan, log)


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
        refused = _refusal(name, error.reason, str(error), written, trusted)
        if plan.restart:  # from its log if its values cannot be read
            return _as(refused, Verdict.RESTARTS, error), envelope
        return refused, envelope
    check = _verdict(name, fits, plan, written, trusted)
    if check.verdict is Verdict.MAPPED and not (trusted or plan.trust_unsigned):
        if _frames.relabel_header(envelope.snapshot, plan.labels) is None:
            return _untrusted(check, plan), envelope
    return check, envelope


def _untrusted(check: SessionCheck, plan: DeployPlan) -> SessionCheck:
    """A mapped session whose mapping needs its values, which no signature covers."""
    error = SessionError(
        f"session {check.session!r}: its mapping drops or reshapes paused frames, which "
        "unpickles the session's values, and no signature covers them (unsigned, or no "
        "session key configured); configure the session key, or pass trust_unsigned=True "
        "(--trust-unsigned) if every session in this place is trusted",
        reason="untrusted",
    )
    return _as(check, Verdict.RESTARTS if plan.restart else Verdict.REFUSED, error)


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


def _refusal(
    name: str, reason: Any, message: str, written: Any, values_read: bool = False
) -> SessionCheck:
    return SessionCheck(
        name,
        Verdict.REFUSED,
        reason=str(reason),
        message=message,
        format=written if isinstance(written, int) else None,
        values_read=values_read,
    )


# -- rewriting a session ---------------------------------------------------------------------


def _rewritten(
    autogram: Autogram,
    envelope: session.Envelope,
    check: SessionCheck,
    plan: DeployPlan,
    log: LogSource | None,
) -> tuple[SessionCheck, str | None]:
    """The session moved to its mapped labels, or restarted; refused if its values do not
    allow it (then restarted instead when the plan says so)."""
    readable = check.values_read or plan.trust_unsigned
    try:
        if check.verdict is Verdict.MAPPED:
            relabelled = _frames.relabel_header(envelope.snapshot, plan.labels)
            saved = None if relabelled is None else (relabelled, envelope.window)
            if saved is None:  # only when `readable` (see `_checked`)
                with _unpickling(autogram):
                    saved = _relabelled(envelope, plan.labels)
        else:
            saved = _restarted(autogram, envelope, readable, log)
    except _frames.SnapshotMismatchError as error:
        if check.verdict is Verdict.MAPPED and plan.restart:
            restarting = _as(check, Verdict.RESTARTS, error)
            return _rewritten(autogram, envelope, restarting, plan, log)
        return _as(check, Verdict.REFUSED, error), None
    except SessionError as error:  # the log cannot be read
        return _as(check, Verdict.REFUSED, error), None
    return check, _encoded(autogram, envelope, *saved)


def _relabelled(envelope: session.Envelope, labels: Mapping[str, str]) -> tuple[bytes, str]:
    """The session's snapshot with its frames at their mapped labels, and the conversation
    levels of the frames it drops closed as their calls returning would close them; and its
    window."""
    loaded, fits = _frames.relabel(envelope.snapshot, labels)
    state = from_saved(loaded.attachment, envelope.window)
    levels = state["turn_stack"]
    dropped = [frame.qualname for frame in fits if frame.fit is _frames.Fit.DROPPED]
    for qualname in reversed(dropped):  # innermost first
        if len(levels) > 1 and levels[-1]["function"] == qualname:
            close_level(levels)
    loaded.attachment, window = to_saved(state)
    return _frames.store(loaded), window


def _restarted(
    autogram: Autogram, envelope: session.Envelope, readable: bool, log: LogSource | None
) -> tuple[bytes, str]:
    """An idle snapshot keeping the session's conversation: from its saved state when it
    may be unpickled and can be (a class it holds may be gone), else from its log."""
    if readable:
        try:
            with _unpickling(autogram):
                return _restarted_state(envelope)
        except _frames.SnapshotMismatchError:
            pass  # its values cannot be read: its log can
    return _restarted_from_log(autogram, _log_entries(envelope, log))


def _restarted_state(envelope: session.Envelope) -> tuple[bytes, str]:
    """An idle snapshot, and its window, with the session's conversation: every level
    closed as the program returning would close it (its turns stay where a prompt sees
    them)."""
    state = from_saved(_frames.attachment_of(envelope.snapshot), envelope.window)
    levels = state["turn_stack"]
    while len(levels) > 1:
        close_level(levels)
    saved, window = to_saved(state)
    return _frames.pack(saved), window


def _restarted_from_log(autogram: Autogram, entries: list[dict[str, Any]]) -> tuple[bytes, str]:
    """An idle snapshot whose conversation is the messages of a session's log, the state of
    a new session otherwise (nothing of the session is unpickled)."""
    state = autogram.init_memory().state
    turns = state["turn_stack"][0]["turns"]
    for entry in entries:
        kind = entry.get("entry_type") if isinstance(entry, dict) else None
        if kind == "user_reply" and isinstance(entry.get("user_reply"), str):
            turns.append(Turn(role="user", content=entry["user_reply"]))
        elif kind == "agent_reply" and isinstance(entry.get("reply"), str):
            turns.append(Turn(role="agent", content=entry["reply"]))
    saved, window = to_saved(state)
    return _frames.pack(saved), window


def _log_entries(envelope: session.Envelope, log: LogSource | None) -> list[dict[str, Any]]:
    """The session's log entries: the ones its text holds, else `log`'s."""
    if envelope.log is not None:
        return ConversationLog(encoded=envelope.log, signed=envelope.signed).entries()
    if log is None:
        return []
    return list(log() if callable(log) else log)


def _encoded(autogram: Autogram, envelope: session.Envelope, snapshot: bytes, window: str) -> str:
    """The session's text around a new snapshot and window, its log kept as the envelope
    held it."""
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
        window=window,
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
        check.unclaimed,
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
    trust_unsigned: bool = False,
) -> DeployReport:
    """The verdict on every session of `store` or of the session files in `folder` (see the
    module docstring); nothing is changed. With `labels`, `restart` and `trust_unsigned`, the
    verdicts say what `upgrade_sessions` with the same arguments would do.

    In a store, only the program's own sessions are checked: another program's (a store
    several bots share) are left alone and counted in `DeployReport.skipped`. A session no
    program owns yet (a schema-1 row whose blob named none, `Sessions.list(unclaimed=True)`)
    is checked too, marked `SessionCheck.unclaimed`: its next turn may be this program's."""
    plan = _plan(labels, restart, trust_unsigned)
    if _from_store(store, folder):
        return _store_report(autogram, store, partial(_checked_record, autogram, store, plan))
    return DeployReport(
        [
            _checked_file(autogram, text, plan, name, path)
            for name, path, text in _files(_folder(folder))
        ]
    )


def _checked_record(
    autogram: Autogram, store: Store, plan: DeployPlan, record: SessionRecord
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
    try:  # without a key nothing was verified: the digest is not checked either
        session.read_saved_log(path, envelope, digest=check.values_read)
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
    trust_unsigned: bool = False,
) -> DeployReport:
    """Rewrite the sessions of `store` or `folder` that the plan maps or restarts; every
    other session is left as it is. Returns each session's verdict (as done).

    Nothing is unpickled that no signature covers (a session key configured, the session
    signed with it) unless `trust_unsigned`: a mapping that must read such a session's
    values refuses it (or restarts it, with `restart`), and a restart starts it from its
    log -- its messages kept, its per-session globals back to their defaults. A signed
    session is restarted from its saved state, or from its log when that state cannot be
    read (a class it holds was removed).

    In a store, only the program's own sessions are upgraded (see `check_sessions`): an
    unclaimed one is checked without the plan and never rewritten -- a rewrite would name
    this program in a session another bot may be the one to start."""
    plan = _plan(labels, restart, trust_unsigned)
    if _from_store(store, folder):
        return _store_report(autogram, store, partial(_upgrade_record, autogram, store, plan))
    checks = []
    for name, path, text in _files(_folder(folder)):
        check, new_text = upgrade_session(
            autogram,
            text,
            labels=plan.labels,
            restart=plan.restart,
            trust_unsigned=plan.trust_unsigned,
            name=name,
            log=partial(_file_log, autogram, path, text),
        )
        if new_text is not None:
            if check.format == 1:
                new_text = _with_log_file(new_text, path, autogram)
            session.write_file(path, new_text)
        checks.append(check)
    return DeployReport(checks)


def _upgrade_record(
    autogram: Autogram, store: Store, plan: DeployPlan, record: SessionRecord
) -> SessionCheck:
    """Upgrade one stored session; read again if a turn commits meanwhile."""
    if record.program is None:  # unclaimed: checked as it is
        return _checked_record(autogram, store, DeployPlan(), record)
    for _ in range(UPGRADE_ATTEMPTS):
        refused = _unsealed(autogram, store, record)
        if refused is not None:
            return refused
        check, new_blob = upgrade_session(
            autogram,
            record.blob,
            labels=plan.labels,
            restart=plan.restart,
            trust_unsigned=plan.trust_unsigned,
            name=record.id,
            log=partial(store.read_log, record.id, record.version),
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


def _file_log(autogram: Autogram, path: Path, text: str) -> list[dict[str, Any]]:
    """The entries of a session file's ``.log`` that belong to it."""
    envelope = session.decode(text, key=_key(autogram))
    return session.read_saved_log(path, envelope, digest=False)


def _store_report(
    autogram: Autogram, store: Store, one: Callable[[SessionRecord], SessionCheck]
) -> DeployReport:
    """`one`'s verdict on every session of the program (and every unclaimed one) in `store`;
    the sessions of other programs counted as skipped."""
    program = session.program_name(autogram.root_function)
    checks, skipped = [], 0
    for record in _records(store, program):
        if record.program not in (None, program):
            skipped += 1
        else:
            check = one(record)
            checks.append(replace(check, unclaimed=True) if record.program is None else check)
    return DeployReport(checks, skipped)


def _records(store: Store, program: str, page: int = 500) -> Iterator[SessionRecord]:
    """Every session of `store`, oldest first: those of `program` and the unclaimed ones read
    with their blob (a row claimed meanwhile names its new program), the others' rows
    without it."""
    offset = 0
    while True:
        listed = store.list_sessions(None, page, offset)
        for row in listed:
            if row.program not in (None, program):
                yield row
                continue
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
    size = session.log_size(path)
    return session.encode(
        envelope.snapshot,
        key=_key(autogram),
        program=envelope.program,
        log_file=(len(session.read_log(path)), size),
        window=envelope.window,
        log_crc=session.log_crc_of(path, size),
    )

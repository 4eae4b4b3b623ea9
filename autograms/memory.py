"""Conversation memory: what one session of a program knows, and which session is current.

A session (`MemoryObject`) has three parts:

* its **live state**, a typed `SessionState` (``autograms._state``): the conversation levels
  of the active decorated calls, per-session globals, the last user message ...;
* its **log** of chat events and model calls (``autograms._log``), append-only and read
  lazily, so a turn costs the same at turn 1 and turn 10,000;
* its **checkpoint**: the engine snapshot its last successful turn ended with -- the paused
  frames, if the program is paused, and the saved state, in one pickle.

A turn is a transaction (`MemoryObject.turn`): it runs on a working memory loaded from the
checkpoint, and only a turn that ends normally replaces the checkpoint and appends its log
entries (a turn that raises appends only the model calls it made, marked ``failed_turn``: they
were billed). ``memory_dict`` is AutoGRAMS' view of all of it: the state's keys, the log under
``"model_turns"``, and any key a program or run loop adds.

Conversation scopes (``@autograms_function(conv_scope=...)``): every decorated call pushes a
level that starts with its caller's system prompt; when it returns, a ``"global"`` level's
turns join its caller's, ``"normal"`` and ``"local"`` levels are dropped. A model call sees
the turns of every level from the innermost outward, stopping after the first ``"local"``
level it includes.

The current memory lives in a ContextVar (``autograms._context``): every thread and asyncio
task has its own, so concurrent sessions never see each other.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import operator
import os
import sys
import threading
from collections.abc import (
    Callable,
    Iterable,
    Iterator,
    Mapping,
    MutableMapping,
    MutableSequence,
    Sequence,
)
from contextvars import ContextVar
from types import FrameType
from typing import TYPE_CHECKING, Any

from ._record import Record
from . import _call_modes, _context, _frames, session
from ._context import (
    clear_memory,
    get_memory,
    require_memory,
    reset_memory,
    set_memory,
)
from ._entry_codec import to_stored
from ._flat_globals import UNCLAIMED, FlatUserGlobals, claim, per_module
from ._errors import ConversationError, SessionError
from ._globals import (
    get_persistent_globals,
    globals_snapshot,
    module_holding,
    route_plain_helpers,
    set_persistent_globals,
    shared_globals,
)
from ._version import __version__
from ._log import (
    ConversationLog,
    Entry,
    TurnLog,
    agent_reply_entry,
    model_entry,
    node_entry,
    user_reply_entry,
)
from ._scopes import Scopes
from ._state import Turn as Message
from ._state import (
    LIVE_CHARS_PER_TOKEN,
    MIN_LIVE_TURNS,
    SCOPES,
    VIEW_KEYS,
    Level,
    ModuleGlobals,
    SessionState,
    Turns,
    TurnsView,
    from_saved,
    live_limit,
    new_state,
    program_values,
    state_from_dict,
    to_saved,
    trim,
)
from .config import AutogramConfig
from .models import model_from_config

if TYPE_CHECKING:
    from ._prompts import Conversation
    from .models.records import ChatModel, ModelCall


#: `SerializableMemory.reply_data` not read yet
_UNKNOWN = object()


class Checkpoint(Record):
    """A session as its last successful turn left it."""

    __slots__ = ("snapshot", "paused", "window", "window_crc")

    #: the engine snapshot: the paused frames (none if the program is not paused) and the
    #: saved state, in one pickle
    snapshot: bytes
    #: whether the program is paused (its next turn continues it) rather than idle
    paused: bool
    #: the texts of the state's turns, saved beside the snapshot (see ``_state``)
    window: str
    #: the CRC-32 of `window` when known (checked on load, or continued from the checkpoint
    #: before: `session.extended_crc`); None: computed when the session is saved
    window_crc: int | None

    def __init__(
        self, snapshot: bytes, paused: bool, window: str = "", window_crc: int | None = None
    ) -> None:
        self.snapshot = snapshot
        self.paused = paused
        self.window = window
        self.window_crc = window_crc

    def after(self, snapshot: bytes, paused: bool, window: str) -> Checkpoint:
        """The checkpoint that follows this one, with its window's CRC-32 continued from this
        one's when the new window only appends to it (saving it then checksums only what a
        turn added, not the whole window)."""
        crc = session.extended_crc(window, self.window, self.window_crc)
        return Checkpoint(snapshot, paused, window, crc)


#: what a checkpoint follows when there was none before (an empty window, CRC-32 0)
_NO_CHECKPOINT = Checkpoint(b"", False, "", 0)


class Turn:
    """One turn in progress on a session (see `SerializableMemory.turn`)."""

    def __init__(
        self, memory: MemoryObject, loaded: _frames.Loaded, start: Checkpoint | None = None
    ) -> None:
        #: the working memory, current while the turn runs
        self.memory = memory
        #: the checkpoint the turn started from, loaded: `resume` continues its frames
        self.loaded = loaded
        #: that checkpoint (None: unknown; the turn's checkpoint follows it)
        self.start = start
        #: what the turn ends with (set by `finish`)
        self.checkpoint: Checkpoint | None = None
        #: the window of the state `saved_state` gave last
        self.window = ""

    @property
    def paused(self) -> bool:
        """Whether the program is paused, so that this turn continues it."""
        return self.loaded.is_paused

    def saved_state(self) -> dict[str, Any]:
        """What the engine saves with the frames when the program pauses: the working state,
        trimmed, in its saved form (its window is kept for the checkpoint)."""
        saved, self.window = to_saved(self.memory.live_state())
        return saved

    @contextlib.contextmanager
    def taking_root_calls(self) -> Iterator[None]:
        """While active, the root called with this turn's memory current runs a turn of its
        own inside this one (AutoGRAMS' ``with autogram.use_memory(m): chatbot()``)."""
        self.memory._outer_turn = self
        try:
            yield
        finally:
            self.memory._outer_turn = None

    def continue_after_root_turn(self) -> None:
        """A turn of the root ran inside this one: go on from the checkpoint it left."""
        self.loaded = session.load_snapshot(self.memory.checkpoint().snapshot)

    def finish(self, outcome: _frames.Outcome | None = None) -> None:
        """Set the checkpoint the turn ends with: the program's pause, or the state saved
        with the frames the turn started from (after the program returned, none are left;
        when the turn did not run the program, they stay paused)."""
        start = self.start if self.start is not None else _NO_CHECKPOINT
        if isinstance(outcome, _frames.Paused):
            self.checkpoint = start.after(outcome.snapshot, True, self.window)
            return
        self.loaded.attachment = self.saved_state()
        snapshot = _frames.store(self.loaded)
        self.checkpoint = start.after(snapshot, self.loaded.is_paused, self.window)


class SerializableMemory:
    """A session that can be saved: its live state, log and checkpoint, and turns run on
    them as transactions. `MemoryObject` adds the conversation."""

    def __init__(
        self,
        config: AutogramConfig | None = None,
        root_function: Any = None,
        memory_dict: dict[str, Any] | None = None,
        *,
        model: ChatModel | None = None,
        model_source: Callable[[], ChatModel] | None = None,
        test_mode: bool = False,
        supervisor_mode: bool = False,
        checkpoint: Checkpoint | None = None,
        log: ConversationLog | TurnLog | None = None,
    ) -> None:
        self.config = config or AutogramConfig()
        #: the program (root function) the session belongs to
        self.root_function = root_function
        self.test_mode = test_mode
        #: whether helpers called with ``supervisor=`` run their supervisor (autograms.supervisors)
        self.supervisor_mode = supervisor_mode
        #: `reply_data` once known (read from the state on first use)
        self._reply_data: Any = _UNKNOWN
        #: the log entries the last successful reply, apply or use_memory added, oldest first
        self.last_turn_log: list[Entry] = []
        #: the model calls the last turn that raised made (billed, so appended to the log
        #: marked ``"failed_turn": True``), oldest first: what a store, which records nothing
        #: of a failed turn, can still count
        self.failed_turn_calls: list[Entry] = []
        #: per saved file (real path): the log entries and bytes of its ``.log`` that are
        #: this session's, their CRC-32 (None: not known yet), and the log's `edits` then
        self.saved_logs: dict[str, tuple[int, int, int | None, int]] = {}
        self._model = model
        #: gives the model on first use when `model` is None (an Autogram's shared client):
        #: a turn that calls no model does not make one (nor import the model layer)
        self._model_source = model_source
        self._checkpoint = checkpoint
        #: the live state: of a new session, of a running turn, or read from the checkpoint
        self._state: SessionState | None = None
        #: the checkpoint, loaded, when `_state` was read from it
        self._loaded: _frames.Loaded | None = None
        #: whether `_state` may differ from the checkpoint
        self._changed = False
        self._log = log if log is not None else ConversationLog()
        #: why pausing is not allowed right now (inside @autograms_external, apply ...)
        self._no_pause: str | None = None
        #: whether this is the working memory of a running turn
        self._working = False
        #: the turn whose block takes root calls (`Turn.taking_root_calls`), if any
        self._outer_turn: Turn | None = None
        #: which frames own the conversation levels (see ``_scopes``)
        self._scopes = Scopes()
        #: for the working memory of a turn that has ended: the memory the turn ran on, which
        #: this one stands for from then on (``with autogram.use_memory(m) as w`` lets it out)
        self._stands_for: SerializableMemory | None = None
        #: held while a turn runs on this memory: turns on one memory from several threads
        #: run one after the other, each from the checkpoint the previous one committed
        self._turn_lock = threading.Lock()
        #: the thread whose turn holds `_turn_lock` (a turn of its own inside it is refused)
        self._turn_thread: int | None = None
        # another session's view: continue from it (None is ruled out first: an ABC's
        # isinstance costs each of a turn's two memories a microsecond)
        if memory_dict is not None and isinstance(memory_dict, MemoryDict):
            source = memory_dict.memory.resolve()
            self._checkpoint, self._log = source.checkpoint(), source._log.fork()
            self.root_function = source.root_function or root_function  # its program's
        elif checkpoint is None:
            self._start_from(memory_dict)

    def _start_from(self, memory_dict: Mapping[str, Any] | None) -> None:
        """Take the state a user's dict holds: its keys, its log under "model_turns", and, if
        it is a copy of a paused session's ``memory_dict``, the program paused in "stack"."""
        prompt = self.config.default_prompt
        if memory_dict is None:
            self._state = new_state(prompt)
            return
        values = dict(memory_dict)
        stack = values.pop("stack", None)
        self._log.extend(values.pop("model_turns", ()))
        self._state = state_from_dict(values, prompt)
        if isinstance(stack, Stack):
            if stack.checkpoint.paused:
                self._take_program(stack.root_function)
                self._checkpoint, self._changed = stack.checkpoint, True
                with use_memory(self):  # type: ignore[arg-type]
                    self._loaded = session.load_snapshot(stack.checkpoint.snapshot)
        elif stack:
            raise ConversationError(
                "memory_dict['stack'] holds frames this library did not save (an AutoGRAMS "
                "session?), so its paused program cannot be continued; leave the 'stack' key "
                "out to start the program over with the rest of the state"
            )

    def _take_program(self, paused_in: Any) -> None:
        """A session continued from another one's paused frames belongs to the program
        paused there (when known), whatever root function it was made with: a turn of
        another program then refuses it instead of continuing those frames."""
        if paused_in is not None:
            self.root_function = paused_in

    def resolve(self) -> SerializableMemory:
        """The memory this one stands for: itself, or for the working memory of a turn that
        has ended (``use_memory`` yields one), the memory the turn ran on."""
        return self if self._stands_for is None else self._stands_for.resolve()

    def __reduce__(self) -> tuple:
        # In a snapshot of this very session (a paused program's local, its saved state) the
        # memory is *the session's* memory: restored as whichever memory loads the snapshot,
        # never as a copy (whose checkpoint would hold these frames again). Pickled anywhere
        # else (a user keeping it, as AutoGRAMS users did with dill), it is the session by
        # value: it loads anywhere as that session, never as the one current there.
        current = get_memory()
        if (
            current is not None
            and _frames.writing_snapshot()
            and current.resolve() is self.resolve()
        ):
            return (_current_memory_or_fail, ())
        memory = self.resolve()
        return (
            _memory_by_value,
            (
                type(memory),
                memory.config,
                memory.root_function,
                memory.test_mode,
                memory.supervisor_mode,
                memory._no_pause,
                memory.to_text(None),
            ),
        )

    # -- the parts ------------------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        """The live state. Between turns it is read from the checkpoint on first use, and a
        change made to it is saved with the session."""
        if self._stands_for is not None:
            return self._stands_for.state
        if self._state is None:
            with use_memory(self):  # type: ignore[arg-type]
                self._loaded = session.load_snapshot(self._checkpoint.snapshot)
            self._state = from_saved(self._loaded.attachment, self._checkpoint.window)
        self._changed = True
        return self._state

    @property
    def reply_data(self) -> Any:
        """The `data` of the last reply (``reply(text, data=...)``) or EXIT, saved with the
        session."""
        if self._reply_data is _UNKNOWN:
            changed = self._changed  # reading it changes nothing
            self._reply_data = self.state["reply_data"]
            self._changed = changed
        return self._reply_data

    @reply_data.setter
    def reply_data(self, value: Any) -> None:
        self._reply_data = value

    @property
    def memory_dict(self) -> MemoryDict:
        """AutoGRAMS' view of the session: the state's keys, ``"model_turns"`` (the log) and
        any key added to it."""
        return MemoryDict(self.resolve())

    @property
    def model_turns(self) -> list[Entry]:
        """The log of chat events and model calls, oldest first (a new list of the log's
        own entries: an entry changed in place is saved changed)."""
        self._log.lend()
        return self._log.entries()

    def extend_log(self, entries: Iterable[Entry]) -> None:
        """Append `entries` to the log."""
        self._log.extend(entries)

    def log_since(self, start: int) -> list[Entry]:
        """The log entries after the first `start` (without reading those when they are
        older than the last load or save)."""
        if isinstance(self._log, TurnLog):
            return self._log.entries()[start:]
        return self._log.entries_from(start)

    def log_entry(self, index: int) -> Entry:
        """The log entry at `index` (negative: from the end), decoding only the newest part of
        the log down to it when the log is still encoded (changed in place, it is saved
        changed)."""
        self._log.lend()
        return self._log.entry(index)

    def log_length(self) -> int:
        """How many entries the log has (without reading it, where its length is known)."""
        return len(self._log)

    def replace_log(self, entries: Iterable[Entry]) -> None:
        """Make `entries` the whole log."""
        self.prune_model_turns(0)
        self._log.extend(entries)

    def prune_model_turns(self, keep: int = 0) -> None:
        """Forget all but the newest `keep` log entries."""
        if isinstance(self._log, TurnLog):
            raise ConversationError("prune_model_turns() cannot be used while a turn runs")
        self._log.prune(keep)

    @property
    def model(self) -> ChatModel:
        """The model this session's helpers call."""
        if self._model is None:
            if self._model_source is not None:
                self._model = self._model_source()
            else:
                self._model = model_from_config(self.config, test_mode=self.test_mode)
        return self._model

    @property
    def is_paused(self) -> bool:
        """Whether the program is paused (its next turn continues it) rather than idle."""
        if self._stands_for is not None:
            return self._stands_for.is_paused
        return self._checkpoint is not None and self._checkpoint.paused

    def checkpoint(self) -> Checkpoint:
        """The session as it would be saved now (changes made between turns included)."""
        if self._stands_for is not None:
            return self._stands_for.checkpoint()
        if self._checkpoint is None or self._changed:
            saved, window = to_saved(self._state)
            # Saved as this session: a view of it or the memory itself held in the program's
            # locals is saved as a reference to the session, not as a copy of it (whose
            # "stack" would save these very frames again, without end).
            token = set_memory(self)  # type: ignore[arg-type]
            try:
                if self._loaded is None:  # a new session: its state is all there is
                    snapshot = _frames.pack(saved)
                else:  # a checkpoint read and possibly changed (between turns, by this turn)
                    self._loaded.attachment = saved
                    snapshot = _frames.store(self._loaded)
            finally:
                reset_memory(token)
            paused = self._loaded is not None and self._loaded.is_paused
            before = self._checkpoint if self._checkpoint is not None else _NO_CHECKPOINT
            self._checkpoint, self._changed = before.after(snapshot, paused, window), False
        return self._checkpoint

    def pending_frames(self) -> list[_frames.PendingFrameInfo]:
        """Where the program is paused: function, line, label, locals (outermost first)."""
        if self._stands_for is not None:
            return self._stands_for.pending_frames()
        if not self.is_paused:
            return []
        with use_memory(self):  # type: ignore[arg-type]
            return _frames.describe(self.checkpoint().snapshot)

    # -- turns ----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def turn(
        self,
        model: ChatModel | None = None,
        *,
        model_source: Callable[[], ChatModel] | None = None,
        supervisor_mode: bool | None = None,
        driven: bool = False,
    ) -> Iterator[Turn]:
        """Run a turn: yields a `Turn` whose working memory is current and loaded from the
        checkpoint. If the block ends normally, the turn's checkpoint (set by `Turn.finish`;
        by default the state saved with the frames it started from) and log entries become
        this memory's; if it raises, this memory is left as it was, but for the model calls
        the turn made: their entries are appended to its log, marked ``"failed_turn": True``
        (`billed_calls`), so token accounting sees every billed call. Without `model`,
        the turn's helpers call the model `model_source` gives on first use. `driven`: the
        block runs the program under the engine (its decorated calls open their conversation
        levels lazily, see ``_scopes``).

        Turns on one memory never overlap: one started in another thread waits for the
        running one to commit. One started inside a running turn of the same session (a
        ``reply`` from inside ``apply``, or on the memory of the ``use_memory`` block it runs
        in) is refused with ConversationError (``reason="turn_running"``): its commit would
        be overwritten by the outer turn's."""
        if self._stands_for is not None:
            owner = self._stands_for
            with owner.turn(
                model, model_source=model_source, supervisor_mode=supervisor_mode, driven=driven
            ) as turn:
                yield turn
            return
        thread = threading.get_ident()
        if self._turn_thread == thread or (self._working and self._outer_turn is None):
            raise ConversationError(
                "a turn of this session is running already (reply, apply or use_memory called "
                "from inside one of the same session): its changes would be lost when the "
                "running turn commits; run it after that turn ends",
                function="turn",
                reason="turn_running",
            )
        with self._turn_lock:
            self._turn_thread = thread
            try:
                with self._turn(model, model_source, supervisor_mode, driven) as turn:
                    yield turn
            finally:
                self._turn_thread = None

    @contextlib.contextmanager
    def _turn(
        self,
        model: ChatModel | None,
        model_source: Callable[[], ChatModel] | None,
        supervisor_mode: bool | None,
        driven: bool,
    ) -> Iterator[Turn]:
        """`turn`'s transaction, run while this memory's turn lock is held."""
        # plain helpers see the session's persistent globals on every way into a turn
        # (Autogram.reply, use_memory, calling the root inside use_memory, test harnesses)
        route_plain_helpers()
        checkpoint = self.checkpoint()
        turn_log = TurnLog(self._log)
        work = MemoryObject(
            self.config,
            self.root_function,
            model=model if model is not None else self._model,
            model_source=model_source or self._model_source,
            test_mode=self.test_mode,
            supervisor_mode=self.supervisor_mode if supervisor_mode is None else supervisor_mode,
            checkpoint=checkpoint,
            log=turn_log,
        )
        work._working = True
        work._scopes = Scopes(lazy=driven)
        # the working memory is made current here, as `use_memory` would (unrolled: every turn)
        if driven:
            _call_modes.start_driven_turn()
        token = set_memory(work)
        running = _context.running  # the turns a thread without a session may belong to
        if running is not None:
            running.add(work)
        try:
            loaded = session.load_snapshot(checkpoint.snapshot)
            work._state, work._loaded = from_saved(loaded.attachment, checkpoint.window), loaded
            work._state["reply_data"] = None  # until the program replies this turn
            work._scopes.restored(work._state["turn_stack"], resuming=loaded.is_paused)
            turn = Turn(work, loaded, checkpoint)
            yield turn
            if turn.checkpoint is None:
                turn.finish()
        except BaseException:
            self.failed_turn_calls = billed_calls(turn_log.added)
            self._log.extend(self.failed_turn_calls)
            raise
        finally:
            if running is not None:
                running.discard(work)
            work._scopes.release()
            work._stand_for(self)
            reset_memory(token)
            if driven:
                _call_modes.end_driven_turn()
        self._commit(turn, turn_log, work)

    def _stand_for(self, memory: SerializableMemory) -> None:
        """This working memory's turn has ended: from now on it stands for `memory`."""
        self._stands_for, self._working = memory, False
        self._log, self._state, self._loaded = memory._log, None, None

    def _commit(self, turn: Turn, turn_log: TurnLog, work: MemoryObject) -> None:
        self._checkpoint = turn.checkpoint
        self._state, self._loaded, self._changed = None, None, False
        added = turn_log.added
        self._log.extend(added)
        self.last_turn_log = added
        if self._model is None:
            self._model = work._model
        if self._model_source is None:
            self._model_source = work._model_source

    @contextlib.contextmanager
    def pausing_forbidden(self, reason: str) -> Iterator[None]:
        """While active, reply/EXIT/GOTO/RETURNTO raise ConversationError naming `reason`."""
        previous, self._no_pause = self._no_pause, reason
        try:
            yield
        finally:
            self._no_pause = previous

    @property
    def scopes(self) -> Scopes:
        """Which frames own the conversation levels (see ``_scopes``)."""
        return self._scopes

    def takes_root_call(self, function: Callable[..., Any]) -> bool:
        """Whether decorated `function` called while this memory is current runs as a turn of
        it (AutoGRAMS' ``with use_memory(memory): chatbot()``): yes, unless a turn runs on it
        already or pausing is forbidden (``use_config``, ``apply`` ...) -- but inside
        ``Autogram.use_memory`` (`Turn.taking_root_calls`) the session's root does."""
        if self._outer_turn is not None:
            root = self.root_function
            return getattr(root, "__func__", root) is function
        return not self._working and self._no_pause is None

    def after_root_turn(self) -> None:
        """A root call made while this memory was current has run its turn."""
        if self._outer_turn is not None:
            self._outer_turn.continue_after_root_turn()

    def check_may_pause(self, what: str) -> None:
        if self._no_pause is not None:
            raise ConversationError(f"{what} cannot be used {self._no_pause}", function=what)

    # -- per-session globals ----------------------------------------------------------------

    def user_globals(
        self, module: str, defaults: dict[str, Any], names: tuple[str, ...]
    ) -> dict[str, Any]:
        """The session's ``init_user_globals()`` values of `module`: a deep copy of
        `defaults` (whose names are `names`) on first use; later, a deep copy of each default
        the session has not taken yet (one a deploy added since the session was saved)."""
        state = self.state
        values = state["user_globals"].get(module)
        if values is None:
            kept = _kept(module, defaults)
            values = state["user_globals"][module] = copy.deepcopy(defaults, kept)
            claim(state["user_globals"], values, names)  # set through an AutoGRAMS memory_dict
        else:
            taken = state["user_global_defaults"].get(module)
            if taken is names or taken == names:
                return values
            if taken is None:  # saved before sessions recorded them: it took what it has
                taken = tuple(values)
            for name in names:
                if name not in taken and name not in values:
                    values[name] = copy.deepcopy(defaults[name], _kept(module, defaults))
        state["user_global_defaults"][module] = names
        return values

    def persistent_globals(self, module: str) -> ModuleGlobals:
        """The session's values of `module`'s persistent globals."""
        sessions = self.state["persistent_globals"]
        values = sessions.get(module)
        if values is None:
            # the first module takes AutoGRAMS' globals_snapshot, if a memory_dict had one
            waiting = sessions.pop(UNCLAIMED, None)
            values = sessions[module] = ModuleGlobals(
                values=waiting["values"] if waiting else {}, deleted=[]
            )
        return values

    # -- saving -----------------------------------------------------------------------------------

    def serialize(self, include_log: bool = True) -> str:
        """The session as text (see `autograms.session`), signed if the config has a key."""
        return self.to_text(session.session_key(self.config.session_key), include_log)

    def save(self, file_name: str | os.PathLike[str]) -> None:
        """Write the session to `file_name` (see `Autogram.save`)."""
        self.write(file_name, session.session_key(self.config.session_key))

    def to_text(self, key: bytes | None, include_log: bool = True) -> str:
        """The session as text, signed with `key` if one is given; without its log unless
        `include_log` (then its size depends on the live state only)."""
        if self._stands_for is not None:
            return self._stands_for.to_text(key, include_log)
        checkpoint = self.checkpoint()
        return session.encode(
            checkpoint.snapshot,
            key=key,
            program=session.program_name(self.root_function),
            log=self._log.encode() if include_log else None,
            window=checkpoint.window,
            window_crc=checkpoint.window_crc,
        )

    def write(self, file: str | os.PathLike[str], key: bytes | None) -> None:
        """Save the session to `file` atomically, its log to ``<file>.log``: the first save
        to a file writes the whole log, later ones append what is new. The log goes first,
        so a crash in between leaves the previous session with the log it names."""
        if self._stands_for is not None:
            self._stands_for.write(file, key)
            return
        where = os.path.realpath(file)
        saved = self.saved_logs.get(where)
        edits = self._log.check_lent()
        if saved is None or saved[3] != edits:  # new, or an entry it holds changed in place
            size, crc = session.write_log(file, self._log.entries())
        else:
            count, at, crc, _ = saved
            size, crc = session.append_log(file, self.log_since(count), at, count, crc)
        count = self.log_length()
        checkpoint = self.checkpoint()
        text = session.encode(
            checkpoint.snapshot,
            key=key,
            program=session.program_name(self.root_function),
            log_file=(count, size),
            log_digest=session.log_digest_of(file, size) if key is not None else None,
            window=checkpoint.window,
            log_crc=crc,
            window_crc=checkpoint.window_crc,
        )
        session.write_file(file, text)
        self.saved_logs[where] = (count, size, crc, edits)


def billed_calls(entries: Iterable[Entry]) -> list[Entry]:
    """The model calls among a failed turn's log `entries`, marked ``"failed_turn": True``:
    the server billed them, so token accounting must see them (as AutoGRAMS' log, which
    appends each call as it is made), although the rest of the turn is dropped."""
    return [
        {**entry, "failed_turn": True}
        for entry in entries
        if isinstance(entry, dict) and entry.get("entry_type") == "model"
    ]


def conversation_history(entries: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    """Every user and agent message among log `entries`, in order, as AutoGRAMS lists them:
    every user message, empty ones too (the opening turn's ``""``), so that a user message
    and the reply to it stay side by side (an entry a program appended in another shape is
    passed over)."""
    history = []
    for entry in entries:
        kind = entry.get("entry_type") if isinstance(entry, dict) else None
        if kind == "user_reply":
            history.append({"role": "user", "content": entry.get("user_reply")})
        elif kind == "agent_reply":
            history.append({"role": "assistant", "content": entry.get("reply")})
    return history


def with_trimmed(turns: Sequence[Message], entries: Sequence[dict[str, Any]]) -> list[Message]:
    """A level's `turns` with the user and agent messages `trim` let go (``turns.trimmed``)
    put back in front, read from the log `entries`: the ones just before the level's oldest
    message in the log. If the log does not hold the level's messages (pruned or replaced),
    only `turns`."""
    kept = list(turns)
    trimmed = getattr(turns, "trimmed", 0)
    if not trimmed:
        return kept
    messages = _messages(entries)
    start = len(messages)
    for turn in reversed(kept):  # where the oldest kept message is in the log
        if turn["role"] not in ("user", "agent"):
            continue
        start -= 1
        while start >= 0 and messages[start] != turn:
            start -= 1
        if start < 0:
            return kept
    return messages[max(0, start - trimmed) : start] + kept


def _messages(entries: Iterable[dict[str, Any]]) -> list[Message]:
    """The turns the log's user messages (empty ones add none) and agent replies made."""
    turns: list[Message] = []
    for entry in entries:
        kind = entry.get("entry_type") if isinstance(entry, dict) else None
        if kind == "user_reply" and entry.get("user_reply"):
            turns.append({"role": "user", "content": entry["user_reply"]})
        elif kind == "agent_reply":
            turns.append({"role": "agent", "content": entry.get("reply")})
    return turns


class MemoryObject(SerializableMemory):
    """One session of a program: its conversation, globals, log and checkpoint.

    Create it through `Autogram` (``autogram.reply()`` makes one, ``autogram.deserialize`` or
    ``autogram.load`` restore one). A memory passed to ``autogram.reply`` is changed only if
    the turn succeeds.
    """

    def __repr__(self) -> str:
        where = "paused" if self.is_paused else "idle"
        return f"<{type(self).__name__} {where}, {self.log_length()} log entries>"

    # -- scopes ---------------------------------------------------------------------------------

    @property
    def _levels(self) -> list[Level]:
        """The levels, with those of the decorated calls running now opened."""
        levels = self.state["turn_stack"]
        self._scopes.materialize(levels, sys._getframe(1))
        return levels

    def push_scope(self, scope: str, function: str | None = None) -> None:
        """Open a level (inheriting its caller's system prompt), owned by the caller's frame
        until `pop_scope`."""
        self.open_scope(scope, function, sys._getframe(1))

    def pop_scope(self) -> None:
        """Close the innermost level; a "global" level's turns join its caller's."""
        self._scopes.close(self._levels)

    def open_scope(
        self,
        scope: str,
        function: str | None,
        frame: FrameType,
        gate: _frames.Gate | None = None,
    ) -> None:
        """Open the level of `frame`'s call; `gate` is held open while it has it."""
        self._scopes.open(self._levels, scope, function, frame, gate)

    def leave_scope(self, frame: FrameType) -> None:
        """`frame` is left for good: close its level if it has the innermost one."""
        self._scopes.leave(self.state["turn_stack"], frame)

    def resumed_scope(self, frame: FrameType, gate: _frames.Gate | None) -> None:
        """A decorated frame rebuilt by a resume: it owns its level again."""
        self._scopes.bind_resumed(frame, gate)

    def conversation(self) -> Conversation:
        """What a model call sees: turns from the innermost level outward, stopping after
        the first "local" level."""
        levels = self._levels
        visible = []
        for level in reversed(levels):
            visible.append(level["turns"])
            if level["scope"] == "local":
                break
        from ._prompts import Conversation  # with the model helpers, which alone need it

        # a view, not a copy: a prompt reads only the newest few turns
        return Conversation(levels[-1]["system_prompt"], TurnsView(reversed(visible)))

    def whole_conversation(self) -> Conversation:
        """`conversation` with every turn of its levels, those the live window let go read
        back from the log (AutoGRAMS' get_turn_history() showed them all)."""
        seen = self.conversation()
        levels = self._levels
        if not any([getattr(level["turns"], "trimmed", 0) for level in levels]):
            return seen
        entries = self.model_turns
        visible: list[Message] = []
        for level in reversed(levels):
            visible[:0] = with_trimmed(level["turns"], entries)
            if level["scope"] == "local":
                break
        return dataclasses.replace(seen, turns=visible)

    def set_system_prompt(self, text: str) -> None:
        self._levels[-1]["system_prompt"] = text

    def append_system_prompt(self, text: str) -> None:
        level = self._levels[-1]
        level["system_prompt"] = (
            f"{level['system_prompt']}\n{text}" if level["system_prompt"] else text
        )

    def get_system_prompt(self) -> str:
        return self._levels[-1]["system_prompt"]

    # -- turns and the log ------------------------------------------------------------------

    def add_user_reply(self, user_reply: str | None) -> None:
        """Record the user's message (an empty one is logged but adds no turn, and leaves no
        last message: `extract_last_user_reply` gives None after it, as in AutoGRAMS)."""
        self._log.append(user_reply_entry(user_reply))
        if user_reply:
            self._levels[-1]["turns"].append({"role": "user", "content": user_reply})
        self.state["cached_user_reply"] = user_reply or None

    def log_chat_turn(
        self,
        reply: str,
        instruction: str | None = None,
        retain_instruction: bool = False,
        line_number: int | None = None,
        function_name: str | None = None,
        *,
        address: str | None = None,
    ) -> None:
        """Record an agent reply (AutoGRAMS' signature; `instruction` and
        `retain_instruction` are accepted and, as there, not recorded)."""
        self._levels[-1]["turns"].append({"role": "agent", "content": reply})
        state = self.state
        self._log.append(
            agent_reply_entry(
                reply,
                last_node=state["last_node"],
                function=function_name,
                line=line_number,
                address=address,
            )
        )
        state["last_node"] = None  # the node's own reply names it, no later one

    def log_thought_turn(self, answer: str, instruction: str) -> None:
        """Record a thought: its instruction and answer become part of the conversation."""
        turns = self._levels[-1]["turns"]
        turns.append({"role": "system_instruction", "content": instruction})
        turns.append({"role": "system_answer", "content": answer})

    def log_model_calls(
        self,
        calls: tuple[ModelCall, ...],
        helper: str,
        code_position: Mapping[str, Any] | None = None,
        supervisor_info: Mapping[str, Any] | None = None,
    ) -> None:
        """Record the model calls the library function `helper` made (`code_position`: the
        program's line that called it, ``{"line_number", "function_name", "file_name"}``;
        `supervisor_info`: what a supervisor decided, ``{"score", "rejected_output",
        "tags"}``), with their prompts as ``config.log_model_inputs`` says."""
        keep = self.config.log_model_inputs
        for call in calls:
            entry = model_entry(call, helper, code_position, supervisor_info, keep)
            self._log.append(entry)

    def set_node(self, address: str, *, replying: bool = False) -> None:
        """Record entering the node labelled `address`. A `replying` node's reply (the next
        agent reply) names it as its ``last_node``, as AutoGRAMS names the reply made inside a
        node call and no other; `leave_node` ends a node that did not reply."""
        self.state["last_node"] = address if replying else None
        self._log.append(node_entry(address))

    def leave_node(self) -> None:
        """The node call `set_node` began returned: later replies are made outside it."""
        self.state["last_node"] = None

    def extract_last_user_reply(self) -> str | None:
        """The user's latest message (None before the first one and after an empty one)."""
        return self.state["cached_user_reply"]

    get_user_reply = extract_last_user_reply

    def last_agent_reply(self) -> str | None:
        """The bot's latest reply still in the live conversation."""
        for level in reversed(self._levels):
            turns = level["turns"]
            for index in range(len(turns) - 1, -1, -1):
                if turns[index]["role"] == "agent":
                    return turns[index]["content"]
        return None

    def extract_full_conv_history(self) -> list[dict[str, str]]:
        """Every user and agent message of the session in order, whatever the scopes (read
        from the log)."""
        return conversation_history(self.model_turns)

    def extract_conv_history_str(self) -> str:
        """The session's conversation as text: one ``role: content`` line per message, each
        followed by a blank line (AutoGRAMS' transcript format)."""
        return "".join(
            f"{turn['role']}: {turn['content']}\n\n" for turn in self.extract_full_conv_history()
        )

    def program_returned(self) -> None:
        """The program's root call returned: its conversation leaves the prompts, as in
        AutoGRAMS, where the root's level has no caller to keep its turns -- the next turn
        starts the program on a new conversation (the log keeps this one)."""
        levels = self.state["turn_stack"]
        del levels[1:]
        levels[0]["turns"] = Turns()

    def live_state(self) -> SessionState:
        """The state to save: each level's turns cut to what a prompt could still include."""
        state = self.state
        # the program may be pausing: the levels of its running calls are saved with it
        self._scopes.materialize(state["turn_stack"], sys._getframe())
        config = self.config
        trim(state, live_limit(config.chatbot_max_input_len, config.classifier_max_input_len))
        return state


class SimpleMemory(MemoryObject):
    """A memory for helper calls outside any conversation (``use_config``): the helpers
    work, the program-control functions (reply, EXIT, GOTO, RETURNTO) are refused."""

    def __init__(
        self,
        config: AutogramConfig | None = None,
        memory_dict: dict[str, Any] | None = None,
        *,
        model: ChatModel | None = None,
        test_mode: bool = False,
        supervisor_mode: bool = False,
    ) -> None:
        super().__init__(
            config,
            None,
            memory_dict,
            model=model,
            test_mode=test_mode,
            supervisor_mode=supervisor_mode,
        )
        self._no_pause = "outside a conversation (in a SimpleMemory)"


#: the sessions whose memory_dict view is being shown by repr() in this thread or task
_views_in_repr: ContextVar[frozenset[int]] = ContextVar(
    "autograms_views_in_repr", default=frozenset()
)


#: keys AutoGRAMS' memory_dict has that this library's state keeps in another form
_AUTOGRAMS_KEYS = ("globals_snapshot", "version")


class MemoryDict(MutableMapping):
    """AutoGRAMS' ``memory_dict``: a view of a session's state keys, its log under
    ``"model_turns"`` (a list whose changes go to the log), where it is paused under
    ``"stack"`` (read-only) and any other key a program or run loop sets (saved with the
    session). ``MemoryObject(memory_dict=...)`` given this view, or a copy of it, continues
    the session from where it is now."""

    def __init__(self, memory: SerializableMemory) -> None:
        #: the session viewed
        self.memory = memory

    def __getitem__(self, key: str) -> Any:
        if key == "model_turns":
            return ModelTurns(self.memory)
        if key == "stack":  # AutoGRAMS' run/debug scripts print stack[-1]["line_number"]
            return Stack(self.memory.checkpoint(), self.memory)
        state = self.memory.state
        if key == "turn_stack":
            return self._turn_stack()
        if key == "user_globals":  # AutoGRAMS' flat dict, over the per-module one
            return FlatUserGlobals(state["user_globals"])
        if key == "globals_snapshot":  # AutoGRAMS' persistent globals by name
            return globals_snapshot(state["persistent_globals"])
        if key == "version" and key not in state["extra"]:
            return __version__
        if key in VIEW_KEYS:
            return state[key]  # type: ignore[literal-required]
        return state["extra"][key]

    def __setitem__(self, key: str, value: Any) -> None:
        if key == "model_turns":
            self.memory.replace_log(value)
            return
        if key == "stack":
            raise KeyError("memory_dict['stack'] is read-only: it is where the program is paused")
        state = self.memory.state
        if key == "turn_stack":
            prompt = state["turn_stack"][0]["system_prompt"]
            value = state_from_dict({"turn_stack": value}, prompt)["turn_stack"]
        elif key == "user_globals":
            value = per_module(value, state["user_globals"])
        elif key == "globals_snapshot":
            self._set_persistent_globals(dict(value))
            return
        if key in VIEW_KEYS:
            state[key] = value  # type: ignore[literal-required]
        else:
            state["extra"][key] = value

    def _turn_stack(self) -> list[Level]:
        """The levels as AutoGRAMS has them: every turn, in plain lists (the turns the live
        window let go read back from the log), and no level 0 while it is empty (AutoGRAMS'
        turn_stack starts with the root's level, or is empty while no program runs). A new
        list of the session's own level dicts."""
        memory = self.memory
        levels = memory._levels if isinstance(memory, MemoryObject) else memory.state["turn_stack"]
        trimmed = any([getattr(level["turns"], "trimmed", 0) for level in levels])
        entries = memory.model_turns if trimmed else []
        for level in levels:
            level["turns"] = with_trimmed(level["turns"], entries)
        return levels[:] if levels[0]["turns"] else levels[1:]

    def _set_persistent_globals(self, values: dict[str, Any]) -> None:
        """Each name's value to the module whose persistent global it is (a name no module
        has waits for the first module that uses the session's persistent globals)."""
        sessions = self.memory.state["persistent_globals"]
        for name, value in values.items():
            module = module_holding(name, sessions)
            if module is None:
                waiting = sessions.setdefault(UNCLAIMED, ModuleGlobals(values={}, deleted=[]))
                waiting["values"][name] = value
                continue
            held = self.memory.persistent_globals(module)
            held["values"][name] = value
            if name in held["deleted"]:
                held["deleted"].remove(name)

    def __delitem__(self, key: str) -> None:
        state = self.memory.state
        if key in state["extra"]:
            del state["extra"][key]
        else:
            raise KeyError(f"{key!r} cannot be deleted from memory_dict: it is part of the session")

    def clear(self) -> None:
        """Refused: most of the keys are the session itself (``del`` takes only added keys)."""
        raise TypeError(
            "memory_dict.clear() would delete the session's own keys; delete the keys you "
            "added one by one, or start a new memory"
        )

    def __iter__(self) -> Iterator[str]:
        # "stack" first: reading it saves the state, which packs the levels' turns again, so
        # a copy (dict(memory_dict), .copy()) must read it before the plain lists of turn_stack
        yield "stack"
        yield from VIEW_KEYS
        yield from _AUTOGRAMS_KEYS
        yield "model_turns"
        yield from (key for key in self.memory.state["extra"] if key not in _AUTOGRAMS_KEYS)

    def copy(self) -> dict[str, Any]:
        """A plain dict of the keys and their values (as AutoGRAMS' ``memory_dict.copy()``);
        given to ``reply(memory_dict=...)`` it continues the session from where it is now."""
        return dict(self)

    def __len__(self) -> int:
        extra = self.memory.state["extra"]
        return len(VIEW_KEYS) + 2 + len(_AUTOGRAMS_KEYS) + len(extra) - ("version" in extra)

    def __repr__(self) -> str:
        # The view shows "stack", whose frames may hold this very view in a local: shown
        # again inside its own repr, the view is elided, as a list holding itself shows [...].
        session_id = id(self.memory.resolve())
        shown = _views_in_repr.get()
        if session_id in shown:
            return "memory_dict(...)"
        token = _views_in_repr.set(shown | {session_id})
        try:
            return f"memory_dict({dict(self)!r})"
        finally:
            _views_in_repr.reset(token)

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        """A copy of the session as a plain dict (what ``MemoryObject(memory_dict=...)``
        takes to start an independent session from here)."""
        return {key: copy.deepcopy(value, memo) for key, value in self.items()}

    def __reduce__(self) -> tuple:
        # Saved with a paused program's locals (by its own session), the view stays the
        # session's: it comes back as the view of whichever session loads it. Pickled anywhere
        # else (a user keeping it), it is a plain dict copy, which loads anywhere and, given
        # to ``reply(memory_dict=...)``, continues the session from where it is now.
        current = get_memory()
        if (
            current is not None
            and _frames.writing_snapshot()
            and current.resolve() is self.memory.resolve()
        ):
            return (MemoryDict, (self.memory,))
        return (dict, (dict(self),))


class ModelTurns(MutableSequence):
    """``memory_dict["model_turns"]``: the log's entries as a list, read from the log as far
    as they are used -- appending to it or taking its length decodes none of the log, reading
    its newest entries only the newest part. Entries appended to it are appended to the log,
    and any other change to it replaces the log (as assigning ``memory_dict["model_turns"]``
    does). Slices, copies and pickles are plain lists (``json.dumps(list(turns))``)."""

    __slots__ = ("_memory",)

    def __init__(self, memory: SerializableMemory) -> None:
        self._memory = memory

    def __len__(self) -> int:
        return self._memory.log_length()

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return self._memory.model_turns[index]
        return self._memory.log_entry(operator.index(index))

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._memory.model_turns)

    def __reversed__(self) -> Iterator[Entry]:
        return reversed(self._memory.model_turns)

    def __contains__(self, entry: object) -> bool:
        return entry in self._memory.model_turns

    def index(self, entry: Any, *bounds: int) -> int:
        return self._memory.model_turns.index(entry, *bounds)

    def count(self, entry: Any) -> int:
        return self._memory.model_turns.count(entry)

    def copy(self) -> list[Entry]:
        return self._memory.model_turns

    # -- appends go to the log ------------------------------------------------------------------

    def append(self, entry: Entry) -> None:
        _check_loggable(entry, len(self))
        self._memory.extend_log([entry])

    def extend(self, entries: Iterable[Entry]) -> None:
        entries = list(entries)
        start = len(self)
        for offset, entry in enumerate(entries):
            _check_loggable(entry, start + offset)
        self._memory.extend_log(entries)

    def __iadd__(self, entries: Iterable[Entry]) -> ModelTurns:
        self.extend(entries)
        return self

    # -- any other change replaces it -------------------------------------------------------------

    def _replaced(name: str) -> Any:  # noqa: N805 - builds the methods below
        def method(self: ModelTurns, *args: Any, **kwargs: Any) -> Any:
            entries = self._memory.model_turns
            result = getattr(list, name)(entries, *args, **kwargs)
            self._memory.replace_log(entries)
            return result

        method.__name__ = name
        method.__doc__ = getattr(list, name).__doc__
        return method

    insert = _replaced("insert")
    pop = _replaced("pop")
    remove = _replaced("remove")
    clear = _replaced("clear")
    sort = _replaced("sort")
    reverse = _replaced("reverse")
    __setitem__ = _replaced("__setitem__")
    __delitem__ = _replaced("__delitem__")
    __imul__ = _replaced("__imul__")
    del _replaced

    # -- as a list compares and combines ---------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        other = other.copy() if isinstance(other, ModelTurns) else other
        return self._memory.model_turns == other

    __hash__ = None  # type: ignore[assignment]

    def __add__(self, other: list[Entry]) -> list[Entry]:
        return self._memory.model_turns + other

    def __radd__(self, other: list[Entry]) -> list[Entry]:
        return other + self._memory.model_turns

    def __mul__(self, times: int) -> list[Entry]:
        return self._memory.model_turns * times

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return repr(self._memory.model_turns)

    def __copy__(self) -> list[Entry]:
        return self._memory.model_turns

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Entry]:
        return copy.deepcopy(self._memory.model_turns, memo)

    def __reduce__(self) -> tuple:
        return (list, (self._memory.model_turns,))


def _check_loggable(entry: Entry, index: int) -> None:
    """Refuse an entry the log cannot save (a value that cannot be pickled), before it is
    added, so the session stays saveable; a value changed after it was added is refused
    when the session is saved."""
    try:
        to_stored(entry, index)
    except SessionError as exc:
        raise TypeError(str(exc).replace("cannot be saved", "cannot be logged", 1)) from None


class Stack(Sequence):
    """``memory_dict["stack"]``: where the program is paused, outermost frame first, in
    AutoGRAMS' form (``function_name``, ``line_number``, ``address``, ``locals``; read when
    first indexed). It carries the session's checkpoint, so a copy of ``memory_dict`` that
    holds it continues the program from there."""

    def __init__(
        self,
        checkpoint: Checkpoint,
        memory: SerializableMemory | None = None,
        root_function: Any = None,
    ) -> None:
        #: the session as it was when the stack was read
        self.checkpoint = checkpoint
        self._memory = memory
        #: the program paused in these frames, when known: a session continued from a copy
        #: of this stack belongs to it
        self.root_function = root_function if memory is None else memory.resolve().root_function
        self._frames: list[dict[str, Any]] | None = None

    def _described(self) -> list[dict[str, Any]]:
        if self._frames is None:
            frames: list[_frames.PendingFrameInfo] = []
            if self.checkpoint.paused:
                with use_memory(self._memory or get_memory() or MemoryObject()):
                    frames = _frames.describe(self.checkpoint.snapshot)
            self._frames = [
                Frame(
                    function_name=frame.qualname,
                    line_number=frame.lineno,
                    address=frame.label,
                    locals=Frame(frame.locals),
                )
                for frame in frames
            ]
        return self._frames

    def __getitem__(self, index: Any) -> Any:
        return self._described()[index]

    def __len__(self) -> int:
        return len(self._described())

    def __repr__(self) -> str:
        return f"Stack({self._described()!r})"

    def __eq__(self, other: object) -> bool:
        """Equal to a stack or a list with the same frames (AutoGRAMS' stack is a list)."""
        if isinstance(other, Stack):
            return self.checkpoint is other.checkpoint or self._described() == other._described()
        if isinstance(other, list):
            return self._described() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __copy__(self) -> Stack:
        return Stack(self.checkpoint, root_function=self.root_function)

    def __deepcopy__(self, memo: dict[int, Any]) -> Stack:
        # the checkpoint cannot change, and the program is code: nothing to copy
        return Stack(self.checkpoint, root_function=self.root_function)

    def __reduce__(self) -> tuple:
        return (Stack, (self.checkpoint,))


class Frame(dict):
    """A frame of `Stack` (or its ``"locals"``): a dict that refuses changes, since the
    paused program it describes cannot be changed through it. Copies are plain dicts."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(
            "memory_dict['stack'] is read-only: its frames describe where the program is "
            "paused and cannot be changed"
        )

    __setitem__ = __delitem__ = _refuse
    clear = pop = popitem = setdefault = update = __ior__ = _refuse  # type: ignore[assignment]

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return copy.deepcopy(dict(self), memo)

    def __reduce__(self) -> tuple:
        return (dict, (dict(self),))


def _memory_by_value(
    kind: type[SerializableMemory],
    config: AutogramConfig,
    root_function: Any,
    test_mode: bool,
    supervisor_mode: bool,
    no_pause: str | None,
    text: str,
) -> SerializableMemory:
    """A memory pickled by value (`SerializableMemory.__reduce__`): its session from `text`,
    checked against the loaded code as `Autogram.deserialize` checks it."""
    envelope = session.decode(text, key=None)
    session.check_program(envelope, root_function)
    paused = session.check_snapshot(envelope.snapshot)
    memory = kind.__new__(kind)
    SerializableMemory.__init__(
        memory,
        config,
        root_function,
        test_mode=test_mode,
        supervisor_mode=supervisor_mode,
        checkpoint=Checkpoint(envelope.snapshot, paused, envelope.window),
        log=ConversationLog(encoded=envelope.log),
    )
    memory._no_pause = no_pause
    return memory


def _current_memory_or_fail() -> MemoryObject:
    memory = get_memory()
    if memory is None:
        raise ConversationError(
            "a saved reference to the session memory was loaded outside a session"
        )
    return memory


@contextlib.contextmanager
def use_memory(memory: SerializableMemory | None = None) -> Iterator[SerializableMemory]:
    """Make `memory` (a new one if None) current inside the block."""
    memory = memory if memory is not None else MemoryObject()
    route_plain_helpers()
    token = set_memory(memory)
    try:
        yield memory
    finally:
        reset_memory(token)


# -- per-session globals -----------------------------------------------------------------------

_user_globals: dict[str, UserGlobals] = {}
_user_globals_lock = threading.Lock()


class UserGlobals(MutableMapping):
    """Dict-like globals of one module whose values belong to the current session.

    Values set while no session runs (at import) are the defaults every session starts
    from (each gets its own deep copy).
    """

    def __init__(self, module: str) -> None:
        self._module = module
        self._defaults: dict[str, Any] = {}
        #: the names of the defaults (a new tuple whenever they change)
        self._names: tuple[str, ...] = ()

    def __reduce__(self) -> tuple:
        return (init_user_globals_for, (self._module,))

    def _values(self) -> dict[str, Any]:
        memory = get_memory()
        if memory is None:
            return self._defaults
        return memory.user_globals(self._module, self._defaults, self._names)

    def __getitem__(self, name: str) -> Any:
        return self._values()[name]

    def __setitem__(self, name: str, value: Any) -> None:
        values = self._values()
        values[name] = value
        if values is self._defaults:
            self._names = tuple(values)

    def __delitem__(self, name: str) -> None:
        values = self._values()
        del values[name]
        if values is self._defaults:
            self._names = tuple(values)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values())

    def __len__(self) -> int:
        return len(self._values())

    def __repr__(self) -> str:
        return f"UserGlobals({self._module!r}, {self._values()!r})"


def _kept(module: str, defaults: dict[str, Any]) -> dict[int, Any]:
    """A deepcopy memo under which `module`'s globals inside `defaults` stay the module's own
    objects (``G["rows"] = [TABLE]`` at module level: each session's list holds the module's
    TABLE, as the module's does). A default itself is the session's own even when a global
    names it (``G["table"] = TABLE``): shared, one session's changes would reach the others."""
    own = {id(defaults), *map(id, defaults.values())}
    namespace = getattr(sys.modules.get(module), "__dict__", {})
    return {key: value for key, (_, value) in shared_globals(namespace, own).items()}


def init_user_globals_for(module: str) -> UserGlobals:
    """The UserGlobals of `module` (created once per process)."""
    with _user_globals_lock:
        if module not in _user_globals:
            _user_globals[module] = UserGlobals(module)
            # a module-level object a program puts in them stays the module's own
            _frames.set_attachment_values(program_values)
        return _user_globals[module]


def init_user_globals() -> UserGlobals:
    """Per-session globals for the calling module: ``G = init_user_globals()`` at module
    level, then ``G["count"] = 0`` there sets a default and ``G["count"] += 1`` inside a
    program changes only the current session's value."""
    return init_user_globals_for(sys._getframe(1).f_globals.get("__name__", "__main__"))


__all__ = [
    "LIVE_CHARS_PER_TOKEN",
    "MIN_LIVE_TURNS",
    "SCOPES",
    "Checkpoint",
    "MemoryDict",
    "MemoryObject",
    "ModelTurns",
    "SerializableMemory",
    "SimpleMemory",
    "Stack",
    "Turn",
    "UserGlobals",
    "clear_memory",
    "get_memory",
    "get_persistent_globals",
    "init_user_globals",
    "require_memory",
    "reset_memory",
    "set_memory",
    "set_persistent_globals",
    "use_memory",
]

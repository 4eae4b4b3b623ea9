"""`Autogram`: drives a program one user turn at a time, and saves and loads its sessions.

One turn, followed through the code: `Autogram.reply` hands it to `_turns.run_turn`, which
opens a transaction on the session (`MemoryObject.turn`, in ``memory.py``: a working memory
loaded from the session's last checkpoint, made current), records the user's message, and
runs or resumes the program (``_frames``). The program's ``reply()`` (``_control.py``) logs
the reply and pauses: the engine snapshots the frames together with the working state
(`Turn.saved_state`). `Turn.finish` makes that the turn's checkpoint, and only a turn that ends
normally -- with a reply, EXIT, or the program returning -- commits it and its log entries to
the memory. An exception from the program propagates to the caller and the memory passed in
is left exactly as it was. `Autogram.serialize` (``session.py``) then writes the checkpoint
and the log's new entries.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from . import _frames, session
from ._context import require_memory
from ._bot_files import import_bot_file
from ._errors import ConversationError, SessionFormatError
from ._log import ConversationLog, checked_source
from ._turns import call_root, run_turn
from .config import AutogramConfig
from .decorators import is_autograms_function
from .memory import Checkpoint, MemoryObject, SerializableMemory, SimpleMemory, use_memory
from .models import model_from_config

if TYPE_CHECKING:
    from .models.records import ChatModel


#: AutoGRAMS' serialization types `Autogram.deserialize` accepts (both read the same text)
SERIALIZATION_TYPES = ("partial", "full")


class Autogram:
    """A program (its root function), the configuration and model it runs with, and the
    operations on its sessions.

    Constructing one never needs a network or an API key; a model call without a usable
    endpoint fails with an error naming the missing setting. With ``test_mode=True`` every
    model helper answers offline, deterministically for a given `seed`.
    """

    def __init__(
        self,
        root_function: Callable[..., Any] | None = None,
        autogram_config: AutogramConfig | None = None,
        api_keys: dict[str, str] | None = None,
        test_mode: bool = False,
        supervisor_mode: bool = False,
        *,
        seed: int | None = None,
        model: ChatModel | None = None,
    ) -> None:
        if root_function is not None and not is_autograms_function(root_function):
            raise TypeError(
                f"root_function {getattr(root_function, '__qualname__', root_function)!r} must "
                "be decorated with @autograms_function()"
            )
        self.root_function = root_function
        self.config = _with_api_keys(autogram_config or AutogramConfig(), api_keys)
        self.test_mode = test_mode
        #: run the supervisors given to helpers (``supervisor=``; see autograms.supervisors)
        self.supervisor_mode = supervisor_mode
        self.seed = seed
        self._model = model
        self._model_lock = threading.Lock()
        #: the config and its ``session_key`` the signing key was resolved for, and that key
        self._resolved_key: tuple[AutogramConfig, Any, bytes | None] | None = None

    def __repr__(self) -> str:
        name = getattr(self.root_function, "__qualname__", None)
        return f"<Autogram root={name} test_mode={self.test_mode}>"

    @property
    def model(self) -> ChatModel:
        """The model every session of this Autogram calls (one client, made on first use)."""
        return self._shared_model()

    def _shared_model(self) -> ChatModel:
        if self._model is None:
            with self._model_lock:
                if self._model is None:
                    self._model = model_from_config(
                        self.config, test_mode=self.test_mode, seed=self.seed
                    )
        return self._model

    # -- memories ------------------------------------------------------------------------------

    def init_memory(self, memory_dict: Mapping[str, Any] | None = None) -> MemoryObject:
        """A new session: idle (its first turn starts the program), or given a session's
        `memory_dict` (or a copy of one), continuing from where that session is."""
        return MemoryObject(
            self.config,
            self.root_function,
            memory_dict,
            model=self._model,
            test_mode=self.test_mode,
            supervisor_mode=self.supervisor_mode,
        )

    def _memory(
        self, memory_object: MemoryObject | None, memory_dict: Mapping[str, Any] | None
    ) -> MemoryObject:
        if memory_object is None:
            memory = self.init_memory(memory_dict)
        else:
            memory = _checked_memory(memory_object).resolve()
        if memory.root_function is None:  # made outside an Autogram: it is ours now
            memory.root_function = self.root_function
        elif memory.root_function is not self.root_function and self.root_function is not None:
            self._refuse_other_program(memory.root_function)
        return memory

    def _refuse_other_program(self, root: Callable[..., Any]) -> None:
        """Refuse the session of another program than this Autogram's, as `deserialize`
        does (the same program's function, re-created by an edit, is this program)."""
        theirs, ours = session.program_name(root), session.program_name(self.root_function)
        if theirs != ours:
            raise ConversationError(
                f"the session belongs to the program {theirs}, not to this Autogram's {ours}; "
                f"continue it with an Autogram whose root_function is {theirs}",
                function=ours,
                reason="other program",
            )

    # -- turns ---------------------------------------------------------------------------------

    def reply(
        self,
        user_reply: str | None = "",
        memory_object: MemoryObject | None = None,
        memory_dict: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> tuple[str | None, MemoryObject]:
        """Run one turn: start the program, or continue it with the user's message.

        Returns ``(text, memory)``: the text the program replied with, or None when the
        program returned (its next turn starts it again from the top, the conversation
        history kept). `kwargs` go to the root function when it starts.
        """
        memory = self._memory(memory_object, memory_dict)
        result = run_turn(
            memory,
            self._require_root(),
            user_reply or "",
            kwargs=kwargs,
            model=self._model,
            model_source=self._shared_model,
            supervisor_mode=self.supervisor_mode,
        )
        memory.reply_data = result.data
        return result.text, memory

    def apply(
        self,
        user_reply: str | None = None,
        memory_object: MemoryObject | None = None,
        memory_dict: Mapping[str, Any] | None = None,
        func: Callable[..., Any] | None = None,
        function: Callable[..., Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Call ``func(**kwargs)`` inside the session's memory (a transaction, like a turn).

        An ``@autograms_function`` (by default the root function) runs as a turn of the
        session, as `reply` does, and gives an `AutogramsReturn` (``.data["reply"]``,
        ``.func_return``, ``.memory``). Any other function runs without pausing -- a paused
        program stays paused -- and gives what it returns.
        """
        target = func if func is not None else function
        if target is None:
            target = self._require_root()
        memory = self._memory(memory_object, memory_dict)
        if is_autograms_function(target):
            return call_root(
                memory,
                target,
                (),
                kwargs,
                message=user_reply,
                model=self._model,
                model_source=self._shared_model,
            )
        with memory.turn(self.model, supervisor_mode=self.supervisor_mode) as turn:
            if user_reply is not None:
                turn.memory.add_user_reply(user_reply)
            with turn.memory.pausing_forbidden(f"inside Autogram.apply({_name(target)})"):
                return _call_outside_program(target, kwargs)

    @contextlib.contextmanager
    def use_memory(
        self,
        memory_object: MemoryObject | None = None,
        memory_dict: Mapping[str, Any] | None = None,
    ) -> Iterator[MemoryObject]:
        """Make a session current (for its user globals, helpers, ...); its changes are
        kept if the block ends without an exception. The memory yielded stands for the
        session after the block too."""
        memory = self._memory(memory_object, memory_dict)
        with memory.turn(self.model, supervisor_mode=self.supervisor_mode) as turn:
            with turn.memory.pausing_forbidden("inside Autogram.use_memory()"):
                with turn.taking_root_calls():
                    yield turn.memory

    @contextlib.contextmanager
    def use_config(self) -> Iterator[MemoryObject]:
        """A memory with this Autogram's config and model, for helper calls outside a
        conversation (e.g. an ``init_chatbot`` that builds embeddings)."""
        with use_config(
            self.config, self.test_mode, self.supervisor_mode, model=self.model
        ) as memory:
            yield memory

    def _require_root(self) -> Callable[..., Any]:
        if self.root_function is None:
            raise ConversationError("this Autogram has no root_function to run")
        return self.root_function

    # -- sessions --------------------------------------------------------------------------------

    def serialize(self, memory_object: MemoryObject | None = None, include_log: bool = True) -> str:
        """The session as text (see `autograms.session`), signed if a key is configured; by
        default the current session's (inside `use_memory`).

        With `include_log` (the default) the text carries the whole log, so nothing is lost
        in a round trip; each serialize encodes only the entries added since the session was
        loaded. Without, the text holds the live state only -- for a store that keeps the log
        itself (`deserialize`'s `log`, ``memory.last_turn_log``).
        """
        if memory_object is None:
            memory_object = require_memory("Autogram.serialize")
        return _checked_memory(memory_object).resolve().to_text(self._key(), include_log)

    def deserialize(
        self,
        data: str,
        log: list[dict[str, Any]] | Callable[[], Iterable[dict[str, Any]]] | str | None = None,
        serialization_type: str | None = None,
    ) -> MemoryObject:
        """A session from `serialize`'s text; refused (SessionError) if it does not check out,
        or if it belongs to another root function.

        `log`, when given, is the session's log kept elsewhere (a database): its entries, or a
        zero-argument callable returning them, called only if something reads the log (a turn
        never does). It replaces the log the text carries, if any; anything else is refused
        (TypeError). After each turn ``memory.last_turn_log`` holds the entries that turn
        added.

        `serialization_type` (AutoGRAMS' ``deserialize(data, serialization_type)``, also
        accepted as the second positional argument): "partial" or "full"; the text is read the
        same either way (it always holds the whole session).
        """
        if isinstance(log, str) and log in SERIALIZATION_TYPES:
            serialization_type, log = log, None
        if serialization_type is not None and serialization_type not in SERIALIZATION_TYPES:
            raise ValueError(
                f"serialization_type must be one of {', '.join(SERIALIZATION_TYPES)}, "
                f"not {serialization_type!r}"
            )
        envelope = session.decode(data, key=self._key())
        if log is not None:
            entries = ConversationLog(checked_source(log))
        elif envelope.log is not None:
            entries = ConversationLog(encoded=envelope.log, signed=envelope.signed)
        elif envelope.log_file is not None and envelope.log_file[0]:
            raise SessionFormatError(
                f"this is the text of a session file written by Autogram.save(): its log "
                f"({envelope.log_file[0]} entries) is in the .log file beside it, which the "
                "text alone does not reach; load the file with Autogram.load(path), or give "
                "the entries as deserialize(text, log=...)",
                reason="missing log",
            )
        else:
            entries = ConversationLog()
        return self._restored(envelope, entries)

    def save(self, file: str | os.PathLike[str], memory_object: MemoryObject | None = None) -> None:
        """Write the session (by default the current one) to `file` atomically; its log goes
        to ``<file>.log`` (the first save to a file writes it whole, later ones append the new
        entries)."""
        if memory_object is None:
            memory_object = require_memory("Autogram.save")
        _checked_memory(memory_object).write(file, self._key())

    def load(self, file_path: str | os.PathLike[str], load_log: bool = True) -> MemoryObject:
        """The session saved at `file_path`, with its log from ``<file_path>.log``, read only
        when something reads the log: `load_log=False` costs nothing more, so it is the same
        (a later `save` to that file keeps the log it holds)."""
        del load_log  # the log is never read up front; dropping it would lose it at the next save
        envelope = session.decode(session.read_file(file_path), key=self._key())
        if envelope.log is not None:  # serialize()'s text written to a file: it carries its log
            return self._restored(
                envelope, ConversationLog(encoded=envelope.log, signed=envelope.signed)
            )
        if envelope.log_file is None:  # format 1 recorded nothing: the whole file, read now
            entries = session.read_log(file_path)
            log = ConversationLog(entries)
            owned = (len(entries), session.log_size(file_path), None, 0)
        else:
            path = os.fspath(file_path)
            log = ConversationLog(
                lambda: session.read_saved_log(path, envelope), count=envelope.log_file[0]
            )
            owned = (*envelope.log_file, envelope.log_crc, 0)
        memory = self._restored(envelope, log)
        memory.saved_logs[os.path.realpath(file_path)] = owned
        return memory

    def _restored(self, envelope: session.Envelope, log: ConversationLog) -> MemoryObject:
        session.check_program(envelope, self.root_function)
        paused = session.check_snapshot(envelope.snapshot)  # refuse now, not at the next turn
        session.check_window(envelope)
        return MemoryObject(
            self.config,
            self.root_function,
            model=self._model,
            test_mode=self.test_mode,
            supervisor_mode=self.supervisor_mode,
            checkpoint=Checkpoint(envelope.snapshot, paused, envelope.window, envelope.window_crc),
            log=log,
        )

    def _key(self) -> bytes | None:
        """The signing key, resolved again only when the config or its ``session_key``
        changes (reading the environment costs a turn a few microseconds each save and
        load)."""
        config = self.config
        configured = config.session_key
        resolved = self._resolved_key
        if resolved is None or resolved[0] is not config or resolved[1] is not configured:
            resolved = self._resolved_key = (config, configured, session.session_key(configured))
        return resolved[2]

    def add_user_reply(self, user_reply: str | None = None) -> None:
        """Record a user message in the current session (inside `use_memory`), as if sent."""
        require_memory("Autogram.add_user_reply").add_user_reply(user_reply)

    def pending_frames(self, memory_object: MemoryObject) -> list[_frames.PendingFrameInfo]:
        """Where the session's program is paused: function, line, label, locals."""
        return _checked_memory(memory_object).pending_frames()


def _checked_memory(memory_object: Any) -> SerializableMemory:
    """`memory_object` if it is a session's memory; otherwise a TypeError saying what was
    given instead and what to pass."""
    if isinstance(memory_object, SerializableMemory):
        return memory_object
    if isinstance(memory_object, (str, bytes)):
        hint = "a serialized session? pass autogram.deserialize(text)"
    elif isinstance(memory_object, Mapping):
        hint = "memory_dict is a view of a memory object: pass the object itself"
    else:
        hint = "pass what reply(), deserialize() or load() returned"
    raise TypeError(
        f"memory_object must be a MemoryObject: got {type(memory_object).__name__} ({hint})"
    )


def _with_api_keys(config: AutogramConfig, api_keys: dict[str, str] | None) -> AutogramConfig:
    """AutoGRAMS' ``api_keys={"openai": ...}``: a key, or with ``"load_from_env": True``
    the name of the environment variable holding it."""
    if not api_keys or "openai" not in api_keys:
        return config
    key = api_keys["openai"]
    if api_keys.get("load_from_env"):
        key = os.environ.get(key, "")
    return replace(config, api_key=key or None) if key else config


def _call_outside_program(target: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """Run `target` with a driver of its own, so decorated functions it calls run normally
    (nothing they do can reach the paused program)."""
    outcome = _frames.run(target, kwargs=kwargs)
    if isinstance(outcome, _frames.Paused):  # pragma: no cover - pausing is forbidden here
        raise ConversationError(f"{_name(target)} paused inside apply()")
    return outcome.value


def _name(function: Any) -> str:
    return getattr(function, "__qualname__", repr(function))


@contextlib.contextmanager
def use_config(
    config: AutogramConfig | None = None,
    test_mode: bool = False,
    supervisor_mode: bool = False,
    *,
    model: ChatModel | None = None,
) -> Iterator[MemoryObject]:
    """A memory for helper calls outside any conversation (no pausing)."""
    memory = SimpleMemory(
        config or AutogramConfig(),
        test_mode=test_mode,
        supervisor_mode=supervisor_mode,
        model=model,
    )
    with use_memory(memory), memory.pausing_forbidden("inside use_config()"):
        yield memory


def load_autogram(
    filepath: str | os.PathLike[str],
) -> tuple[Callable[..., Any] | None, Callable[..., Any] | None]:
    """Import a bot file; returns its ``(chatbot, init_chatbot)`` (None when missing).

    The module is named as ``import`` would name it (``bot.py`` -> ``bot``; see
    `autograms._bot_files`), so a session saved by one process resumes in another that
    loads the same file, whether by this function, by ``import`` or by ``autograms run``.
    """
    module = import_bot_file(filepath)
    return getattr(module, "chatbot", None), getattr(module, "init_chatbot", None)

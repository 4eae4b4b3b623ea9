"""`Autogram`: drives a program one user turn at a time, and saves and loads its sessions.

Every turn is a transaction: it runs on a working copy of the session (loaded from the
session's last snapshot) and only a turn that ends normally -- with a reply, EXIT, or the
program returning -- replaces the memory's state. An exception from the program propagates
to the caller and the memory passed in is left exactly as it was.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from . import _frames, session
from ._bot_files import import_bot_file
from ._control import ExitPayload, ReplyPayload
from ._errors import ConversationError
from .config import AutogramConfig
from .decorators import is_autograms_function
from .memory import MemoryObject, use_memory
from .models.records import ChatModel


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

    def __repr__(self) -> str:
        name = getattr(self.root_function, "__qualname__", None)
        return f"<Autogram root={name} test_mode={self.test_mode}>"

    @property
    def model(self) -> ChatModel:
        """The model every session of this Autogram calls (one client, made on first use)."""
        if self._model is None:
            with self._model_lock:
                if self._model is None:
                    from .models import model_from_config

                    self._model = model_from_config(
                        self.config, test_mode=self.test_mode, seed=self.seed
                    )
        return self._model

    # -- memories ------------------------------------------------------------------------------

    def init_memory(self, memory_dict: dict[str, Any] | None = None) -> MemoryObject:
        """A new session (idle: its first turn starts the program)."""
        memory = MemoryObject(
            self.config,
            self.root_function,
            memory_dict,
            test_mode=self.test_mode,
            supervisor_mode=self.supervisor_mode,
        )
        memory._model = self._model
        return memory

    def _memory(self, memory_object: MemoryObject | None, memory_dict: dict | None) -> MemoryObject:
        if memory_object is not None:
            return memory_object
        return self.init_memory(memory_dict)

    @contextlib.contextmanager
    def _turn(self, memory: MemoryObject) -> Iterator[tuple[MemoryObject, _frames.Loaded | None]]:
        """A working copy of `memory` made current, with the session's snapshot loaded."""
        work = memory.working_copy()
        work._model = self.model
        work.supervisor_mode = self.supervisor_mode
        with use_memory(work):
            if memory._snapshot is None:
                work._state = _copy_state(memory._state)
                loaded = None
            else:
                loaded = session.load_snapshot(memory._snapshot)
                work._state = loaded.attachment
            yield work, loaded

    # -- turns ---------------------------------------------------------------------------------

    def reply(
        self,
        user_reply: str | None = "",
        memory_object: MemoryObject | None = None,
        memory_dict: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> tuple[str | None, MemoryObject]:
        """Run one turn: start the program, or continue it with the user's message.

        Returns ``(text, memory)``: the text the program replied with, or None when the
        program returned (its next turn starts it again from the top, the conversation
        history kept). `kwargs` go to the root function when it starts.
        """
        memory = self._memory(memory_object, memory_dict)
        root = self._require_root()
        text = user_reply or ""
        with self._turn(memory) as (work, loaded):
            work.add_user_reply(text)
            if loaded is not None and loaded.is_paused:
                outcome = _frames.resume(loaded, text, attachment=work.live_state)
            else:
                arguments = _root_arguments(root, text, kwargs)
                outcome = _frames.run(root, kwargs=arguments, attachment=work.live_state)
            reply_text, data = _turn_result(outcome, work)
            snapshot = (
                outcome.snapshot
                if isinstance(outcome, _frames.Paused)
                else _frames.pack(work.live_state())
            )
        memory.commit(work, snapshot)
        memory.reply_data = data
        return reply_text, memory

    def apply(
        self,
        user_reply: str | None = None,
        memory_object: MemoryObject | None = None,
        memory_dict: dict[str, Any] | None = None,
        func: Callable[..., Any] | None = None,
        function: Callable[..., Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Call ``func(**kwargs)`` inside the session's memory, without pausing; a paused
        program stays paused. Returns what `func` returns (a transaction, like a turn)."""
        target = func if func is not None else function
        if target is None:
            raise TypeError("apply() needs the function to run: apply(func=...)")
        memory = self._memory(memory_object, memory_dict)
        with self._turn(memory) as (work, loaded):
            if user_reply is not None:
                work.add_user_reply(user_reply)
            with work.pausing_forbidden(f"inside Autogram.apply({_name(target)})"):
                result = _call_outside_program(target, kwargs)
            snapshot = _store(loaded, work)
        memory.commit(work, snapshot)
        return result

    @contextlib.contextmanager
    def use_memory(
        self, memory_object: MemoryObject | None = None, memory_dict: dict[str, Any] | None = None
    ) -> Iterator[MemoryObject]:
        """Make a session current (for its user globals, helpers, ...); its changes are
        kept if the block ends without an exception."""
        memory = self._memory(memory_object, memory_dict)
        with self._turn(memory) as (work, loaded):
            with work.pausing_forbidden("inside Autogram.use_memory()"):
                yield work
            snapshot = _store(loaded, work)
        memory.commit(work, snapshot)

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

    def serialize(self, memory_object: MemoryObject, include_log: bool = False) -> str:
        """The session as text (see `autograms.session`); signed if a key is configured.
        The model-call log is left out unless `include_log`."""
        snapshot = _snapshot_of(memory_object)
        log = memory_object.model_turns if include_log else None
        return session.encode(snapshot, key=self._key(), log=log)

    def deserialize(
        self,
        data: str,
        log: list[dict[str, Any]] | Callable[[], list[dict[str, Any]]] | None = None,
    ) -> MemoryObject:
        """A session from `serialize`'s text; refused (SessionError) if it does not check out.

        `log`, when given, is the session's log kept elsewhere (a database): its entries, or a
        zero-argument callable returning them, called only if something reads the log. After
        each turn ``memory.last_turn_log`` holds the entries that turn added.
        """
        envelope = session.decode(data, key=self._key())
        return self._restored(envelope.snapshot, envelope.log or [] if log is None else log)

    def save(self, file: str | os.PathLike[str], memory_object: MemoryObject) -> None:
        """Write the session to `file` atomically; new log entries go to ``<file>.log``."""
        text = session.encode(_snapshot_of(memory_object), key=self._key())
        session.write_file(file, text)
        entries = memory_object.model_turns
        where = os.path.realpath(file)
        saved = memory_object.saved_logs.get(where)
        if saved is None:  # first save of this session to this file: its log starts anew
            session.write_log(file, entries)
        else:
            session.append_log(file, entries[saved:])
        memory_object.saved_logs[where] = len(entries)

    def load(self, file_path: str | os.PathLike[str], load_log: bool = True) -> MemoryObject:
        """The session saved at `file_path` (with its log from ``<file_path>.log``)."""
        envelope = session.decode(session.read_file(file_path), key=self._key())
        log = session.read_log(file_path) if load_log else []
        memory = self._restored(envelope.snapshot, log)
        if load_log:
            memory.saved_logs[os.path.realpath(file_path)] = len(log)
        return memory

    def _restored(
        self, snapshot: bytes, log: list[dict[str, Any]] | Callable[[], list[dict[str, Any]]]
    ) -> MemoryObject:
        session.check_snapshot(snapshot)  # refuse now, not at the next turn
        memory = self.init_memory()
        memory._state = None  # unpickled by the next turn, or on first look at memory_dict
        memory._snapshot = snapshot
        memory._log_base = log if callable(log) else list(log)
        return memory

    def _key(self) -> bytes | None:
        return session.session_key(self.config.session_key)

    def pending_frames(self, memory_object: MemoryObject) -> list[_frames.PendingFrameInfo]:
        """Where the session's program is paused: function, line, label, locals."""
        if memory_object._snapshot is None:
            return []
        with use_memory(memory_object):
            return _frames.describe(memory_object._snapshot)


def _with_api_keys(config: AutogramConfig, api_keys: dict[str, str] | None) -> AutogramConfig:
    """AutoGRAMS' ``api_keys={"openai": ...}``: a key, or with ``"load_from_env": True``
    the name of the environment variable holding it."""
    if not api_keys or "openai" not in api_keys:
        return config
    key = api_keys["openai"]
    if api_keys.get("load_from_env"):
        key = os.environ.get(key, "")
    return replace(config, api_key=key or None) if key else config


def _copy_state(state: dict[str, Any]) -> dict[str, Any]:
    """A working copy of a state not yet saved in a snapshot (a brand-new session)."""
    return _frames.load(_frames.pack(state)).attachment


def _snapshot_of(memory: MemoryObject) -> bytes:
    if memory._snapshot is not None:
        return memory._snapshot
    return _frames.pack(memory.memory_dict)


def _store(loaded: _frames.Loaded | None, work: MemoryObject) -> bytes:
    """The session's snapshot after a turn that did not run the program."""
    if loaded is None or not loaded.is_paused:
        return _frames.pack(work.live_state())
    loaded.attachment = work.live_state()
    return _frames.store(loaded)


def _turn_result(outcome: _frames.Outcome, work: MemoryObject) -> tuple[str | None, Any]:
    if isinstance(outcome, _frames.Finished):
        return None, None
    payload = outcome.payload
    if isinstance(payload, ReplyPayload):
        return payload.text, payload.data
    if isinstance(payload, ExitPayload):
        return payload.text, payload.data
    raise ConversationError(f"the program paused with an unknown payload {payload!r}")


def _root_arguments(root: Callable[..., Any], text: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    if "user_reply" in inspect.signature(root).parameters and "user_reply" not in kwargs:
        return {**kwargs, "user_reply": text}
    return kwargs


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
    memory = MemoryObject(
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

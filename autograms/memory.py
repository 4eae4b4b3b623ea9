"""Conversation memory: what one session of a program knows, and the session's globals.

A `MemoryObject` holds one session in two parts:

* ``memory_dict`` -- the *live* state, saved in the same pickle as the paused program's
  frames (objects they share stay shared):

  ==================== =======================================================================
  turn_stack           one level per active decorated call: {"scope", "turns", "system_prompt",
                       "function"}; level 0 is the session's own. Turns are {"role", "content"}
                       with role "user", "agent", "system_instruction" or "system_answer".
  user_globals         per module: the session's values of ``init_user_globals()`` names
  persistent_globals   per module: the session's values of ``set_persistent_globals()`` names
  cached_user_reply    the user's last message (kept until the next one)
  last_node            the ADDRESS of the last node entered
  exit_data            what EXIT was given, when the program exited
  ==================== =======================================================================

* ``model_turns`` -- the append-only log of model calls and chat events (every user and agent
  message among them). It is kept apart so that saving a turn costs the same at turn 1 and
  turn 1,000 (see `autograms.session`).

The live state stays bounded: a level keeps only its newest turns, up to
`LIVE_CHARS_PER_TOKEN` characters per token of the largest prompt budget
(``chatbot_max_input_len``), and never fewer than `MIN_LIVE_TURNS`; older turns could never be
part of a prompt again. The full conversation remains in the log.

Conversation scopes (``@autograms_function(conv_scope=...)``): every decorated call pushes a
level that starts with its caller's system prompt; when it returns, a ``"global"`` level's
turns join its caller's, ``"normal"`` and ``"local"`` levels are dropped. A model call sees
the turns of every level from the innermost outward, stopping after the first ``"local"``
level it includes.

The current memory lives in a ContextVar: every thread and asyncio task has its own, so
concurrent sessions never see each other.
"""

from __future__ import annotations

import contextlib
import copy
import operator
import sys
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from contextvars import ContextVar, Token
from typing import Any

from ._errors import ConversationError
from ._prompts import Conversation
from .config import AutogramConfig
from .models.records import ChatModel, ModelCall

SCOPES = ("global", "normal", "local")
#: characters of turns a level keeps per token of the prompt budget: English averages about
#: four characters a token, so this keeps half as much again as a full prompt can hold
LIVE_CHARS_PER_TOKEN = 6
#: turns a level keeps whatever their length
MIN_LIVE_TURNS = 40

_current: ContextVar[MemoryObject | None] = ContextVar("autograms_memory", default=None)


def new_state(system_prompt: str) -> dict[str, Any]:
    """The live state of a session that has not started."""
    return {
        "turn_stack": [_level("global", system_prompt, None)],
        "user_globals": {},
        "persistent_globals": {},
        "cached_user_reply": None,
        "last_node": None,
        "exit_data": None,
    }


def _level(scope: str, system_prompt: str, function: str | None) -> dict[str, Any]:
    return {"scope": scope, "turns": [], "system_prompt": system_prompt, "function": function}


def _timestamp() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"


class MemoryObject:
    """One session of a program: its live state and its model-call log.

    Create it through `Autogram` (``autogram.reply()`` makes one, ``autogram.deserialize`` or
    ``autogram.load`` restore one). A memory passed to ``autogram.reply`` is changed only if
    the turn succeeds.
    """

    def __init__(
        self,
        config: AutogramConfig | None = None,
        root_function: Any = None,
        memory_dict: dict[str, Any] | None = None,
        *,
        model: ChatModel | None = None,
        test_mode: bool = False,
        supervisor_mode: bool = False,
    ) -> None:
        self.config = config or AutogramConfig()
        self.root_function = root_function
        self.test_mode = test_mode
        #: whether helpers called with ``supervisor=`` run their supervisor (autograms.supervisors)
        self.supervisor_mode = supervisor_mode
        self._model = model
        self._state = (
            memory_dict if memory_dict is not None else new_state(self.config.default_prompt)
        )
        self._log: list[dict[str, Any]] = []
        #: the log before this memory's own entries: a list, or a zero-argument callable
        #: returning it (a log kept elsewhere, read on first use)
        self._log_base: list[dict[str, Any]] | Callable[[], list[dict[str, Any]]] = []
        #: the committed session: frames (if the program is paused) and state, as bytes
        self._snapshot: bytes | None = None
        #: why pausing is not allowed right now (inside @autograms_external, apply ...)
        self._no_pause: str | None = None
        #: the `data` of the last reply (``reply(text, data=...)``) or EXIT
        self.reply_data: Any = None
        #: per saved file (real path): how many log entries its ``.log`` holds
        self.saved_logs: dict[str, int] = {}
        #: the log entries the last successful reply, apply or use_memory added, oldest first
        self.last_turn_log: list[dict[str, Any]] = []

    def __repr__(self) -> str:
        levels = len(self.memory_dict["turn_stack"])
        paused = "paused" if self._snapshot is not None and self.is_paused else "idle"
        entries = "unread" if callable(self._log_base) else len(self.model_turns)
        return f"<MemoryObject {paused}, {levels} scope level(s), {entries} log entries>"

    def __reduce__(self) -> tuple:
        # A memory saved inside a program's locals is *the session's* memory: restore it as
        # whichever memory is current when the session is loaded, never as a copy.
        return (_current_memory_or_fail, ())

    @property
    def memory_dict(self) -> dict[str, Any]:
        """The live state (see the module docstring)."""
        if self._state is None:  # a restored session, read on first use
            from . import session

            with use_memory(self):
                self._state = session.load_snapshot(self._snapshot).attachment
        return self._state

    @property
    def model_turns(self) -> list[dict[str, Any]]:
        """The log of model calls and chat events, oldest first."""
        return self._earlier_log() + self._log

    def _earlier_log(self) -> list[dict[str, Any]]:
        if callable(self._log_base):  # a log kept elsewhere: read it now, once
            self._log_base = list(self._log_base())
        return self._log_base

    @property
    def model(self) -> ChatModel:
        """The model this session's helpers call."""
        if self._model is None:
            from .models import model_from_config

            self._model = model_from_config(self.config, test_mode=self.test_mode)
        return self._model

    @property
    def is_paused(self) -> bool:
        """Whether the program is paused (its next turn continues it) rather than idle."""
        return self._snapshot is not None and bool(_frames_header(self._snapshot))

    # -- scopes ------------------------------------------------------------------------------

    @property
    def _levels(self) -> list[dict[str, Any]]:
        return self.memory_dict["turn_stack"]

    def push_scope(self, scope: str, function: str | None = None) -> None:
        """Open the level of a decorated call (inheriting its caller's system prompt)."""
        self._levels.append(_level(scope, self._levels[-1]["system_prompt"], function))

    def pop_scope(self) -> None:
        """Close the innermost level; a "global" level's turns join its caller's."""
        levels = self._levels
        if len(levels) < 2:
            return
        level = levels.pop()
        if level["scope"] == "global":
            levels[-1]["turns"].extend(level["turns"])

    def conversation(self, max_turns: int | None = None) -> Conversation:
        """What a model call sees: turns from the innermost level outward, stopping after
        the first "local" level."""
        visible: list[list[dict[str, str]]] = []
        for level in reversed(self._levels):
            visible.append(level["turns"])
            if level["scope"] == "local":
                break
        turns = [turn for level_turns in reversed(visible) for turn in level_turns]
        return Conversation(self._levels[-1]["system_prompt"], tuple(turns))

    def set_system_prompt(self, text: str) -> None:
        self._levels[-1]["system_prompt"] = text

    def append_system_prompt(self, text: str) -> None:
        level = self._levels[-1]
        level["system_prompt"] = (
            f"{level['system_prompt']}\n{text}" if level["system_prompt"] else text
        )

    def get_system_prompt(self) -> str:
        return self._levels[-1]["system_prompt"]

    # -- turns and the log -------------------------------------------------------------------

    def add_user_reply(self, text: str | None) -> None:
        """Record the user's message (an empty one is logged but adds no turn)."""
        self._log.append(
            {"entry_type": "user_reply", "user_reply": text, "timestamp": _timestamp()}
        )
        if text:
            self._levels[-1]["turns"].append({"role": "user", "content": text})
            self.memory_dict["cached_user_reply"] = text

    def log_chat_turn(
        self, text: str, *, address: str | None = None, function: str | None = None
    ) -> None:
        """Record an agent reply."""
        self._levels[-1]["turns"].append({"role": "agent", "content": text})
        self._log.append(
            {
                "entry_type": "agent_reply",
                "reply": text,
                "address": address,
                "last_node": self.memory_dict["last_node"],
                "function_name": function,
                "timestamp": _timestamp(),
            }
        )

    def log_thought_turn(self, answer: str, instruction: str) -> None:
        """Record a thought: its instruction and answer become part of the conversation."""
        turns = self._levels[-1]["turns"]
        turns.append({"role": "system_instruction", "content": instruction})
        turns.append({"role": "system_answer", "content": answer})

    def log_model_calls(
        self, calls: tuple[ModelCall, ...], function_name: str, **fields: Any
    ) -> None:
        """Record the model calls one helper made (`fields` are added to each entry)."""
        for call in calls:
            entry = call.to_dict()
            entry.update(fields)
            entry.update(entry_type="model", function_name=function_name, timestamp=_timestamp())
            self._log.append(entry)

    def set_node(self, address: str) -> None:
        """Record entering the node labelled `address`."""
        self.memory_dict["last_node"] = address
        self._log.append({"entry_type": "node", "node": address, "timestamp": _timestamp()})

    def extract_last_user_reply(self) -> str | None:
        """The user's latest message (None before the first one)."""
        return self.memory_dict["cached_user_reply"]

    def last_agent_reply(self) -> str | None:
        """The bot's latest reply still in the live conversation."""
        for level in reversed(self._levels):
            for turn in reversed(level["turns"]):
                if turn["role"] == "agent":
                    return turn["content"]
        return None

    def extract_full_conv_history(self) -> list[dict[str, str]]:
        """Every user and agent message of the session in order, whatever the scopes (read
        from the log: a session loaded without its log gives a shorter history)."""
        history = []
        for entry in self.model_turns:
            if entry["entry_type"] == "user_reply" and entry["user_reply"]:
                history.append({"role": "user", "content": entry["user_reply"]})
            elif entry["entry_type"] == "agent_reply":
                history.append({"role": "assistant", "content": entry["reply"]})
        return history

    def live_state(self) -> dict[str, Any]:
        """The state to save: each level's turns cut to what a prompt could still include."""
        budget = self.config.chatbot_max_input_len
        if budget:
            limit = LIVE_CHARS_PER_TOKEN * max(budget, self.config.classifier_max_input_len or 0)
            for level in self._levels:
                _trim(level["turns"], limit)
        return self.memory_dict

    def prune_model_turns(self, keep: int = 0) -> None:
        """Forget all but the newest `keep` log entries."""
        entries = self.model_turns[-keep:] if keep else []
        self._log_base, self._log = [], entries

    # -- turns as transactions ---------------------------------------------------------------

    def working_copy(self) -> MemoryObject:
        """A memory for one turn: same config and model, state loaded by the turn, log
        entries added on top of this memory's. `commit` makes it this memory's new state."""
        work = MemoryObject.__new__(MemoryObject)
        work.config = self.config
        work.root_function = self.root_function
        work.test_mode = self.test_mode
        work.supervisor_mode = self.supervisor_mode
        work._model = self._model
        work._state = None
        work._log = []
        # A log still unread stays unread unless the turn looks at it.
        unread = callable(self._log_base)
        work._log_base = (lambda: self.model_turns) if unread else self.model_turns
        work._snapshot = self._snapshot
        work._no_pause = None
        work.reply_data = None
        work.saved_logs = {}
        work.last_turn_log = []
        return work

    def commit(self, work: MemoryObject, snapshot: bytes) -> None:
        """Take the state, snapshot and new log entries of a successful turn."""
        self._state = work._state
        self._snapshot = snapshot
        self._log.extend(work._log)
        self.last_turn_log = list(work._log)
        if self._model is None:
            self._model = work._model

    @contextlib.contextmanager
    def pausing_forbidden(self, reason: str) -> Iterator[None]:
        """While active, reply/EXIT/GOTO/RETURNTO raise ConversationError naming `reason`."""
        previous, self._no_pause = self._no_pause, reason
        try:
            yield
        finally:
            self._no_pause = previous

    def check_may_pause(self, what: str) -> None:
        if self._no_pause is not None:
            raise ConversationError(f"{what} cannot be used {self._no_pause}", function=what)


def _trim(turns: list[dict[str, str]], limit: int) -> None:
    """Drop the oldest turns beyond `limit` characters (keeping `MIN_LIVE_TURNS`)."""
    droppable = len(turns) - MIN_LIVE_TURNS
    if droppable <= 0:
        return
    total = sum(map(len, map(_content, turns)))
    # Walk from the oldest end: usually only the one or two turns added since the last trim go.
    drop = 0
    while total > limit and drop < droppable:
        total -= len(turns[drop]["content"])
        drop += 1
    del turns[:drop]


_content = operator.itemgetter("content")


def _frames_header(snapshot: bytes) -> list:
    from ._frames import wire

    return wire.read(snapshot)[0]


def _current_memory_or_fail() -> MemoryObject:
    memory = _current.get()
    if memory is None:
        raise ConversationError(
            "a saved reference to the session memory was loaded outside a session"
        )
    return memory


def get_memory() -> MemoryObject | None:
    """The memory of the session running in this thread or task, or None."""
    return _current.get()


def require_memory(what: str) -> MemoryObject:
    """The current memory, or a ConversationError saying `what` needs one."""
    memory = _current.get()
    if memory is None:
        raise ConversationError(
            f"{what} needs a running conversation: call it from a program driven by "
            "Autogram.reply(), or inside `with use_config(...)`",
            function=what,
        )
    return memory


def set_memory(memory: MemoryObject | None) -> Token:
    """Make `memory` current; returns the token `reset_memory` takes."""
    return _current.set(memory)


def reset_memory(token: Token) -> None:
    _current.reset(token)


@contextlib.contextmanager
def use_memory(memory: MemoryObject | None = None) -> Iterator[MemoryObject]:
    """Make `memory` (a new one if None) current inside the block."""
    memory = memory if memory is not None else MemoryObject()
    token = _current.set(memory)
    try:
        yield memory
    finally:
        _current.reset(token)


# -- per-session globals ---------------------------------------------------------------------

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

    def __reduce__(self) -> tuple:
        return (init_user_globals_for, (self._module,))

    def _values(self) -> dict[str, Any]:
        memory = _current.get()
        if memory is None:
            return self._defaults
        sessions = memory.memory_dict["user_globals"]
        if self._module not in sessions:
            sessions[self._module] = copy.deepcopy(self._defaults)
        return sessions[self._module]

    def __getitem__(self, name: str) -> Any:
        return self._values()[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self._values()[name] = value

    def __delitem__(self, name: str) -> None:
        del self._values()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values())

    def __len__(self) -> int:
        return len(self._values())

    def __repr__(self) -> str:
        return f"UserGlobals({self._module!r}, {self._values()!r})"


def init_user_globals_for(module: str) -> UserGlobals:
    """The UserGlobals of `module` (created once per process)."""
    with _user_globals_lock:
        if module not in _user_globals:
            _user_globals[module] = UserGlobals(module)
        return _user_globals[module]


def init_user_globals() -> UserGlobals:
    """Per-session globals for the calling module: ``G = init_user_globals()`` at module
    level, then ``G["count"] = 0`` there sets a default and ``G["count"] += 1`` inside a
    program changes only the current session's value."""
    return init_user_globals_for(sys._getframe(1).f_globals.get("__name__", "__main__"))


from ._globals import get_persistent_globals, set_persistent_globals  # noqa: E402

__all__ = [
    "MemoryObject",
    "UserGlobals",
    "get_memory",
    "get_persistent_globals",
    "init_user_globals",
    "reset_memory",
    "set_memory",
    "set_persistent_globals",
    "use_memory",
]

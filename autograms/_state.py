"""The live state of a session, typed, and the plain form it is saved in.

A `SessionState` is what a program's conversation memory holds between two model calls:

==================== ==========================================================================
turn_stack           one `Level` per active decorated call; level 0 is the session's own
user_globals         per module: the session's values of ``init_user_globals()`` names
user_global_defaults per module: the default names of ``init_user_globals()`` the session took
                     (a default a later deploy adds is taken when the session next uses them)
persistent_globals   per module: the session's values of ``set_persistent_globals()`` names
cached_user_reply    the user's last message (kept until the next one)
last_node            the ADDRESS of the last node entered
exit_data            what EXIT was given, when the program exited
extra                keys a program or a run loop added to ``memory_dict``
==================== ==========================================================================

``memory_dict`` shows the keys of `VIEW_KEYS` and those of ``extra``.

It is saved in the same pickle as the paused program's frames, so objects they share (a list
held both in a user global and in a local) stay shared. What is pickled is its *saved form*
(`to_saved`/`from_saved`): plain data only -- no class of this library, so renaming a module
never strands a session -- tagged with `STATE_FORMAT`. There each level's turns are packed into
three values (the contents joined into one string, a string of one-letter role codes, the
content lengths), so saving a level costs a few large copies rather than one object per turn,
and a loaded level is unpacked only when something reads its turns (`Turns`).

`from_saved` also reads the state of earlier formats (see ``docs/sessions.md``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, MutableSequence
from typing import Any, TypedDict

SCOPES = ("global", "normal", "local")
#: the format of the saved form; format 1 (sessions of release 0.1.0) had no tag, format 2
#: no ``user_global_defaults``
STATE_FORMAT = 3
#: characters of turns a level keeps per token of the prompt budget: English averages about
#: four characters a token, so this keeps half as much again as a full prompt can hold
LIVE_CHARS_PER_TOKEN = 6
#: turns a level keeps whatever their length
MIN_LIVE_TURNS = 40


class Turn(TypedDict):
    """One message of the conversation a model call may see."""

    #: "user", "agent", "system_instruction" or "system_answer"
    role: str
    content: str


class Level(TypedDict):
    """The conversation of one active decorated call (see ``conv_scope``)."""

    #: "global", "normal" or "local"
    scope: str
    #: a `Turns`, or a plain list once ``memory_dict`` handed the level out
    turns: MutableSequence[Turn]
    system_prompt: str
    #: qualified name of the decorated function (None for the session's own level)
    function: str | None


class ModuleGlobals(TypedDict):
    """A session's values of one module's persistent globals."""

    #: names the session has read or set, with their values
    values: dict[str, Any]
    #: names the session deleted
    deleted: list[str]


class SessionState(TypedDict):
    """The live state of one session (see the module docstring)."""

    turn_stack: list[Level]
    user_globals: dict[str, dict[str, Any]]
    user_global_defaults: dict[str, tuple[str, ...]]
    persistent_globals: dict[str, ModuleGlobals]
    cached_user_reply: str | None
    last_node: str | None
    exit_data: Any
    extra: dict[str, Any]


#: the keys of a SessionState, in order
STATE_KEYS = tuple(SessionState.__annotations__)
#: the keys of a SessionState that ``memory_dict`` shows as its own
VIEW_KEYS = tuple(key for key in STATE_KEYS if key not in ("user_global_defaults", "extra"))


def new_state(system_prompt: str) -> SessionState:
    """The state of a session that has not started."""
    return SessionState(
        turn_stack=[new_level("global", system_prompt, None)],
        user_globals={},
        user_global_defaults={},
        persistent_globals={},
        cached_user_reply=None,
        last_node=None,
        exit_data=None,
        extra={},
    )


def new_level(scope: str, system_prompt: str, function: str | None) -> Level:
    """An empty level."""
    level: Level = {
        "scope": scope,
        "turns": Turns(),
        "system_prompt": system_prompt,
        "function": function,
    }
    return level


def close_level(levels: list[Level]) -> None:
    """Close the innermost of two or more levels, as its call returning does: a "global"
    level's turns join its caller's, the others' are dropped."""
    level = levels.pop()
    if level["scope"] == "global":
        levels[-1]["turns"].extend(level["turns"])


def state_from_dict(values: dict[str, Any], system_prompt: str) -> SessionState:
    """A state from a dict given by a user (``MemoryObject(memory_dict=...)``): the keys of a
    state are taken, missing ones start empty, and any other key goes to ``extra``."""
    state = new_state(system_prompt)
    for key, value in values.items():
        if key == "turn_stack":
            state["turn_stack"] = [_level_from_dict(level) for level in value]
        elif key in STATE_KEYS and key != "extra":
            state[key] = value  # type: ignore[literal-required]
        elif key == "extra":
            state["extra"].update(value)
        else:
            state["extra"][key] = value
    return state


def _level_from_dict(level: dict[str, Any]) -> Level:
    turns = level.get("turns", ())
    return Level(
        scope=level.get("scope", "global"),
        turns=turns if isinstance(turns, Turns) else Turns(turns),
        system_prompt=level.get("system_prompt", ""),
        function=level.get("function"),
    )


# -- the live window -----------------------------------------------------------------------


def live_limit(chatbot_max_input_len: int | None, classifier_max_input_len: int | None) -> int:
    """Characters of turns a level keeps (0: no limit) for the configured prompt budgets."""
    if not chatbot_max_input_len:
        return 0
    return LIVE_CHARS_PER_TOKEN * max(chatbot_max_input_len, classifier_max_input_len or 0)


def trim(state: SessionState, limit: int) -> None:
    """Cut each level's turns to what a prompt could still include: the newest ones within
    `limit` characters, never fewer than `MIN_LIVE_TURNS` (older turns stay in the log)."""
    if limit:
        for level in state["turn_stack"]:
            turns_of(level).trim(limit, MIN_LIVE_TURNS)


def turns_of(level: Level) -> Turns:
    """The level's turns as a `Turns` (a plain list put there through ``memory_dict`` is
    wrapped in place)."""
    turns = level["turns"]
    if not isinstance(turns, Turns):
        turns = level["turns"] = Turns(turns)
    return turns


# -- the saved form --------------------------------------------------------------------------


def to_saved(state: SessionState) -> dict[str, Any]:
    """The plain data that is pickled for `state` (shares its values, copies nothing big)."""
    saved: dict[str, Any] = {"format": STATE_FORMAT}
    saved.update(state)
    saved["turn_stack"] = [
        {
            "scope": level["scope"],
            "system_prompt": level["system_prompt"],
            "function": level["function"],
            "turns": turns_of(level).packed(),
        }
        for level in state["turn_stack"]
    ]
    return saved


def from_saved(saved: dict[str, Any]) -> SessionState:
    """The live state of a saved form, of this format or an earlier one."""
    if saved.get("format") is None:
        return _from_format_1(saved)
    # dict displays rather than calls of the TypedDicts (which cost three times as much):
    # this runs on every turn
    levels: list[Level] = [
        {
            "scope": level["scope"],
            "turns": Turns.from_saved(level["turns"]),
            "system_prompt": level["system_prompt"],
            "function": level["function"],
        }
        for level in saved["turn_stack"]
    ]
    state: SessionState = {
        "turn_stack": levels,
        "user_globals": saved["user_globals"],
        "user_global_defaults": saved.get("user_global_defaults", {}),  # format 2: none kept
        "persistent_globals": saved["persistent_globals"],
        "cached_user_reply": saved["cached_user_reply"],
        "last_node": saved["last_node"],
        "exit_data": saved["exit_data"],
        "extra": saved["extra"],
    }
    return state


def _from_format_1(saved: dict[str, Any]) -> SessionState:
    """Format 1 (release 0.1.0): the state dict itself was pickled -- turns as lists of
    dicts, keys a program added to ``memory_dict`` at the top level, no ``extra``."""
    return state_from_dict(saved, "")


# -- turns -------------------------------------------------------------------------------------

_CODES = {"user": "u", "agent": "a", "system_instruction": "i", "system_answer": "s"}
_ROLES = {code: role for role, code in _CODES.items()}


class Turns(MutableSequence[Turn]):
    """The turns of one level, oldest first: a list of `Turn` dicts to its readers.

    A loaded level keeps its turns packed (see the module docstring) until something reads
    them; turns appended meanwhile wait in a tail, so a turn that only adds messages never
    unpacks the ones before, and saving them again copies the packed part as it is. Any
    change other than an append or a trim unpacks everything first.
    """

    __slots__ = ("_text", "_codes", "_lengths", "_unpacked", "_tail")

    def __init__(self, turns: Iterable[Turn] = ()) -> None:
        #: the packed turns: contents joined, role codes, content lengths
        self._text = ""
        self._codes = ""
        self._lengths: list[int] = []
        #: the packed turns as dicts, once read (None: not read yet)
        self._unpacked: list[Turn] | None = []
        #: turns after the packed ones
        self._tail: list[Turn] = list(turns)

    @classmethod
    def from_saved(cls, saved: tuple[str, str, list[int]] | list[Turn]) -> Turns:
        """Turns from `packed`'s result."""
        if isinstance(saved, list):
            return cls(saved)
        turns = cls()
        turns._text, turns._codes, turns._lengths = saved
        turns._unpacked = None
        return turns

    def packed(self) -> tuple[str, str, list[int]] | list[Turn]:
        """Plain data for the saved form: packed, or a list of dicts if some turn is not a
        plain {"role", "content"} dict with a known role."""
        tail = self._tail
        if not all(_is_plain(turn) for turn in tail):
            return [dict(turn) for turn in self]  # type: ignore[misc]
        if not tail:
            return (self._text, self._codes, self._lengths)
        contents = [turn["content"] for turn in tail]
        return (
            self._text + "".join(contents),
            self._codes + "".join([_CODES[turn["role"]] for turn in tail]),
            self._lengths + [len(content) for content in contents],
        )

    def _head(self) -> list[Turn]:
        """The packed turns as dicts (unpacked on first use)."""
        if self._unpacked is None:
            text, roles = self._text, _ROLES
            ends = list(itertools.accumulate(self._lengths))
            starts = [0, *ends[:-1]] if ends else []
            self._unpacked = [
                {"role": roles[code], "content": text[start:end]}  # type: ignore[misc]
                for code, start, end in zip(self._codes, starts, ends, strict=True)
            ]
        return self._unpacked

    def _flatten(self) -> None:
        """Turn the packed part into ordinary dicts (before a change other than appending)."""
        if self._codes:
            self._tail = self._head() + self._tail
            self._text, self._codes, self._lengths, self._unpacked = "", "", [], []

    def __len__(self) -> int:
        return len(self._codes) + len(self._tail)

    def __iter__(self) -> Iterator[Turn]:
        return itertools.chain(self._head(), self._tail)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return list(self)[index]
        size, head = len(self), len(self._codes)
        position = index + size if index < 0 else index
        if not 0 <= position < size:
            raise IndexError("turn index out of range")
        return self._head()[position] if position < head else self._tail[position - head]

    def __setitem__(self, index: Any, value: Any) -> None:
        self._flatten()
        self._tail[index] = value

    def __delitem__(self, index: Any) -> None:
        self._flatten()
        del self._tail[index]

    def insert(self, index: int, value: Turn) -> None:
        self._flatten()
        self._tail.insert(index, value)

    def append(self, value: Turn) -> None:
        self._tail.append(value)

    def extend(self, values: Iterable[Turn]) -> None:
        self._tail.extend(values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Turns, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Turns({list(self)!r})"

    def trim(self, limit: int, keep: int) -> None:
        """Drop the oldest turns while their contents exceed `limit` characters, keeping at
        least `keep` turns."""
        droppable = len(self) - keep
        if droppable <= 0:
            return
        # the packed contents are joined in `_text`: its length is theirs
        excess = len(self._text) + sum([len(turn["content"]) for turn in self._tail]) - limit
        if excess <= 0:
            return
        lengths, head = self._lengths, 0
        while excess > 0 and head < droppable and head < len(lengths):
            excess -= lengths[head]
            head += 1
        if head:
            self._text = self._text[sum(lengths[:head]) :]
            self._codes, self._lengths = self._codes[head:], lengths[head:]
            if self._unpacked is not None:
                self._unpacked = self._unpacked[head:]
        tail = 0
        while excess > 0 and head + tail < droppable:
            excess -= len(self._tail[tail]["content"])
            tail += 1
        if tail:
            del self._tail[:tail]


def _is_plain(turn: Any) -> bool:
    return (
        type(turn) is dict
        and len(turn) == 2
        and turn.get("role") in _CODES
        and type(turn.get("content")) is str
    )

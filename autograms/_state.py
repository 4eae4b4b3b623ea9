"""The live state of a session, typed, and the plain form it is saved in.

A `SessionState` is what a program's conversation memory holds between two model calls:

==================== ==========================================================================
turn_stack           one `Level` per active decorated call, over level 0, the session's own
                     (messages recorded while no program runs: the program's root call
                     takes them into its level when it starts, see ``_scopes``)
user_globals         per module: the session's values of ``init_user_globals()`` names
user_global_defaults per module: the default names of ``init_user_globals()`` the session took
                     (a default a later deploy adds is taken when the session next uses them)
persistent_globals   per module: the session's values of ``set_persistent_globals()`` names
cached_user_reply    the user's last message (kept until the next one; None after an empty one)
last_node            the ADDRESS of the last node entered
exit_data            what EXIT was given, when the program exited
extra                keys a program or a run loop added to ``memory_dict``
==================== ==========================================================================

``memory_dict`` shows the keys of `VIEW_KEYS` and those of ``extra``.

It is saved in the same pickle as the paused program's frames, so objects they share (a list
held both in a user global and in a local) stay shared. What is pickled is its *saved form*
(`to_saved`/`from_saved`): plain data only -- no class of this library, so renaming a module
never strands a session -- tagged with `STATE_FORMAT`.

The texts of the conversation's turns are not in that pickle: they are the session's *window*,
a string saved beside the snapshot (``autograms.session``), so the text that grows with the
conversation is neither pickled, checksummed nor converted to hexadecimal on every turn. The
window holds each turn's content escaped as in a JSON string (ASCII only, on one line),
every level's turns one after the other; the pickle holds, per level, the role codes (one
letter a turn), the content lengths, the escaped lengths and a CRC-32 of each escaped
content. A turn's content is escaped once, when it is first saved; saving again copies the
escaped text as it is, and a loaded level is decoded (and checked against its CRCs) only
when something reads its turns (`Turns`): a prompt, which shows the newest few turns, decodes
only those (`TurnsView`).

A level keeps only the newest turns a prompt could still show (`trim`), and counts the user
and agent messages it let go (`Turns.trimmed`): ``memory_dict['turn_stack']`` and
``get_turn_history()`` show them again, read from the log when asked
(``autograms.memory``), as AutoGRAMS, which kept every turn, showed them.

`from_saved` also reads the state of earlier formats (see ``docs/sessions.md``).
"""

from __future__ import annotations

import itertools
import json
import struct
import zlib
from collections.abc import Iterable, Iterator, MutableSequence, Sequence
from json.encoder import encode_basestring_ascii
from typing import Any, TypedDict

from ._errors import SessionFormatError
from ._flat_globals import UNCLAIMED, per_module

SCOPES = ("global", "normal", "local")
#: the format of the saved form; format 1 (sessions of release 0.1.0) had no tag, format 2
#: no ``user_global_defaults``, format 3 kept the turns' texts in the pickle
STATE_FORMAT = 4
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
    #: the `data` of the reply the program is paused at (``memory.reply_data``)
    reply_data: Any
    extra: dict[str, Any]


#: the keys of a SessionState, in order
STATE_KEYS = tuple(SessionState.__annotations__)
#: the keys of a SessionState that ``memory_dict`` shows as its own
VIEW_KEYS = tuple(
    key for key in STATE_KEYS if key not in ("user_global_defaults", "reply_data", "extra")
)


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
        reply_data=None,
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


def take_turns(source: Level, target: Level) -> None:
    """Give `source`'s turns to `target`, which has none yet (packed as they are, with the
    count of those trimmed)."""
    if source["turns"]:
        target["turns"], source["turns"] = source["turns"], Turns()


def close_level(levels: list[Level]) -> None:
    """Close the innermost of two or more levels, as its call returning does: a "global"
    level's turns join its caller's, the others' are dropped."""
    level = levels.pop()
    if level["scope"] == "global":
        levels[-1]["turns"].extend(level["turns"])


def state_from_dict(values: dict[str, Any], system_prompt: str) -> SessionState:
    """A state from a dict given by a user (``MemoryObject(memory_dict=...)``): the keys of a
    state are taken, missing ones start empty, and any other key goes to ``extra``. User
    globals and AutoGRAMS' ``globals_snapshot`` in AutoGRAMS' flat layout wait for the
    modules that use them (``_flat_globals``)."""
    state = new_state(system_prompt)
    for key, value in values.items():
        if key == "turn_stack":
            state["turn_stack"] = _levels_from_dicts(value, system_prompt)
        elif key == "user_globals":
            state["user_globals"] = per_module(value)
        elif key == "globals_snapshot":  # AutoGRAMS' layout (a copy of our view has both)
            if not isinstance(value, dict) or "persistent_globals" in values:
                continue
            state["persistent_globals"].setdefault(
                UNCLAIMED, ModuleGlobals(values=dict(value), deleted=[])
            )
        elif key in STATE_KEYS and key != "extra":
            state[key] = value  # type: ignore[literal-required]
        elif key == "extra":
            state["extra"].update(value)
        else:
            state["extra"][key] = value
    return state


def _levels_from_dicts(levels: Iterable[dict[str, Any]], system_prompt: str) -> list[Level]:
    """The levels of a ``turn_stack`` given as dicts. One whose outermost level is a
    decorated call's (AutoGRAMS' shape, which ``memory_dict`` shows while level 0 is empty),
    or none at all, gets an empty level 0 under it."""
    taken = [_level_from_dict(level) for level in levels]
    if not taken or taken[0]["function"] is not None:
        taken.insert(0, new_level("global", system_prompt, None))
    return taken


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
    `limit` characters, never fewer than `MIN_LIVE_TURNS` (older messages stay in the log,
    counted by `Turns.trimmed`)."""
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


def to_saved(state: SessionState) -> tuple[dict[str, Any], str]:
    """The plain data that is pickled for `state` (shares its values, copies nothing big),
    and the window: the texts of its turns, saved beside it."""
    saved: dict[str, Any] = {"format": STATE_FORMAT}
    saved.update(state)
    texts, levels = [], []
    for level in state["turn_stack"]:
        live = turns_of(level)
        text, turns = live.packed()
        texts.append(text)
        saved_level = {
            "scope": level["scope"],
            "system_prompt": level["system_prompt"],
            "function": level["function"],
            "turns": turns,
        }
        if live.trimmed:  # only then: a release before it reads the level as it did
            saved_level["trimmed"] = live.trimmed
        levels.append(saved_level)
    saved["turn_stack"] = levels
    # one level's text is the window as it is (joining copies it; the rest are often empty)
    window = [text for text in texts if text]
    return saved, window[0] if len(window) == 1 else "".join(window)


def from_saved(saved: dict[str, Any], window: str = "") -> SessionState:
    """The live state of a saved form and its `window`, of this format or an earlier one
    (whose turns' texts are in the saved form itself)."""
    if saved.get("format") is None:
        return _from_format_1(saved)
    # dict displays rather than calls of the TypedDicts (which cost three times as much):
    # this runs on every turn
    levels: list[Level] = []
    start = 0
    for level in saved["turn_stack"]:
        turns, start = Turns.from_saved(level["turns"], window, start)
        turns.trimmed = level.get("trimmed", 0)
        levels.append(
            {
                "scope": level["scope"],
                "turns": turns,
                "system_prompt": level["system_prompt"],
                "function": level["function"],
            }
        )
    if start != len(window):
        raise _damaged()
    state: SessionState = {
        "turn_stack": levels,
        "user_globals": saved["user_globals"],
        "user_global_defaults": saved.get("user_global_defaults", {}),  # format 2: none kept
        "persistent_globals": saved["persistent_globals"],
        "cached_user_reply": saved["cached_user_reply"],
        "last_node": saved["last_node"],
        "exit_data": saved["exit_data"],
        "reply_data": saved.get("reply_data"),  # not kept by earlier saves
        "extra": saved["extra"],
    }
    return state


def program_values(saved: Any) -> list[Any]:
    """The containers of the program's own values in a saved form (the values of its user
    and persistent globals): a snapshot looks into them for module-level objects."""
    if type(saved) is not dict or "persistent_globals" not in saved:
        return []  # not a session's state (the engine's own attachments)
    held = [module["values"] for module in saved["persistent_globals"].values() if module["values"]]
    held += [values for values in saved["user_globals"].values() if values]
    return held


def check_turns(saved: dict[str, Any], window: str) -> None:
    """Decode every level's turns from `window`, each checked against its CRC-32 in `saved`
    (a window saved without a CRC of its own: format 6)."""
    for level in from_saved(saved, window)["turn_stack"]:
        list(turns_of(level))


def _damaged() -> SessionFormatError:
    return SessionFormatError(
        "the session's conversation window is truncated or damaged", reason="damaged window"
    )


def _from_format_1(saved: dict[str, Any]) -> SessionState:
    """Format 1 (release 0.1.0): the state dict itself was pickled -- turns as lists of
    dicts, keys a program added to ``memory_dict`` at the top level, no ``extra``."""
    return state_from_dict(saved, "")


# -- turns -------------------------------------------------------------------------------------

_CODES = {"user": "u", "agent": "a", "system_instruction": "i", "system_answer": "s"}
_ROLES = {code: role for role, code in _CODES.items()}
#: role codes of the turns that end an exchange (an agent reply, a thought's answer)
_ANSWERS = ("a", "s")


#: a level's turns in the saved form: role codes, the contents' total length, the escaped
#: texts' total length, then content lengths, escaped lengths (b"": the same) and CRCs as
#: 4-byte little-endian unsigned ints (`_INT`; plain ints would cost pickle several
#: microseconds a hundred). A turn reads only the few it drops (`Turns.trim`).
Packed = tuple[str, int, int, bytes, bytes, bytes]
_INT = struct.Struct("<I")


class Turns(MutableSequence[Turn]):
    """The turns of one level, oldest first: a list of `Turn` dicts to its readers.

    A loaded level keeps its turns packed (see the module docstring) until something reads
    them (a turn read by its index is decoded alone); turns appended meanwhile wait in a
    tail, so a turn that only adds messages never unpacks the ones before, and saving them
    again copies the packed part as it is. Any change other than an append or a trim unpacks
    everything first.
    """

    __slots__ = (
        "_text",
        "_codes",
        "_chars",
        "_lengths",
        "_escaped",
        "_crcs",
        "_unpacked",
        "_decoded",
        "_tail",
        "trimmed",
    )

    def __init__(self, turns: Iterable[Turn] = ()) -> None:
        #: the packed turns (as in `Packed`): escaped contents joined, role codes, the
        #: contents' total length, content lengths, escaped lengths (b"": the same), CRC-32
        #: of each escaped content
        self._text = ""
        self._codes = ""
        self._chars = 0
        self._lengths = b""
        self._escaped = b""
        self._crcs = b""
        #: the packed turns as dicts, once read (None: not read yet)
        self._unpacked: list[Turn] | None = []
        #: packed turns read one at a time before all were (by position)
        self._decoded: dict[int, Turn] = {}
        #: turns after the packed ones
        self._tail: list[Turn] = list(turns)
        #: user and agent messages `trim` dropped from the front (the log has them)
        self.trimmed = 0

    @classmethod
    def from_saved(cls, saved: Any, window: str = "", start: int = 0) -> tuple[Turns, int]:
        """Turns from `packed`'s saved form, their texts ``window[start:]``; returns them and
        where the next level's texts start in `window`."""
        if isinstance(saved, list):
            return cls(saved), start
        if len(saved) == 3:  # state format 3: the texts themselves, unescaped
            return cls(_unpack(*saved)), start
        if not saved[0]:  # no turns
            return cls(), start
        if len(saved) == 4:  # written before the totals were kept
            codes, lengths, escaped, crcs = saved
            chars = sum(_ints(lengths))
            size = sum(_ints(escaped)) if escaped else chars
        else:
            codes, chars, size, lengths, escaped, crcs = saved
        count = 4 * len(codes)
        if not len(lengths) == len(escaped or lengths) == len(crcs) == count:
            raise _damaged()
        turns = cls()
        turns._codes, turns._chars, turns._unpacked = codes, chars, None
        turns._lengths, turns._escaped, turns._crcs = lengths, escaped, crcs
        turns._text = window[start : start + size]
        return turns, start + size

    def packed(self) -> tuple[str, Packed | list[Turn]]:
        """The saved form: the escaped texts (for the window) and the rest, or "" and a
        list of dicts if some turn is not a plain {"role", "content"} dict with a known role."""
        tail = self._tail
        text, lengths, escaped, crcs = self._text, self._lengths, self._escaped, self._crcs
        if not tail:  # nothing appended since loaded (an outer level, most turns)
            return text, (self._codes, self._chars, len(text), lengths, escaped, crcs)
        if not all([_is_plain(turn) for turn in tail]):
            return "", [dict(turn) for turn in self]  # type: ignore[misc]
        chars = self._chars
        if tail:
            contents = [turn["content"] for turn in tail]
            texts = [encode_basestring_ascii(content)[1:-1] for content in contents]
            text += "".join(texts)
            added = [len(content) for content in contents]
            chars += sum(added)
            if escaped or any(map(str.__ne__, texts, contents)):
                escaped = (escaped or lengths) + _data([len(piece) for piece in texts])
            lengths += _data(added)
            crcs += _data([zlib.crc32(piece.encode()) for piece in texts])
        codes = self._codes + "".join([_CODES[turn["role"]] for turn in tail])
        return text, (codes, chars, len(text), lengths, escaped, crcs)

    def _head(self) -> list[Turn]:
        """The packed turns as dicts (decoded and checked on first use)."""
        if self._unpacked is None:
            lengths = _ints(self._lengths)
            sizes = _ints(self._escaped) if self._escaped else lengths
            text = _unescaped(self._text, sizes, _ints(self._crcs))
            if not sum(lengths) == self._chars == len(text):
                raise _damaged()
            unpacked = _unpack(text, self._codes, lengths)
            for position, turn in self._decoded.items():  # a turn read before stays the same
                unpacked[position] = turn
            self._unpacked, self._decoded = unpacked, {}
        return self._unpacked

    def _packed_turn(self, position: int) -> Turn:
        """The packed turn at `position`, decoding and checking only it if the others have
        not been read (a prompt shows the newest few turns of a long conversation)."""
        if self._unpacked is not None:
            return self._unpacked[position]
        turn = self._decoded.get(position)
        if turn is None:
            turn = self._decoded[position] = self._decode(position)
        return turn

    def _decode(self, position: int) -> Turn:
        # the escaped texts after `position` give where its own ends: a turn near the end
        # (the ones prompts read) sums only a few
        sizes = self._escaped or self._lengths
        end = len(self._text) - sum(_ints(sizes[4 * position + 4 :]))
        size = _INT.unpack_from(sizes, 4 * position)[0]
        piece = self._text[end - size : end] if size <= end else ""
        crc = _INT.unpack_from(self._crcs, 4 * position)[0]
        content = _unescaped(piece, [size], [crc])
        role = _ROLES.get(self._codes[position])
        if role is None or len(content) != _INT.unpack_from(self._lengths, 4 * position)[0]:
            raise _damaged()
        return {"role": role, "content": content}

    def _flatten(self) -> None:
        """Turn the packed part into ordinary dicts (before a change other than appending)."""
        if self._codes:
            self._tail = self._head() + self._tail
            self._text, self._codes, self._chars, self._unpacked = "", "", 0, []
            self._decoded = {}
            self._lengths, self._escaped, self._crcs = b"", b"", b""

    def __len__(self) -> int:
        return len(self._codes) + len(self._tail)

    def __iter__(self) -> Iterator[Turn]:
        return itertools.chain(self._head(), self._tail)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return list(self)[index]
        head = len(self._codes)
        size = head + len(self._tail)
        position = index + size if index < 0 else index
        if not 0 <= position < size:
            raise IndexError("turn index out of range")
        return self._packed_turn(position) if position < head else self._tail[position - head]

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
        least `keep` turns, and only whole exchanges: what is kept starts right after an
        answer (an agent reply or a thought's), so a prompt never shows a reply without the
        messages it answered (AutoGRAMS cut its prompts between exchanges)."""
        droppable = len(self) - keep
        if droppable <= 0:
            return
        excess = self._chars + sum([len(turn["content"]) for turn in self._tail]) - limit
        if excess <= 0:
            return
        count = self._exchange_start(self._excess_count(excess, droppable), droppable)
        packed = len(self._codes)
        head, tail = min(count, packed), max(count - packed, 0)
        if head:
            self._drop_packed(head)
        if tail:
            self.trimmed += sum([turn["role"] in ("user", "agent") for turn in self._tail[:tail]])
            del self._tail[:tail]

    def _role_code(self, position: int) -> str:
        packed = len(self._codes)
        if position < packed:
            return self._codes[position]
        return _CODES.get(self._tail[position - packed].get("role"), "")

    def _excess_count(self, excess: int, droppable: int) -> int:
        """How many of the oldest turns (at most `droppable`) hold `excess` characters."""
        count, packed, lengths = 0, len(self._codes), self._lengths
        while excess > 0 and count < droppable:
            if count < packed:
                excess -= _INT.unpack_from(lengths, 4 * count)[0]
            else:
                excess -= len(self._tail[count - packed]["content"])
            count += 1
        return count

    def _exchange_start(self, count: int, droppable: int) -> int:
        """`count` moved to where an exchange starts (right after an answer): on to the next
        such place that leaves `droppable` turns or fewer dropped, else back to the nearest
        one before it (neither: `count` itself, so that a run of unanswered messages still
        trims)."""
        for position in range(count, droppable + 1):
            if self._role_code(position - 1) in _ANSWERS:
                return position
        for position in range(count - 1, 0, -1):
            if self._role_code(position - 1) in _ANSWERS:
                return position
        return count

    def _drop_packed(self, head: int) -> None:
        """Drop the oldest `head` packed turns."""
        lengths, escaped = self._lengths, self._escaped
        dropped = sum(_ints(lengths[: 4 * head]))
        cut = sum(_ints(escaped[: 4 * head])) if escaped else dropped
        codes = self._codes[:head]
        self.trimmed += codes.count("u") + codes.count("a")
        self._text, self._chars, self._codes = (
            self._text[cut:],
            self._chars - dropped,
            self._codes[head:],
        )
        self._lengths, self._crcs = lengths[4 * head :], self._crcs[4 * head :]
        self._escaped = escaped[4 * head :]
        if self._unpacked is not None:
            self._unpacked = self._unpacked[head:]
        elif self._decoded:
            self._decoded = {
                position - head: turn
                for position, turn in self._decoded.items()
                if position >= head
            }


class TurnsView(Sequence[Turn]):
    """The turns of several levels read as one sequence, as many as each had when the view
    was made. Reading a turn of a packed level decodes only that turn, so a prompt that shows
    the newest turns of a long conversation does not decode the rest."""

    __slots__ = ("_parts", "_size")

    def __init__(self, parts: Iterable[Sequence[Turn]]) -> None:
        self._parts = [(part, len(part)) for part in parts]
        self._size = sum([size for _, size in self._parts])

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[position] for position in range(*index.indices(self._size))]
        position = index + self._size if index < 0 else index
        if not 0 <= position < self._size:
            raise IndexError("turn index out of range")
        for part, size in self._parts:
            if position < size:
                return part[position]
            position -= size
        raise AssertionError("unreachable")

    def __iter__(self) -> Iterator[Turn]:
        for part, size in self._parts:
            yield from itertools.islice(part, size)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (TurnsView, Turns, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TurnsView({list(self)!r})"


def _ints(data: bytes) -> list[int]:
    """The ints `_data` packed into `data`."""
    if len(data) % 4:
        raise _damaged()
    return list(struct.unpack(f"<{len(data) // 4}I", data))


def _data(values: list[int]) -> bytes:
    """`values` as 4-byte little-endian unsigned ints (sessions move between machines)."""
    return struct.pack(f"<{len(values)}I", *values)


def _unpack(text: str, codes: str, lengths: Iterable[int]) -> list[Turn]:
    """Turns from their contents joined in `text`, role codes and content lengths."""
    ends = list(itertools.accumulate(lengths))
    starts = [0, *ends[:-1]] if ends else []
    try:
        return [
            {"role": _ROLES[code], "content": text[start:end]}  # type: ignore[misc]
            for code, start, end in zip(codes, starts, ends, strict=True)
        ]
    except (KeyError, ValueError) as exc:
        raise _damaged() from exc


def _unescaped(text: str, sizes: list[int], crcs: list[int]) -> str:
    """The escaped contents joined in `text` (lengths `sizes`), checked against their
    CRC-32s and unescaped."""
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError as exc:
        raise _damaged() from exc
    start = 0
    for size, crc in zip(sizes, crcs, strict=True):
        if zlib.crc32(data[start : start + size]) != crc:
            raise _damaged()
        start += size
    if "\\" not in text:  # nothing escaped: the text is its own decoding
        return text
    try:
        return json.loads(f'"{text}"')
    except ValueError as exc:
        raise _damaged() from exc


def _is_plain(turn: Any) -> bool:
    return (
        type(turn) is dict
        and len(turn) == 2
        and turn.get("role") in _CODES
        and type(turn.get("content")) is str
    )

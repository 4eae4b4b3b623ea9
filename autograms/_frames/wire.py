"""The byte format of a snapshot: a JSON header naming the paused frames, then a pickle.

    b"AGF4" | header length (4) | header CRC-32 (4) | payload CRC-32 (4) | header (UTF-8 JSON)
    | payload

(lengths and checksums big-endian; the payload is a pickle.) Snapshots written before the
header had its checksum start with b"AGF2" and have no header CRC-32; they are still read.

The header says where each frame is paused (module, qualified name, code fingerprint, call
site, line, ADDRESS label, names of the saved value-stack items, names of the saved user
locals, names of the cell variables its saved cells belong to) and under which Python.
Headers written before the user locals or the cells were named have fields less; they are
still read (`FrameState.saved` or `FrameState.cells` is None then). A
snapshot is checked against the loaded code from the header alone, before a single byte is
unpickled. The payload holds the saved values of every frame and the caller's attachment in
one pickle, so objects shared between them stay shared. Each frame's values are a tuple in the
order its header entry names them (the saved user locals, then the hidden values): the names
are not pickled again. Snapshots marked b"AGF3" (and AGF2) hold each frame's values as a dict
by name; they are still read, and a payload kept as it was under a rewritten header (a
migration, a relabel) may hold such dicts under b"AGF4" too (preceded, when the values hold
module-level containers deep inside, by a pickle of their places: `pickling.dump_snapshot`).
Its checksum lets `check_payload` find a truncated or altered payload without unpickling it,
and the header's, checked whenever the header is read (`split`), refuses an altered header
before it names a module to import or a call site to resume at (checksums, not a signature:
they catch accidents, not an attacker).

A running program pauses at the same few places again and again, so the JSON of each frame's
entry and the frames of whole headers are memoized (bounded; both are pure functions of their
input, so a memo is never stale).
"""

from __future__ import annotations

import json
import operator
import struct
import zlib
from typing import Any, Final

from . import memo, pickling
from .errors import Reason, SnapshotMismatchError
from .records import FrameState
from .versions import PY_MINOR

MAGIC = b"AGF4"
#: the marker of snapshots whose frames' values are pickled as dicts (read, never written)
MAGIC_VALUES_BY_NAME = b"AGF3"
#: the marker of snapshots whose header has no checksum (read, never written)
MAGIC_UNCHECKED_HEADER = b"AGF2"
#: Hidden locals named in the header: the value-stack items a resume must rebuild.
HIDDEN_PREFIX = "__ag_"
_PREFIX = struct.Struct(">4sIII")  # magic, header length, header CRC-32, payload CRC-32
_PREFIX_UNCHECKED_HEADER = struct.Struct(">4sII")  # magic, header length, payload CRC-32
_LAYOUTS: Final = {
    MAGIC: _PREFIX,
    MAGIC_VALUES_BY_NAME: _PREFIX,
    MAGIC_UNCHECKED_HEADER: _PREFIX_UNCHECKED_HEADER,
}
_COMPACT = (",", ":")
#: one encoder for every entry (json.dumps with options builds a new one per call)
_ENCODER = json.JSONEncoder(separators=_COMPACT)
#: Entries kept by each memo before it starts afresh, and the largest header or header
#: entry kept (snapshots can come from anywhere: the memos must stay small).
MEMO_SIZE: Final = 256
MEMO_MAX_BYTES: Final = 16384

#: Header fields of a frame (everything but its values) -> the JSON of its header entry.
_entry_memo: dict[tuple, bytes] = {}
#: Header bytes -> the frames they describe.
_header_memo: dict[bytes, tuple[FrameState, ...]] = {}


def hidden_names(values: dict[str, Any]) -> tuple[str, ...]:
    """The names of the hidden values among `values`, as a header lists them."""
    return tuple(sorted([name for name in values if name.startswith(HIDDEN_PREFIX)]))


def saved_names(values: dict[str, Any], user_locals: frozenset[str]) -> tuple[str, ...]:
    """The names of the user locals among `values`, in their order, as a header lists them."""
    return tuple([name for name in values if name in user_locals])


def encode(states: list[FrameState], python: tuple[int, int], attachment: Any) -> bytes:
    """Serialize frames (outermost first) and an attachment. Each state's `hidden` must be
    `hidden_names` of its values, and its `saved` `saved_names` of them."""
    entries = [_entry_of(state) for state in states]
    return encode_entries(entries, [state.values for state in states], python, attachment, states)


def with_header(blob: bytes, states: list[FrameState], python: tuple[int, int]) -> bytes:
    """`blob` with its header describing `states` (one per frame, in the same order) under
    `python`, its payload kept as it is: nothing is unpickled or pickled."""
    _, payload = split(blob)
    header = _header(python, [_entry_of(state) for state in states])
    return assemble(header, payload)


def _entry_of(state: FrameState) -> bytes:
    return header_entry(
        state.module,
        state.qualname,
        state.fingerprint,
        state.site,
        state.lineno,
        state.label,
        state.hidden,
        state.saved,
        state.constructs,
        state.cells,
    )


def _header(python: tuple[int, int], entries: list[bytes]) -> bytes:
    return b"".join([b"[", _python_json(python), b",[", b",".join(entries), b"]]"])


def encode_entries(
    entries: list[bytes],
    values: list[dict[str, Any]],
    python: tuple[int, int],
    attachment: Any,
    states: list[FrameState],
    *,
    parsed: bool = False,
) -> bytes:
    """Serialize frames given as their `header_entry` and their values, and an attachment.
    `states` are the frames the entries describe: their names order each frame's values.
    With `parsed`, they are exactly what `read_header` reads from the entries (see
    `entry_state`) and are remembered, so that loading the snapshot this process wrote parses
    no JSON."""
    header = _header(python, entries)
    ordered = tuple(map(_in_order, values, states))
    payload = pickling.dump_snapshot(ordered, attachment)
    if parsed:
        remember(_header_memo, header, tuple(states), len(header))
    return assemble(header, payload)


#: A header entry's names (saved locals, hidden values) -> the reader of a frame's values in
#: that order (`operator.itemgetter`, in C), and how many names there are.
_readers: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[Any, int]] = {}


def _in_order(values: dict[str, Any], state: FrameState) -> tuple:
    """A frame's values as the tuple the payload holds: in the order its header names them."""
    key = (state.saved or (), state.hidden)
    known = _readers.get(key)
    if known is None:
        names = key[0] + key[1]
        known = (operator.itemgetter(*names), len(names)) if names else (_no_values, 0)
        remember(_readers, key, known, 0)
    reader, count = known
    if len(values) != count:
        raise ValueError(
            f"a frame's values {sorted(values)} are not the names its header lists"
            f" {sorted(key[0] + key[1])}"
        )
    return (reader(values),) if count == 1 else reader(values)


def _no_values(values: dict[str, Any]) -> tuple:
    return ()


def _python_json(python: tuple[int, int]) -> bytes:
    if python is PY_MINOR:  # every pause writes it
        return _PY_MINOR_JSON
    if len(python) == 2 and all(type(part) is int for part in python):
        return b"[%d,%d]" % (python[0], python[1])  # as json.dumps writes it, faster
    return json.dumps(list(python), separators=_COMPACT).encode()


_PY_MINOR_JSON = b"[%d,%d]" % PY_MINOR


def header_entry(
    module: str,
    qualname: str,
    fingerprint: str,
    site: int,
    lineno: int,
    label: str | None,
    hidden: tuple[str, ...],
    saved: tuple[str, ...] | None,
    constructs: bool = False,
    cells: tuple[str, ...] | None = None,
) -> bytes:
    """The JSON of one frame's entry in a header; `hidden` is `hidden_names` of its values,
    `saved` `saved_names` of them (None: unknown, left out). A frame paused in a constructor
    call has a ninth field, 1 (see FrameState); a frame that saves its cells has a tenth, the
    names of their cell variables in the cell tuple's order (the ninth is then 0 or 1)."""
    key = (module, qualname, fingerprint, site, lineno, label, hidden, saved, constructs, cells)
    entry = _entry_memo.get(key)
    if entry is None:
        fields = [_function_json(module, qualname, fingerprint), site, lineno, label, hidden]
        if saved is not None or constructs or cells is not None:
            fields.append(saved)
        if constructs or cells is not None:
            fields.append(1 if constructs else 0)
        if cells is not None:
            fields.append(cells)
        entry = _compact_json(fields).encode()
        remember(_entry_memo, key, entry, len(entry))
    return entry


class _Json(str):
    """Text already written as JSON (`_compact_json` writes it as it is)."""

    __slots__ = ()


#: (module, qualified name, fingerprint) -> their JSON, the same in every entry of a function.
_function_memo: dict[tuple[str, str, str], _Json] = {}
#: Names (hidden values, saved locals, cells) -> their JSON list: a function's entries share them.
_names_memo: dict[tuple[str, ...], _Json] = {}


def _function_json(module: str, qualname: str, fingerprint: str) -> _Json:
    key = (module, qualname, fingerprint)
    known = _function_memo.get(key)
    if known is None:
        known = _Json(",".join(map(_quoted_field, key)))
        remember(_function_memo, key, known, len(known))
    return known


def _compact_json(fields: list) -> str:
    """`fields` (strings, ints, None, tuples of strings, and `_Json` text) as `_ENCODER` writes
    them (tuples as lists), without the encoder it builds for every call (a first pause at a
    call site writes an entry)."""
    return "[" + ",".join(map(_quoted_field, fields)) + "]"


def _quoted_field(field: Any) -> str:
    kind = type(field)
    if kind is _Json:
        return field
    if kind is str:
        return _quoted(field)
    if kind is tuple:
        known = _names_memo.get(field)
        if known is None:
            known = _Json("[" + ",".join(map(_quoted_field, field)) + "]")
            remember(_names_memo, field, known, len(known))
        return known
    if kind is int:
        return int.__repr__(field)
    if field is None:
        return "null"
    return _ENCODER.encode(field)


_quoted = json.encoder.encode_basestring_ascii


def entry_state(
    python: tuple[int, int],
    module: str,
    qualname: str,
    fingerprint: str,
    site: int,
    lineno: int,
    label: str | None,
    hidden: tuple[str, ...],
    saved: tuple[str, ...] | None,
    constructs: bool = False,
    cells: tuple[str, ...] | None = None,
) -> FrameState:
    """The frame `read_header` reads under `python` from the entry `header_entry` writes for
    the same fields (without writing or parsing it)."""
    return _frame_state(
        list(python), module, qualname, fingerprint, site, lineno, label, hidden, saved,
        1 if constructs else 0, cells,
    )  # fmt: skip


def remember(cache: dict, key: Any, value: Any, size: int) -> None:
    """Keep `value` in `cache` unless it is too large (see MEMO_SIZE, MEMO_MAX_BYTES)."""
    if size <= MEMO_MAX_BYTES:
        memo.remember(cache, key, value, MEMO_SIZE)


def assemble(header: bytes, payload: bytes | memoryview) -> bytes:
    """A snapshot of `header` (its JSON) and `payload` (its pickle), with their checksums."""
    prefix = _PREFIX.pack(MAGIC, len(header), zlib.crc32(header), zlib.crc32(payload))
    return prefix + header + bytes(payload)


def split(blob: bytes) -> tuple[bytes, memoryview]:
    """The header bytes of a snapshot, checked, and the payload still to unpickle (nothing
    is unpickled here)."""
    start, length, header_crc, _ = _prefix(blob)
    view = memoryview(blob)
    header = bytes(view[start : start + length])
    if header_crc is not None and zlib.crc32(header) != header_crc:
        raise SnapshotMismatchError(
            "the snapshot's header is truncated or damaged (checksum mismatch)",
            reason=Reason.DAMAGED,
        )
    return header, view[start + length :]


def with_payload(blob: bytes, payload: bytes) -> bytes:
    """`blob` with its payload replaced (and its checksum), its header kept."""
    header, _ = split(blob)
    return assemble(header, payload)


def check_payload(blob: bytes) -> None:
    """Raise `SnapshotMismatchError` if the payload is not the one the snapshot was written
    with (truncated or altered)."""
    start, length, _, crc = _prefix(blob)
    if zlib.crc32(memoryview(blob)[start + length :]) != crc:
        raise SnapshotMismatchError(
            "the snapshot's saved values are truncated or damaged (checksum mismatch)",
            reason=Reason.DAMAGED,
        )


def _prefix(blob: bytes) -> tuple[int, int, int | None, int]:
    """Where the header starts, its length, its checksum (None in an AGF2 snapshot), and
    the payload's checksum."""
    marker = bytes(blob[:4]) if isinstance(blob, (bytes, bytearray)) else None
    layout = _LAYOUTS.get(marker)
    if layout is None:
        raise SnapshotMismatchError(
            "not a snapshot: it does not start with the engine's format marker",
            reason=Reason.UNKNOWN_FORMAT,
        )
    if len(blob) < layout.size:
        raise SnapshotMismatchError("the snapshot is truncated", reason=Reason.DAMAGED)
    if layout is _PREFIX:
        _, length, header_crc, payload_crc = _PREFIX.unpack_from(blob)
        return _PREFIX.size, length, header_crc, payload_crc
    _, length, payload_crc = _PREFIX_UNCHECKED_HEADER.unpack_from(blob)
    return _PREFIX_UNCHECKED_HEADER.size, length, None, payload_crc


def read_header(header: bytes) -> list[FrameState]:
    """The frames a header describes, without their values."""
    states = _header_memo.get(header)
    if states is None:
        states = _parse_header(header)
        remember(_header_memo, header, states, len(header))
    return list(states)


def _parse_header(header: bytes) -> tuple[FrameState, ...]:
    try:
        python, frames = json.loads(header)
        states = tuple(_frame_state(python, *entry) for entry in frames)
    except (ValueError, TypeError) as exc:
        raise SnapshotMismatchError(
            "the snapshot header is damaged", reason=Reason.BAD_HEADER
        ) from exc
    if not all(_well_formed(state) for state in states):
        raise SnapshotMismatchError("the snapshot header is damaged", reason=Reason.BAD_HEADER)
    return states


def _frame_state(
    python: Any,
    module: Any,
    qualname: Any,
    fingerprint: Any,
    site: Any,
    lineno: Any,
    label: Any,
    hidden: Any,
    saved: Any = None,  # absent from headers written before it was added
    constructs: Any = 0,  # present when true, or when cells follow
    cells: Any = None,  # absent from headers written before it was added
) -> FrameState:
    if constructs != 1 and constructs != 0:
        raise ValueError("bad constructor flag")
    return FrameState(
        module,
        qualname,
        fingerprint,
        tuple(python),
        site,
        lineno,
        label,
        None,
        tuple(hidden),
        None if saved is None else tuple(saved),
        constructs == 1,
        None if cells is None else tuple(cells),
    )


_STR, _INT = frozenset({str}), frozenset({int})


def _well_formed(state: FrameState) -> bool:
    """Whether every field of a header entry has the type the engine writes."""
    texts = (
        state.module,
        state.qualname,
        state.fingerprint,
        *state.hidden,
        *(state.saved or ()),
        *(state.cells or ()),
    )
    numbers = (*state.python, state.site, state.lineno)
    return (
        set(map(type, texts)) <= _STR
        and set(map(type, numbers)) <= _INT
        and len(state.python) == 2
        and (state.label is None or type(state.label) is str)
    )


def read(blob: bytes) -> tuple[list[FrameState], memoryview]:
    """The frames a snapshot holds, without their values (nothing is unpickled yet), and
    the payload still to unpickle with `read_payload`."""
    header, payload = split(blob)
    return read_header(header), payload


def read_payload(
    payload: memoryview, states: list[FrameState]
) -> tuple[tuple[dict[str, Any], ...], Any]:
    """The saved values of each frame of `states` (as `read_header` gives them) by name, and
    the attachment (this unpickles)."""
    try:
        values, attachment = pickling.load_snapshot(payload)
    except Exception as exc:  # unpickling runs arbitrary reducers: any error means unreadable
        raise SnapshotMismatchError(
            f"the snapshot's saved values cannot be read: {type(exc).__name__}: {exc}",
            reason=Reason.UNREADABLE,
        ) from exc
    if type(values) is not tuple or len(values) != len(states):
        raise SnapshotMismatchError(
            "the snapshot header and payload disagree", reason=Reason.DAMAGED
        )
    return tuple(map(_by_name, values, states)), attachment


def _by_name(values: Any, state: FrameState) -> dict[str, Any]:
    """One frame's saved values by name: a tuple in its header's order, or (written as
    b"AGF3") the dict itself."""
    if type(values) is tuple:
        names = (state.saved or ()) + state.hidden
        if state.saved is not None and len(values) == len(names):
            return dict(zip(names, values, strict=True))
    elif type(values) is dict:
        return values
    raise SnapshotMismatchError(
        f"the snapshot's saved values of {state.qualname} are not the ones its header names",
        reason=Reason.DAMAGED,
    )

"""How one log entry is stored: as plain JSON when JSON holds it exactly, else pickled.

Every place that keeps a session's log -- the chunks of a session's text (``autograms._log``),
a saved file's ``.log`` lines (``autograms.session``), a store's log rows
(``autograms.stores``) -- stores `to_stored(entry)` as JSON and gives back
`from_stored(value)`, so an entry comes back equal to what was logged and of the same types,
as AutoGRAMS (which pickles its whole memory) gives it back.

The library's own entries are plain JSON (str keys; str, int, float, bool, None, lists and
dicts of those), and stay readable as such. An entry a program or run loop appends to
``memory_dict['model_turns']`` may hold anything a pickle can: a datetime, a set, a tuple,
int keys, bytes, a str subclass. Such a value is stored pickled under `PICKLED`:

* a dict entry keeps its plain fields as they are (so its ``entry_type`` and token counts stay
  readable where the log is stored) and its other fields are ``None`` in place, with
  ``{PICKLED: {field: blob, ...}}`` added after them;
* any other entry (a dict subclass, non-str keys, a list ...) becomes ``{PICKLED: blob}``.

A *blob* is the CRC-32 of the pickle in 8 hexadecimal digits, then the pickle in base64. The
CRC is checked before anything is unpickled; where the log is signed (a session's header, a
signed file's digest, a store's sealed chain), its bytes are checked against the signature
before they are decoded at all. The key `PICKLED` starts with a NUL character, which no entry
of the library has; an entry that has it anyway is stored pickled whole.
"""

from __future__ import annotations

import binascii
import math
import pickle
from typing import Any

from ._errors import SessionError, SessionFormatError

#: the field of a stored entry that holds what is pickled (see the module docstring)
PICKLED = "\x00pickled"
#: the pickle protocol (every supported Python reads it)
PROTOCOL = 5
#: how deep plain JSON values are followed before a value is pickled instead (JSON encoders
#: and decoders recurse; a self-referencing list never ends)
MAX_PLAIN_DEPTH = 64
#: ints beyond 64 bits are pickled: not every JSON reader keeps them exact
_INT_LIMIT = 1 << 63
#: the types whose every value plain JSON gives back (most fields of an entry: checked first)
_PLAIN_TYPES = frozenset({str, bool, type(None)})


def to_stored(entry: Any, index: int | None = None) -> Any:
    """`entry` in a form plain JSON represents exactly (the entry itself when it is plain).
    Raises SessionError (reason ``"unsaveable log entry"``) naming the entry by `index` and
    the field at fault when a value cannot be pickled."""
    if type(entry) is not dict or PICKLED in entry:
        return {PICKLED: _pickled(entry, index, None)}
    pickled: dict[str, str] | None = None
    for key, value in entry.items():  # (every entry of every turn: the common cases first)
        if type(key) is not str:
            return {PICKLED: _pickled(entry, index, None)}
        kind = type(value)
        if kind in _PLAIN_TYPES or (kind is int and -_INT_LIMIT <= value < _INT_LIMIT):
            continue
        if not is_plain(value):
            if pickled is None:
                pickled = {}
            pickled[key] = _pickled(value, index, key)
    if pickled is None:
        return entry
    stored = {key: None if key in pickled else value for key, value in entry.items()}
    stored[PICKLED] = pickled
    return stored


def from_stored(stored: Any) -> Any:
    """The entry `to_stored` gave `stored` for. Raises SessionFormatError if a pickled part
    fails its CRC, SessionError (reason ``"unloadable log entry"``) if it no longer
    unpickles (its class is gone)."""
    if type(stored) is not dict:
        return stored
    pickled = stored.get(PICKLED)
    if pickled is None:
        return stored
    if type(pickled) is str:
        return _unpickled(pickled, None)
    if type(pickled) is not dict:
        raise SessionFormatError(
            "a log entry is damaged: its pickled part is not a blob", reason="damaged"
        )
    return {
        key: _unpickled(pickled[key], key) if key in pickled else value
        for key, value in stored.items()
        if key != PICKLED
    }


def is_plain(value: Any, depth: int = 0) -> bool:
    """Whether plain JSON gives `value` back equal and of the same types."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -_INT_LIMIT <= value < _INT_LIMIT
    if kind is float:
        return math.isfinite(value)  # NaN and infinities are not JSON (PostgreSQL refuses them)
    if depth >= MAX_PLAIN_DEPTH:
        return False
    if kind is list:
        return all([is_plain(item, depth + 1) for item in value])
    if kind is dict:
        return all([type(key) is str and is_plain(item, depth + 1) for key, item in value.items()])
    return False


def _pickled(value: Any, index: int | None, key: Any) -> str:
    try:
        data = pickle.dumps(value, protocol=PROTOCOL)
    except Exception as exc:  # pickling runs the value's own code: any error refuses it
        where = _entry_name(index, key)
        error = SessionError(
            f"{where} cannot be saved: {type(exc).__name__}: {exc}; replace it with a value "
            "that can be pickled (the session is unchanged)",
            reason="unsaveable log entry",
        )
        raise error from exc
    crc = binascii.crc32(data)
    return f"{crc:08x}{binascii.b2a_base64(data, newline=False).decode()}"


def _unpickled(blob: Any, key: str | None) -> Any:
    where = "a log entry" if key is None else f"the field {key!r} of a log entry"
    try:
        data = binascii.a2b_base64(blob[8:], strict_mode=True)
        intact = binascii.crc32(data) == int(blob[:8], 16)
    except (binascii.Error, ValueError, TypeError):
        intact = False
    if not intact:
        raise SessionFormatError(f"{where} is damaged: its pickle fails its CRC", reason="damaged")
    try:
        return pickle.loads(data)
    except Exception as exc:  # unpickling imports and runs the value's classes
        raise SessionError(
            f"{where} cannot be loaded: {type(exc).__name__}: {exc}; the code that defined "
            "its value must be importable",
            reason="unloadable log entry",
        ) from exc


def _entry_name(index: int | None, key: Any) -> str:
    name = "memory_dict['model_turns']" + (f"[{index}]" if index is not None else "")
    return name if key is None else f"{name}[{key!r}]"

"""The log of a session: every chat event and model call, append-only.

Entries are dicts in AutoGRAMS' shapes (``memory_dict['model_turns']``), plain JSON, with a
few fields of ours added (an entry a program appends may hold any value a pickle can: it is
stored as ``autograms._entry_codec`` says):

=========== ===================================================================================
entry_type  fields
=========== ===================================================================================
user_reply  user_reply, timestamp
agent_reply reply, last_node, function_name, line_number, address, timestamp
node        node, timestamp
model       function_name (AutoGRAMS' call_model, call_classifier, call_object_model ...),
            output, function_inputs (a summary of the request -- role, message count,
            characters, parameters -- and, as ``log_model_inputs`` says, the inputs
            AutoGRAMS logged: ``autograms._model_inputs``), code_position, usage_log (the API's
            token usage plus ``model``), supervisor_info, timestamp; and ours: helper (the
            library function the program called), kind, model, endpoint, prompt_tokens,
            completion_tokens, cached_tokens, usage_estimated, latency, attempts,
            output_mode, finish_reason
=========== ===================================================================================

A session's log can be long (thousands of model calls), and a turn must not cost more as it
grows. So the log is kept in the form it arrived in -- encoded text from a session, entries
from a store (possibly behind a callable), or nothing -- and decoded only when something
reads it; entries a turn adds are appended after it, and encoding the log again encodes only
those.

The encoded form is a list of *chunks* joined by ``,``: each chunk is a JSON array of stored
entries (one chunk per save that added entries) in the session text's form
(``autograms._log_chunks``: compressed, then base64). Its *digest* is chained over the
chunks, ``d = sha256(d_previous + chunk)`` starting from the empty string, so appending a
chunk updates it without reading the rest; the session header records it, and the log is
checked against it when it is decoded.

A text read in the process that wrote it holds the chunks this process encoded: `in_text`
takes them from `remember`'s memo (``autograms._recall``) instead of copying them out of the
text, so a turn copies the log once, into the text it writes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from . import _log_chunks
from ._record import Record
from ._entry_codec import from_stored, to_stored
from ._errors import SessionFormatError, SessionSignatureError
from ._model_inputs import function_name, keeps_inputs, logged_inputs
from ._recall import Recall, holds
from ._sha256 import sha256

if TYPE_CHECKING:
    from .models.records import ModelCall

Entry = dict[str, Any]
#: a log given from outside: its entries, or a zero-argument callable returning them
LogSource = Iterable[Entry] | Callable[[], Iterable[Entry]]


def checked_source(source: Any) -> LogSource:
    """`source` as a log given from outside (``Autogram.deserialize``'s `log`): refused with
    TypeError unless it is an iterable of entries (not a str, bytes or a single dict) or a
    callable giving one, checked when it is called."""
    if callable(source):
        return lambda: _checked_entries(source())
    return _checked_entries(source)


def _checked_entries(entries: Any) -> list[Entry]:
    if isinstance(entries, (str, bytes, bytearray, Mapping)) or not isinstance(entries, Iterable):
        raise TypeError(
            f"log must be the session's log entries (dicts) or a callable returning them, "
            f"not {type(entries).__name__}"
        )
    return list(entries)  # any value a program appended is an entry (it keeps its type)


class EncodedLog(Record):
    """A log in its encoded form (see the module docstring)."""

    __slots__ = ("runs", "entries", "digest", "checked")

    #: runs of chunks, each run joined by "," (the log's text is the runs joined by ",";
    #: kept apart so that appending a chunk does not copy the log before writing it out)
    runs: tuple[str, ...]
    #: how many entries it holds (None: unknown until decoded, in a session of format 1)
    entries: int | None
    #: the chained digest of the chunks (None: not recorded)
    digest: str | None
    #: whether the chunks are known to match the digest (encoded by this process, or checked
    #: once): reading them does not hash them again
    checked: bool

    def __init__(
        self,
        runs: tuple[str, ...],
        entries: int | None,
        digest: str | None,
        checked: bool = False,
    ) -> None:
        self.runs = runs
        self.entries = entries
        self.digest = digest
        self.checked = checked

    @property
    def text(self) -> str:
        """The chunks joined by ","; "" for an empty log."""
        return ",".join(self.runs)

    @classmethod
    def from_text(cls, text: str, entries: int | None, digest: str | None) -> EncodedLog:
        return cls((text,) if text else (), entries, digest)

    @property
    def size(self) -> int:
        """The length of `text`, without building it."""
        return sum([len(run) for run in self.runs]) + max(len(self.runs) - 1, 0)


#: encoded logs by digest, kept by `remember` for `in_text`
_recalled: Recall[EncodedLog] = Recall(count=32, size=16_000_000)


def remember(encoded: EncodedLog, size: int | None = None) -> None:
    """Keep `encoded` for `in_text` (a log whose digest or count is unknown is not kept);
    `size`, when given, bounds its `size` from above (the length of the text holding it,
    known without summing its runs)."""
    if encoded.digest and encoded.entries is not None:
        _recalled.remember(encoded.digest, encoded, encoded.size if size is None else size)


def in_text(text: str, start: int, end: int, entries: int | None, digest: str | None) -> EncodedLog:
    """The encoded log ``text[start:end]`` holds, recorded with `entries` and `digest`: a log
    kept by `remember` when the text holds exactly its chunks, else that part of the text."""
    known = _recalled.take(digest) if digest else None
    if known is not None and known.entries == entries and holds(text, start, end, known.runs, ","):
        return known
    return EncodedLog.from_text(text[start:end], entries, digest)


#: runs an encoded log keeps apart before they are joined into one
MAX_RUNS = 16


class ConversationLog:
    """A session's log: the part it was loaded with, read lazily, and entries added since."""

    __slots__ = (
        "_encoded",
        "_signed",
        "_source",
        "_count",
        "_loaded",
        "_added",
        "_chunks",
        "_tail",
        "_tail_chunks",
        "_lent",
        "edits",
    )

    def __init__(
        self,
        source: LogSource | None = None,
        *,
        count: int | None = None,
        encoded: EncodedLog | None = None,
        signed: bool = False,
    ) -> None:
        #: the loaded part as encoded text (from a session)
        self._encoded = encoded
        self._signed = signed
        #: the loaded part as entries, or a callable giving them (from a store or a file)
        self._source = source
        #: how many entries the loaded part has, if known without reading it
        self._count = encoded.entries if encoded is not None else count
        #: the loaded part, decoded (None: not read yet)
        self._loaded: list[Entry] | None = None
        if encoded is None and source is None:
            self._loaded, self._count = [], 0
        #: entries appended since
        self._added: list[Entry] = []
        #: the loaded part's chunks, checked against its digest (None: not split yet)
        self._chunks: list[str] | None = None
        #: the entries of the newest `_tail_chunks` chunks of the loaded part, decoded (an
        #: entry read from the end decodes only the chunks down to it)
        self._tail: list[Entry] = []
        self._tail_chunks = 0
        #: whether entries were handed out to be changed in place since last checked
        self._lent = False
        #: how many times entries lent were found changed in place (a saved file's log
        #: written since then must be written whole again)
        self.edits = 0

    def __len__(self) -> int:
        if self._loaded is None and self._count is not None:
            return self._count + len(self._added)
        return len(self._read()) + len(self._added)

    def append(self, entry: Entry) -> None:
        self._added.append(entry)

    def extend(self, entries: Iterable[Entry]) -> None:
        self._added.extend(entries)

    def entries(self) -> list[Entry]:
        """Every entry, oldest first (a new list; reading the log decodes it once)."""
        return self._read() + self._added

    def entry(self, index: int) -> Entry:
        """The entry at `index` (negative: from the end). An entry of a log still encoded is
        read by decoding the chunks from the newest down to the one holding it."""
        position = _position(index, len(self))
        loaded = len(self) - len(self._added)
        if position >= loaded:
            return self._added[position - loaded]
        if self._loaded is None and self._encoded is not None and self._count is not None:
            tail = self._tail_of(loaded - position)
            return tail[position - (loaded - len(tail))]
        return self._read()[position]

    def _tail_of(self, count: int) -> list[Entry]:
        """At least the newest `count` entries of the loaded part (more: whole chunks)."""
        chunks = self._checked_chunks()
        while len(self._tail) < count and self._tail_chunks < len(chunks):
            self._tail_chunks += 1
            self._tail = _decode_chunk(chunks[-self._tail_chunks]) + self._tail
        if len(self._tail) < count:
            _refuse(self._signed)
        return self._tail

    def _checked_chunks(self) -> list[str]:
        if self._chunks is None:
            self._chunks = checked_chunks(self._encoded, signed=self._signed)
        return self._chunks

    def entries_from(self, start: int) -> list[Entry]:
        """The entries after the first `start` (reads nothing when those are all new)."""
        if self._loaded is None and self._count is not None and start >= self._count:
            return self._added[start - self._count :]
        return self.entries()[start:]

    def _read(self) -> list[Entry]:
        if self._loaded is None:
            if self._encoded is not None:
                chunks = self._checked_chunks()
                older = chunks[: len(chunks) - self._tail_chunks]
                self._loaded = decode_chunks(older, self._encoded, self._signed, self._tail)
                self._forget_chunks()
            else:
                source = self._source
                self._loaded = list(source() if callable(source) else source)
                if self._lent:  # read to be lent: kept as read, for `check_lent`
                    self._encoded = _encode_chunks(self._loaded)
            self._source, self._count = None, len(self._loaded)
        return self._loaded

    def lend(self) -> None:
        """Note that entries were handed out as live objects, which a program or run loop may
        change in place (as it may a list of dicts): the next `encode` encodes the log again
        if what it had encoded no longer holds what they hold."""
        self._lent = True
        if self._encoded is None and self._loaded:  # read from a list, a file or a store:
            self._encoded = _encode_chunks(self._loaded)  # kept as read, for `check_lent`

    def check_lent(self) -> int:
        """`edits`, counting a change in place of an entry lent since last checked (the
        encoded part, which no longer holds it, is then encoded again when next needed)."""
        if not self._lent:
            return self.edits
        self._lent = False
        if self._encoded is None or (self._loaded is None and not self._tail_chunks):
            return self.edits  # no decoded entry was lent (entries given are encoded anew)
        current = self._read()
        if decode(self._encoded, signed=self._signed) != current:
            self._encoded = None
            self._forget_chunks()
            self.edits += 1
        return self.edits

    def encode(self) -> EncodedLog:
        """The log in its encoded form, appending only a chunk for the entries added since
        it was loaded or last encoded (encoded whole again if an entry lent was changed)."""
        self.check_lent()
        base = self._encoded
        if base is None:  # a log given as entries: they become the first chunk
            base = _encode_chunks(self._read())
        elif base.entries is None:  # migrated from format 1: count it once
            base = EncodedLog(base.runs, len(self._read()), base.digest, checked=True)
        if self._added:
            chunk = encode_chunk(self._added, base.entries)
            count = base.entries + len(self._added)
            runs = (*base.runs, chunk)
            if len(runs) > MAX_RUNS:  # a few copies of the log now and then, not one a turn
                runs = (",".join(runs),)
            base = EncodedLog(runs, count, chain(base.digest, chunk), base.checked)
            if self._loaded is not None:
                self._loaded = self._loaded + self._added
            elif self._chunks is not None:  # the new chunk is the newest: the tail grows
                self._chunks.append(chunk)
                if self._tail_chunks:  # (a log never read keeps no entries it encoded)
                    self._tail.extend(self._added)
                    self._tail_chunks += 1
            self._count = count if self._loaded is None else len(self._loaded)
            self._added = []
        self._encoded = base
        return base

    def fork(self) -> ConversationLog:
        """An independent log holding the same entries (encoded once, decoded when read)."""
        return ConversationLog(encoded=self.encode(), signed=self._signed)

    @property
    def signed(self) -> bool:
        """Whether the log was loaded from a signed session."""
        return self._signed

    def prune(self, keep: int) -> None:
        """Forget all but the newest `keep` entries."""
        entries = self.entries()
        self._encoded, self._source = None, None
        self._loaded, self._added = (entries[-keep:] if keep else []), []
        self._count = len(self._loaded)
        self._forget_chunks()

    def _forget_chunks(self) -> None:
        self._chunks, self._tail, self._tail_chunks = None, [], 0


class TurnLog:
    """The log as a turn sees it: the session's log and the entries this turn adds (handed
    to the session's log if the turn succeeds; only its model calls if it fails)."""

    __slots__ = ("base", "added")

    def __init__(self, base: ConversationLog) -> None:
        self.base = base
        self.added: list[Entry] = []

    def __len__(self) -> int:
        return len(self.base) + len(self.added)

    def append(self, entry: Entry) -> None:
        self.added.append(entry)

    def extend(self, entries: Iterable[Entry]) -> None:
        self.added.extend(entries)

    def entries(self) -> list[Entry]:
        return self.base.entries() + self.added

    def lend(self) -> None:
        """See `ConversationLog.lend`."""
        self.base.lend()

    def check_lent(self) -> int:
        """See `ConversationLog.check_lent`."""
        return self.base.check_lent()

    def entry(self, index: int) -> Entry:
        """The entry at `index` (negative: from the end), as `ConversationLog.entry` reads it."""
        position, base = _position(index, len(self)), len(self.base)
        return self.added[position - base] if position >= base else self.base.entry(position)

    def fork(self) -> ConversationLog:
        """An independent log holding the session's entries and this turn's so far."""
        return ConversationLog(encoded=self.encode(), signed=self.base.signed)

    def encode(self) -> EncodedLog:
        """The session's log with this turn's entries so far as one more chunk (for a
        session serialized from inside ``use_memory``); the turn's entries stay pending."""
        base = self.base.encode()
        if not self.added:
            return base
        chunk = encode_chunk(self.added, base.entries)
        count = base.entries + len(self.added)
        return EncodedLog((*base.runs, chunk), count, chain(base.digest, chunk), base.checked)


def _position(index: int, length: int) -> int:
    """`index` of a list of `length` items, counted from the start (IndexError if none)."""
    position = index + length if index < 0 else index
    if not 0 <= position < length:
        raise IndexError("model_turns index out of range")
    return position


# -- encoding ------------------------------------------------------------------------------------


#: one encoder for every chunk (json.dumps with options builds a new one per call)
_CHUNK_ENCODER = json.JSONEncoder(separators=(",", ":"))


def _not_json(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _chunk_json() -> Callable[[Any], str]:
    """What writes a chunk's stored entries as `_CHUNK_ENCODER` does: its C encoder, made
    once (``JSONEncoder.encode`` makes one per call, a few microseconds a save), without the
    check for cycles (stored entries have none: ``autograms._entry_codec`` pickles a value
    that is not plain JSON, cycles included, and deep ones); the encoder itself where the C
    one is missing."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython builds it
        return _CHUNK_ENCODER.encode
    encode = make(
        None, _not_json, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True
    )

    def chunk_json(stored: Any) -> str:
        return "".join(encode(stored, 0))

    return chunk_json


_json_of_chunk = _chunk_json()


def encode_chunk(entries: list[Entry], first: int = 0) -> str:
    """One chunk: the entries, stored (``autograms._entry_codec``), as a JSON array in the
    session text's form (``autograms._log_chunks``); `first` is the index of the first in the
    log (named by a refusal)."""
    stored = [to_stored(entry, first + n) for n, entry in enumerate(entries)]
    return _log_chunks.to_text(_json_of_chunk(stored).encode())


def chain(digest: str | None, chunk: str) -> str:
    """The digest of a log after appending `chunk` to a log whose digest is `digest`."""
    return sha256((digest or "").encode() + chunk.encode()).hexdigest()


def _encode_chunks(entries: list[Entry]) -> EncodedLog:
    if not entries:
        return EncodedLog((), 0, "", checked=True)
    chunk = encode_chunk(entries)
    return EncodedLog((chunk,), len(entries), chain("", chunk), checked=True)


def decode(encoded: EncodedLog, *, signed: bool = False) -> list[Entry]:
    """The entries of an encoded log, checked against its digest and count."""
    return decode_chunks(checked_chunks(encoded, signed=signed), encoded, signed, [])


def checked_chunks(encoded: EncodedLog, *, signed: bool = False) -> list[str]:
    """The chunks of an encoded log, checked against its digest once (none decoded)."""
    chunks = [chunk for run in encoded.runs for chunk in run.split(",")]
    if encoded.digest is not None and not encoded.checked:
        digest = ""
        for chunk in chunks:
            digest = chain(digest, chunk)
        if digest != encoded.digest:
            _refuse(signed)
        encoded.checked = True
    return chunks


def decode_chunks(
    chunks: list[str], encoded: EncodedLog, signed: bool, newer: list[Entry]
) -> list[Entry]:
    """The entries of `chunks` followed by `newer` (the entries of `encoded`'s chunks after
    them, decoded already), checked against `encoded`'s count."""
    entries: list[Entry] = []
    for chunk in chunks:
        entries += _decode_chunk(chunk)
    entries += newer
    if encoded.entries is not None and len(entries) != encoded.entries:
        _refuse(signed)
    return entries


def _decode_chunk(chunk: str) -> list[Entry]:
    data = _log_chunks.from_text(chunk)
    try:
        entries = json.loads(data)
    except ValueError as exc:
        raise SessionFormatError("the session's log is damaged", reason="damaged") from exc
    if not isinstance(entries, list):
        raise SessionFormatError("the session's log is damaged", reason="damaged")
    return [from_stored(entry) for entry in entries]


def _refuse(signed: bool) -> None:
    if signed:
        raise SessionSignatureError(
            "the session's log does not match its signed header: it was changed",
            reason="tampered",
        )
    raise SessionFormatError(
        "the session's log does not match its header: it is truncated or damaged",
        reason="damaged",
    )


# -- entries -------------------------------------------------------------------------------------

_stamp_second = -1
_stamp_prefix = ""


def timestamp() -> str:
    """Local time as AutoGRAMS writes it: ``YYYY-MM-DD HH:MM:SS.mmm``."""
    global _stamp_second, _stamp_prefix
    now = time.time()
    second = int(now)
    if second != _stamp_second:  # formatting the date costs more than the rest of an entry
        _stamp_prefix = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        _stamp_second = second
    return f"{_stamp_prefix}.{int(now % 1 * 1000):03d}"


def user_reply_entry(text: str | None) -> Entry:
    return {"entry_type": "user_reply", "user_reply": text, "timestamp": timestamp()}


def agent_reply_entry(
    text: str,
    *,
    last_node: str | None,
    function: str | None,
    line: int | None = None,
    address: str | None = None,
) -> Entry:
    return {
        "entry_type": "agent_reply",
        "reply": text,
        "last_node": last_node,
        "function_name": function,
        "line_number": line,
        "address": address,
        "timestamp": timestamp(),
    }


def node_entry(address: str) -> Entry:
    return {"entry_type": "node", "node": address, "timestamp": timestamp()}


def model_entry(
    call: ModelCall,
    helper: str,
    code_position: Mapping[str, Any] | None = None,
    supervisor_info: Mapping[str, Any] | None = None,
    log_inputs: str = "supervised",
) -> Entry:
    """The entry of one model call `helper` made: AutoGRAMS' fields (its function's name,
    and the inputs that function took when `log_inputs` keeps them, see
    ``autograms._model_inputs``), then the call's own record."""
    record = call.to_dict()
    record["latency"] = round(record["latency"], 6)
    details = record.pop("usage_details")  # in usage_log, as the server sent them
    function = function_name(helper, call.kind)
    inputs = record.pop("request")
    if call.sent is not None and keeps_inputs(log_inputs, supervisor_info is not None):
        function, full = logged_inputs(function, call.sent)
        inputs.update(full)
    entry: Entry = {
        "entry_type": "model",
        "function_name": function,
        "output": record.pop("output"),
        "function_inputs": inputs,
        "code_position": dict(code_position) if code_position is not None else None,
        "usage_log": usage_log(call, details),
        "supervisor_info": dict(supervisor_info) if supervisor_info is not None else None,
        "timestamp": timestamp(),
        "helper": helper,
    }
    entry.update(record)
    return entry


def usage_log(call: ModelCall, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Token usage in the shape of the API's usage object (its `details`, the server's
    fields beyond the counts, included), plus the model's name."""
    usage: dict[str, Any] = dict(details) if details else {}
    usage |= {
        "prompt_tokens": call.prompt_tokens,
        "completion_tokens": call.completion_tokens,
        "total_tokens": (
            call.prompt_tokens + call.completion_tokens
            if call.prompt_tokens is not None and call.completion_tokens is not None
            else None
        ),
    }
    if call.cached_tokens is not None and "prompt_tokens_details" not in usage:
        usage["prompt_tokens_details"] = {"cached_tokens": call.cached_tokens}
    usage["model"] = call.model
    return usage

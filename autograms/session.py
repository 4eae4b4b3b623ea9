"""Sessions on the wire and on disk: a versioned, optionally signed envelope.

A serialized session (format 9) is one line of text::

    agsession1.<header>.<state>.<window>.<log>.<signature>

* *header* -- unpadded base64 of a JSON object: ``format``, ``library`` and ``python`` (who
  wrote it), ``program`` (the root function the session belongs to, ``module:qualname``),
  ``signed``, ``log``: null when the log is left out, ``{"entries", "digest"}`` when the
  text carries it, ``{"entries", "file": true}`` for a saved file whose log is ``<path>.log``;
  ``window``: the length of the window, and ``window_crc``: its CRC-32. After ``signed``,
  ``header_crc``: the CRC-32 of the header's JSON before it -- the fields that say who wrote
  the session and which program it belongs to -- so a damaged program name is reported as
  damage, not as another program's session (the fields after it are checked against what
  they describe: the window against ``window_crc``, the log against its digest);
* *state* -- the engine snapshot in hexadecimal (CPython decodes hex several times faster than
  base64, and a session's snapshot is decoded on every turn): a readable header naming each
  paused frame (module, qualname, code fingerprint, line, ADDRESS label, the names of its
  saved locals and of its saved cells' variables), then the frames' values and the
  session's state, one pickle behind a checksum;
* *window* -- the texts of the live conversation's turns, escaped as in a JSON string (ASCII,
  one line; it may hold dots: its length is in the header), each turn's text escaped once
  (``autograms._state``). A turn may read any of them, so the whole window is checked against
  the header's CRC-32 when the session is read, before any turn runs (a few microseconds for
  a full window; each turn's own CRC-32, kept in the state, is checked again when it is read);
* *log* -- the session's log in its encoded form (``autograms._log``: chunks appended turn by
  turn, never re-encoded, each compressed alone: ``autograms._log_chunks``), empty when left
  out;
* *signature* -- HMAC-SHA256 of ``agsession1.<header>.<state>.<window>`` with the key from
  ``AutogramConfig(session_key=...)`` or the ``AUTOGRAMS_SESSION_KEY`` environment variable
  (empty when unsigned). The log is covered through the digest in the header, so signing a
  turn does not hash the whole log again; the log is checked against it when it is read.

Loading checks, in order and before anything is unpickled: the envelope shape (surrounding
whitespace ignored), the signature (with a key configured, an unsigned or tampered session is
refused), the format (a release reads every format up to its own), the program the session
belongs to, then -- inside the engine -- each paused frame against the loaded code.

Earlier formats are read by migrating them (``docs/sessions.md``): a reader per layout turns
the text into an `Envelope`, then `MIGRATIONS` brings it up one format at a time.

* Format 1 (release 0.1.0): ``agsession1.<header>.<state>[.<log>].<signature>``, the
  signature over everything before it, the log one base64 JSON array (which is one chunk of
  today's encoding), no program named (a paused session names it by its outermost frame);
  its state is migrated by ``autograms._state.from_saved``.
* Format 2 (release 0.6.1): the snapshot's header does not name each frame's saved locals, so
  a frame remapped to an ADDRESS label after an edit has its locals checked only once they
  are unpickled (by a load, not by a pre-deploy check).
* Format 3: some snapshots hold two pickles (`payload_layout`).
* Format 4: the snapshot's header does not name the variables of a frame's saved cells (they
  are assumed to be those of the code now loaded), and the state does not record which
  ``init_user_globals()`` defaults the session took (it took those it has).
* Format 5: ``agsession1.<header>.<state>.<log>.<signature>``, no window: the turns' texts
  are in the state's pickle (``autograms._state.from_saved`` reads them there).
* Format 6: no ``window_crc``: the window is checked turn by turn against the CRCs in the
  state, which `check_window` does when the session is loaded, before any turn runs; the
  log's chunks are not compressed (read as they are; chunks appended later are).
* Format 7: the snapshot (marked ``AGF3``) pickles each frame's values as a dict by name; the
  engine reads it as it is, and the next save writes them as tuples in the order the
  snapshot's header names them.
* Format 8: no ``header_crc``: the header is read as it is (a damaged program name reads as
  another program's).

Without a key, loading unpickles whatever the session holds: only load sessions you wrote
(or keep them server-side). Unpickling data from others runs their code.

On disk (`write_file`/`read_file`) the session goes to ``<path>`` atomically (temporary file,
fsync, rename: a crash leaves the old file) and its log to ``<path>.log`` as JSON lines,
appended turn by turn; the session's header says how many of those lines are its own.
"""

from __future__ import annotations

import binascii
import contextlib
import errno
import json
import os
import sys
import zlib
from collections.abc import Callable, Iterator
from typing import Any

from ._record import Record, replace
from . import _frames, _log
from ._entry_codec import from_stored, to_stored
from ._recall import Recall, holds
from ._errors import SessionCodeError, SessionFormatError, SessionSignatureError
from ._log import EncodedLog
from ._version import __version__

#: the marker every session starts with (its format is in the header)
MAGIC = "agsession1"
#: the format this release writes (it reads every earlier one too)
FORMAT = 9
#: the first format whose header has its own CRC-32 (``header_crc``)
HEADER_CRC_FORMAT = 9
KEY_VARIABLE = "AUTOGRAMS_SESSION_KEY"


class Envelope(Record):
    """A decoded session (nothing unpickled yet)."""

    __slots__ = (
        "snapshot",
        "header",
        "log",
        "program",
        "log_file",
        "log_digest",
        "window",
        "window_checked",
        "log_crc",
    )

    #: the engine snapshot: paused frames and state
    snapshot: bytes
    #: the header, as written
    header: dict[str, Any]
    #: the log the text carries (None: left out)
    log: EncodedLog | None
    #: the root function the session belongs to, ``module:qualname`` (None: not recorded)
    program: str | None
    #: for a saved file: how much of its ``.log`` belongs to it, (entries, bytes) (None: all)
    log_file: tuple[int, int] | None
    #: for a signed saved file: the SHA-256 of those bytes of its ``.log`` (None: not recorded)
    log_digest: str | None
    #: the texts of the state's turns (format 6 on; "" in earlier formats, whose state holds them)
    window: str
    #: whether `window` was checked whole (format 7: against the header's CRC-32; a format-6
    #: window is checked turn by turn against the CRCs in its state, by `check_window`)
    window_checked: bool
    #: for a saved file: the CRC-32 of those bytes of its ``.log`` (None: saved before headers
    #: recorded it)
    log_crc: int | None

    def __init__(
        self,
        snapshot: bytes,
        header: dict[str, Any],
        log: EncodedLog | None,
        program: str | None,
        log_file: tuple[int, int] | None = None,
        log_digest: str | None = None,
        window: str = "",
        window_checked: bool = True,
        log_crc: int | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.header = header
        self.log = log
        self.program = program
        self.log_file = log_file
        self.log_digest = log_digest
        self.log_crc = log_crc
        self.window = window
        self.window_checked = window_checked

    @property
    def signed(self) -> bool:
        return bool(self.header.get("signed"))

    @property
    def window_crc(self) -> int | None:
        """The CRC-32 of `window`, when the header's was checked against it (format 7)."""
        if self.window_checked and self.header["format"] >= 7:
            return self.header.get("window_crc")
        return None


def session_key(configured: str | bytes | None) -> bytes | None:
    """The signing key: the configured one, else the environment variable, else None."""
    key = configured if configured is not None else os.environ.get(KEY_VARIABLE)
    if key in (None, ""):
        return None
    return key.encode() if isinstance(key, str) else bytes(key)


def program_name(function: Any) -> str | None:
    """How a session names its program: ``module:qualname`` of the root function; a root
    function of a script (module ``__main__``) names the script, ``__main__(bot):chatbot``
    (see `_script_name`)."""
    function = getattr(function, "__func__", function)
    if function is None:
        return None
    module = function.__module__
    if module == "__main__":
        module = _script_name(sys.modules.get("__main__"))
    return f"{module}:{function.__qualname__}"


#: (id of the __main__ module, its file) -> how programs of that script are named
_script_names: dict[tuple[int, Any], str] = {}


def _script_name(main: Any) -> str:
    """``__main__(<stem>)`` for a script run from a file (``python bot_a.py`` ->
    ``__main__(bot_a)``; ``python -m pkg``, which runs ``pkg/__main__.py``, ->
    ``__main__(pkg)``), plain ``__main__`` when it has no file (an interactive session, a
    notebook). Every script's module is ``__main__``: without its name, two bots run as
    scripts would continue each other's sessions. The name is the file's, not its path's or
    its code's: the same script run from another folder or machine, or edited by a deploy,
    is the same program."""
    path = getattr(main, "__file__", None)
    key = (id(main), path)
    name = _script_names.get(key)
    if name is None:
        if not isinstance(path, str) or not path:
            name = "__main__"
        else:
            stem = os.path.splitext(os.path.basename(path))[0]
            if stem == "__main__":  # a package or a folder run as a script
                stem = os.path.basename(os.path.dirname(os.path.abspath(path))) or stem
            name = f"__main__({stem})"
        _script_names[key] = name
    return name


def encode(
    snapshot: bytes,
    *,
    key: bytes | None,
    program: str | None,
    log: EncodedLog | None = None,
    log_file: tuple[int, int] | None = None,
    log_digest: str | None = None,
    window: str = "",
    log_crc: int | None = None,
    window_crc: int | None = None,
) -> str:
    """The text form of a session; `log` is carried in it, or `log_file` -- (entries, bytes)
    -- says how much of the file's ``.log`` is its own, `log_crc` (their CRC-32) lets a load
    refuse those bytes once damaged or edited, and `log_digest` (`log_digest_of`) lets a signed
    session refuse them as tampered. `window` is the state's turns' texts
    (`autograms._state.to_saved`); `window_crc`, its CRC-32 when known (`extended_crc`), else
    it is computed."""
    if log is not None:
        log_field: dict[str, Any] | None = {"entries": log.entries, "digest": log.digest}
    elif log_file is not None:
        log_field = {"entries": log_file[0], "bytes": log_file[1], "file": True}
        if log_crc is not None:
            log_field["crc"] = log_crc
        if log_digest is not None:
            log_field["digest"] = log_digest
    else:
        log_field = None
    header = _header(program, key is not None, log_field, window, window_crc)
    # The pieces are joined once: the state and the log are copied into the text only there.
    body = [MAGIC, ".", _header_text(header), ".", _hex(snapshot), ".", window]
    pieces = [*body, "."]
    for run in log.runs if log is not None else ():
        pieces += (run, ",")
    if pieces[-1] == ",":
        pieces.pop()
    pieces += (".", _sign(body, key))
    text = "".join(pieces)
    if log is not None:
        _log.remember(log, len(text))  # the text is likely deserialized again in this process
    return text


def decode(text: str, *, key: bytes | None) -> Envelope:
    """Check a session's envelope and signature; nothing is unpickled here."""
    if isinstance(text, str):
        text = text.strip()  # an editor's or `echo >>`'s newline is not part of the session
    if not isinstance(text, str) or not text.startswith(MAGIC + "."):
        raise SessionFormatError(
            f"not an autograms session: it does not start with the session marker {MAGIC!r}",
            reason="not a session",
        )
    start = len(MAGIC) + 1
    end = text.find(".", start)
    if end < 0:
        raise SessionFormatError("the session is truncated or damaged", reason="damaged")
    header = _headers.take(text[start:end]) or _checked_header(_unb64(text[start:end]))
    written = _check_header(header)
    read = _read_format_1 if written == 1 else _read if written >= 6 else _read_format_2
    envelope = read(text, header, end, key)
    for step in range(written, FORMAT):
        envelope = MIGRATIONS[step](envelope)
    return envelope


def _header(
    program: str | None,
    signed: bool,
    log: dict[str, Any] | None,
    window: str,
    window_crc: int | None,
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "library": __version__,
        "python": _PYTHON,
        "program": program,
        "signed": signed,
        "log": log,
        "window": len(window),
        "window_crc": _window_crc(window, window_crc),
    }


def _crc(window: str) -> int:
    """The CRC-32 of a window (ASCII: each character is one byte)."""
    return zlib.crc32(window.encode("ascii")) if window else 0


#: windows by their length and CRC-32, kept by `_window_crc` for `_window_in`
_windows: Recall[str] = Recall(count=64, size=4_000_000)


def _window_crc(window: str, crc: int | None) -> int:
    """A window's CRC-32 (`crc` when known), the window kept for `_window_in` (a text this
    process wrote is often read back by it: comparing its window costs less than
    checksumming it)."""
    if crc is None:
        crc = _crc(window)
    if window:
        _windows.remember((len(window), crc), window, len(window))
    return crc


def extended_crc(window: str, earlier: str, earlier_crc: int | None) -> int | None:
    """The CRC-32 of `window` when it is `earlier` (whose CRC-32 is `earlier_crc`) with text
    appended: the CRC continued over the appended text only (a turn that adds messages to a
    window that is not full yet). None when unknown: `window` does not start with `earlier`
    (a turn dropped the oldest texts) or `earlier_crc` is not known."""
    if earlier_crc is None or not window.startswith(earlier):
        return None
    if len(window) == len(earlier):
        return earlier_crc
    return zlib.crc32(window[len(earlier) :].encode("ascii"), earlier_crc)


#: who writes this process's sessions, as a header names it
_PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"
#: one encoder for every header (json.dumps with options builds a new one per call)
_ENCODER = json.JSONEncoder(separators=(",", ":"))
#: headers by their text, kept by `_header_text` for `decode` (a text written by this
#: process is often read back by it: its header then needs no base64 or JSON decoding)
_headers: Recall[dict[str, Any]] = Recall(count=64, size=64_000)


def _header_text(header: dict[str, Any]) -> str:
    """A header's text (unpadded base64 of its JSON, ended by its CRC-32), kept for
    `decode`."""
    text = _b64(_header_json(header).encode())
    _headers.remember(text, header, len(text))
    return text


def _header_json(header: dict[str, Any]) -> str:
    """The header's JSON as `_ENCODER` writes it (`_header`'s keys, in its order), with
    ``header_crc`` after `_SEALED_FIELDS`. Those fields and their CRC-32 are encoded once per
    program; the fields that change with every save are formatted after them (encoding the
    whole header cost a turn several microseconds)."""
    log = header["log"]
    if log is None:
        log_json = "null"
    elif len(log) == 2 and type(log.get("entries")) is int and _plain_digest(log.get("digest")):
        log_json = f'{{"entries":{log["entries"]},"digest":"{log["digest"]}"}}'
    else:
        log_json = _ENCODER.encode(log)
    key = (header["format"], header["library"], header["python"], header["program"])
    key += (header["signed"],)
    prefix = _header_prefixes.get(key)
    if prefix is None:
        if len(_header_prefixes) >= 64:
            _header_prefixes.clear()
        sealed = _ENCODER.encode(dict(zip(_SEALED_FIELDS, key, strict=True)))[:-1]
        crc = zlib.crc32(sealed.encode())
        prefix = _header_prefixes[key] = f'{sealed},"header_crc":{crc:d},"log":'
    window, crc = header["window"], header["window_crc"]
    return f'{prefix}{log_json},"window":{window:d},"window_crc":{crc:d}}}'


#: the fields of a header its CRC-32 covers, in the order they are written before it
_SEALED_FIELDS = ("format", "library", "python", "program", "signed")


#: what follows a header's sealed fields in its JSON
_CRC_FIELD = b',"header_crc":'


def _checked_header(data: bytes) -> Any:
    """The header decoded from its JSON `data`; refuses one whose CRC-32 (format 9 on) does
    not match, naming the damage, before any field of it is believed."""
    header = _json(data, "header")
    if not isinstance(header, dict):
        return header  # refused by _check_header
    written = header.get("format")
    if not isinstance(written, int) or written > FORMAT:
        return header  # refused by _check_header (a newer format: its layout is unknown)
    if written < HEADER_CRC_FORMAT and "header_crc" not in header:
        return header  # an earlier format: no checksum to check
    recorded = header.get("header_crc")
    end = data.find(_CRC_FIELD)  # a quote inside a JSON string is escaped: only the key's
    found = zlib.crc32(data[:end]) if end >= 0 else None
    if found is None or found != recorded:
        raise SessionFormatError(
            f"the session's header is damaged: its CRC-32 is {found} but it records "
            f"{recorded} (a changed byte in the format, the library, the Python or the "
            f"program it names: {header.get('program')!r} may not be the program that wrote "
            "it)",
            reason="damaged header",
        )
    return header


def _plain_digest(digest: Any) -> bool:
    """Whether `digest` is a str JSON writes as it is (hexadecimal digits, or empty)."""
    return type(digest) is str and (not digest or (digest.isascii() and digest.isalnum()))


#: the JSON of a header's fields before "log" (`_SEALED_FIELDS` and their CRC-32), by their
#: values (`_header_json`)
_header_prefixes: dict[tuple[Any, ...], str] = {}


def _read(text: str, header: dict[str, Any], end: int, key: bytes | None) -> Envelope:
    """A session of format 6 or 7; `end` is where its header ends."""
    state_end = text.find(".", end + 1)
    size = header.get("window")
    if not isinstance(size, int) or size < 0:
        raise SessionFormatError("the session's header is damaged", reason="damaged")
    window_end = state_end + 1 + size
    log_end = text.rfind(".")
    if state_end < 0 or log_end <= window_end or text[window_end] != ".":
        raise SessionFormatError("the session is truncated or damaged", reason="damaged")
    if key is not None:
        _check_signature(text[:window_end], text[log_end + 1 :], key)
    snapshot = _snapshot_in(text, end + 1, state_end)
    log, log_file = _log_part(header.get("log"), text, window_end + 1, log_end)
    digest, crc = _log_file_checks(header, log_file)
    checked = header["format"] >= 7
    if checked:
        window = _window_in(text, state_end + 1, window_end, header.get("window_crc"))
    else:
        window = text[state_end + 1 : window_end]
    program = header.get("program")
    return Envelope(
        snapshot, header, log, program, log_file, digest, window, checked or not window, crc
    )


def _window_in(text: str, start: int, end: int, crc: Any) -> str:
    """The window ``text[start:end]`` holds, checked against the header's `crc`: a window
    kept by `_window_crc` when the text holds exactly it, else that part of the text, whose
    CRC-32 is computed."""
    known = _windows.take((end - start, crc))
    if known is not None and holds(text, start, end, (known,), ""):
        return known
    window = text[start:end]
    _check_window(window, crc)
    return window


def _check_window(window: str, crc: Any) -> None:
    """Refuse a window whose CRC-32 is not the header's: a turn reads any of its texts, so
    all of them are checked before it runs."""
    try:
        found = _crc(window)
    except UnicodeEncodeError:
        found = None  # a window is ASCII: a character beyond it is damage
    if found != crc:
        raise SessionFormatError(
            f"the session's conversation window is damaged: its CRC-32 is {found} but the "
            f"header records {crc} (the texts of the conversation's turns were changed)",
            reason="damaged window",
        )


def _read_format_2(text: str, header: dict[str, Any], end: int, key: bytes | None) -> Envelope:
    """A session of format 2 to 5 (the same layout: no window); `end` is where its header
    ends."""
    state_end = text.find(".", end + 1)
    log_end = text.rfind(".")
    if state_end < 0 or log_end <= state_end:
        raise SessionFormatError("the session is truncated or damaged", reason="damaged")
    if key is not None:
        _check_signature(text[:state_end], text[log_end + 1 :], key)
    snapshot = _snapshot_in(text, end + 1, state_end)
    log, log_file = _log_part(header.get("log"), text, state_end + 1, log_end)
    digest, crc = _log_file_checks(header, log_file)
    return Envelope(snapshot, header, log, header.get("program"), log_file, digest, log_crc=crc)


def _log_file_checks(
    header: dict[str, Any], log_file: tuple[int, int] | None
) -> tuple[str | None, int | None]:
    """The SHA-256 and the CRC-32 a saved file's header records of its ``.log``."""
    if log_file is None:
        return None, None
    crc = header["log"].get("crc")
    if crc is not None and (not isinstance(crc, int) or isinstance(crc, bool)):
        raise SessionFormatError("the session's header is damaged", reason="damaged")
    return header["log"].get("digest"), crc


def _log_part(
    field: Any, text: str, start: int, end: int
) -> tuple[EncodedLog | None, tuple[int, int] | None]:
    """The log ``text[start:end]`` holds, as the header's `field` describes it."""
    if field is None:
        return None, None
    if not isinstance(field, dict) or not isinstance(field.get("entries"), int):
        raise SessionFormatError("the session's header is damaged", reason="damaged")
    if field.get("file"):
        if not isinstance(field.get("bytes"), int):
            raise SessionFormatError("the session's header is damaged", reason="damaged")
        return None, (field["entries"], field["bytes"])
    return _log.in_text(text, start, end, field["entries"], field.get("digest")), None


def _read_format_1(text: str, header: dict[str, Any], end: int, key: bytes | None) -> Envelope:
    """A session of format 1 (release 0.1.0): its log, when it has one, is one chunk of
    today's encoding; it names no program."""
    body, _, signature = text.rpartition(".")
    parts = body.split(".")[1:]
    if len(parts) not in (2, 3):
        raise SessionFormatError("the session is truncated or damaged", reason="damaged")
    _check_signature(body, signature, key)
    snapshot = _unb64(parts[1])
    log = None
    if len(parts) == 3:
        log = EncodedLog.from_text(parts[2], None, _log.chain("", parts[2]))
    return Envelope(snapshot, header, log, None)


def _format_1_to_2(envelope: Envelope) -> Envelope:
    """Name the program by the outermost paused frame (an idle session names none and is
    accepted by any program). The state is converted when it is unpickled (`_state`)."""
    frames = paused_frames(envelope.snapshot)
    program = f"{frames[0].module}:{frames[0].qualname}" if frames else None
    return replace(envelope, program=program)


def _format_2_to_3(envelope: Envelope) -> Envelope:
    """Nothing to convert: the engine reads snapshot headers that do not name the saved
    locals (their frames' ``saved`` is None, and the locals are checked from the values)."""
    return envelope


def _format_3_to_4(envelope: Envelope) -> Envelope:
    """Some format-3 snapshots hold their values and attachment as two pickles in one stream
    (module-level objects as persistent ids): rewritten as the one pickle format 4 holds, by
    re-emitting the opcodes (nothing is unpickled). Raises SessionFormatError if neither."""
    from ._frames import payload_layout  # only sessions written before format 4 need it

    try:
        snapshot = payload_layout.as_one_pickle(envelope.snapshot)
    except _frames.SnapshotMismatchError as exc:
        raise SessionFormatError(
            f"the session is truncated or damaged: {exc}", reason="damaged"
        ) from exc
    return replace(envelope, snapshot=snapshot)


def _format_4_to_5(envelope: Envelope) -> Envelope:
    """Nothing to convert: the engine reads headers that do not name the variables of the
    saved cells (their frames' ``cells`` is None), and `autograms._state.from_saved` reads a
    state that records no ``init_user_globals()`` defaults taken."""
    return envelope


def _format_5_to_6(envelope: Envelope) -> Envelope:
    """Nothing to convert: the window is empty, and `autograms._state.from_saved` reads the
    turns' texts from a state of format 3, which holds them (the session's next save moves
    them to its window)."""
    return envelope


def _format_6_to_7(envelope: Envelope) -> Envelope:
    """Nothing to convert: a format-6 window has no CRC of its own, so the envelope says it
    is unchecked and `check_window` checks its turns against the CRCs in its state before
    the session is used (the session's next save writes the window's CRC)."""
    return envelope


def _format_7_to_8(envelope: Envelope) -> Envelope:
    """Nothing to convert: the engine reads a snapshot whose frames' values are dicts by name
    (marked ``AGF3``) as it is, and the session's next save writes them as tuples."""
    return envelope


def _format_8_to_9(envelope: Envelope) -> Envelope:
    """Nothing to convert: a format-8 header has no CRC-32 of its own and was read as it is;
    the session's next save writes one."""
    return envelope


#: format N -> the function that brings a session read in format N to format N + 1
MIGRATIONS: dict[int, Callable[[Envelope], Envelope]] = {
    1: _format_1_to_2,
    2: _format_2_to_3,
    3: _format_3_to_4,
    4: _format_4_to_5,
    5: _format_5_to_6,
    6: _format_6_to_7,
    7: _format_7_to_8,
    8: _format_8_to_9,
}


def check_window(envelope: Envelope) -> None:
    """Refuse a session whose window was not checked whole (format 6) when one of its turns'
    texts does not match its CRC-32 in the state; this unpickles the state, so the session's
    program and frames are checked first."""
    if envelope.window_checked:
        return
    from ._state import check_turns  # only sessions written in format 6 need it

    check_turns(_frames.attachment_of(envelope.snapshot), envelope.window)


def _check_signature(body: str, signature: str, key: bytes | None) -> None:
    if key is None:
        return
    if not signature:
        raise SessionSignatureError(
            "the session is not signed but a session key is configured; refusing to load it",
            reason="unsigned",
        )
    import hmac  # with a session key only (see _sha256.py)

    if not hmac.compare_digest(signature, _sign(body, key)):
        raise SessionSignatureError(
            "the session's signature does not match: it was changed or signed with another "
            "key; refusing to load it",
            reason="tampered",
        )


def _check_header(header: Any) -> int:
    """The session's format. Sessions are read by format, not by release: any release reads
    every format up to its own; a session from a newer format names the release that wrote
    it."""
    written = header.get("format") if isinstance(header, dict) else None
    if not isinstance(written, int) or written < 1:
        raise SessionFormatError("the session's header is damaged", reason="damaged")
    if written > FORMAT:
        raise SessionFormatError(
            f"the session was written by autograms {header.get('library', '?')} in session "
            f"format {written}; this release ({__version__}) reads formats up to {FORMAT}: "
            "upgrade autograms to load it",
            reason="newer format",
        )
    return written


def check_program(envelope: Envelope, function: Any) -> None:
    """Refuse a session that belongs to another program than `function` (when both are
    known). A program is the same when its name is, or when the recorded name finds the very
    function object among the loaded modules (a bot file registered under an earlier name)."""
    expected = program_name(function)
    recorded = envelope.program
    if expected is None or recorded is None or recorded == expected:
        return
    if _unnamed_script(recorded, expected) or _unnamed_script(expected, recorded):
        return
    if _loaded_function(recorded) is getattr(function, "__func__", function):
        return
    raise SessionCodeError(
        f"the session belongs to the program {recorded}, not to this Autogram's "
        f"{expected}; load it with an Autogram whose root_function is {recorded}",
        reason="other program",
    )


def _unnamed_script(unnamed: str, named: str) -> bool:
    """Whether `unnamed` is a script's program named without its script (``__main__:f``:
    written before scripts were named, or run with no file) and `named` the same function of
    a named script (``__main__(bot):f``): neither says they differ."""
    module, _, qualname = unnamed.rpartition(":")
    named_module, _, named_qualname = named.rpartition(":")
    return (
        module == "__main__" and named_qualname == qualname and named_module.startswith("__main__(")
    )


def _loaded_function(name: str) -> Any:
    """The function a program name finds among the modules already imported (None if none;
    nothing is imported)."""
    module_name, _, qualname = name.partition(":")
    found: Any = sys.modules.get(module_name)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return getattr(found, "__func__", found)


def paused_frames(snapshot: bytes) -> list[_frames.PendingFrameInfo]:
    """The paused frames a snapshot names, outermost first, without their values (nothing
    is unpickled)."""
    with _code_errors():
        return _frames.describe(snapshot, with_locals=False)


def load_snapshot(snapshot: bytes) -> _frames.Loaded:
    """Check the session's frames against the loaded code, then unpickle it."""
    with _code_errors():
        return _frames.load(snapshot)


def check_snapshot(snapshot: bytes) -> bool:
    """Check the session's frames against the loaded code (nothing is unpickled); returns
    whether the program is paused."""
    with _code_errors():
        return _frames.check(snapshot) > 0


@contextlib.contextmanager
def _code_errors() -> Iterator[None]:
    try:
        yield
    except _frames.SnapshotMismatchError as exc:
        message = str(exc)
        if exc.reason in _FORMAT_REASONS:
            raise SessionFormatError(f"the session's state: {message}", reason=exc.reason) from exc
        bot_file = (exc.module or "").startswith("autograms_bot_")
        if exc.reason is _frames.Reason.MODULE_NOT_IMPORTABLE and bot_file:
            message += "; load the bot file (load_autogram or `autograms run FILE`) first"
        raise SessionCodeError(message, reason=exc.reason) from exc


#: engine refusals that mean damaged bytes rather than changed code
_FORMAT_REASONS = frozenset(
    {_frames.Reason.UNKNOWN_FORMAT, _frames.Reason.BAD_HEADER, _frames.Reason.DAMAGED}
)


def _sign(body: str | list[str], key: bytes | None) -> str:
    """The signature of `body` (its pieces, in order, when a list), "" without a key."""
    if key is None:
        return ""
    import hashlib  # with a session key only (see _sha256.py)
    import hmac

    signer = hmac.new(key, digestmod=hashlib.sha256)
    for piece in [body] if isinstance(body, str) else body:
        signer.update(piece.encode())
    return _b64(signer.digest())


def _b64(data: bytes) -> str:
    # Standard base64 (its alphabet has no "."), without the URL-safe variant's extra pass.
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return binascii.a2b_base64(text + "=" * (-len(text) % 4), strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise SessionFormatError("the session is damaged (bad base64)", reason="damaged") from exc


#: snapshots by the start of their hexadecimal form (which holds their payload's checksum)
_snapshots: Recall[tuple[str, bytes]] = Recall(count=64, size=8_000_000)
#: hexadecimal digits of a snapshot that make its key: magic, header length and checksum
_KEY_DIGITS = 24


def _hex(snapshot: bytes) -> str:
    """A snapshot in hexadecimal, kept for `_snapshot_in`: the text is likely read back in
    this process, and comparing its digits costs less than decoding them."""
    text = snapshot.hex()
    _snapshots.remember((len(text), text[:_KEY_DIGITS]), (text, snapshot), len(text))
    return text


def _snapshot_in(text: str, start: int, end: int) -> bytes:
    """The snapshot ``text[start:end]`` holds in hexadecimal."""
    known = _snapshots.take((end - start, text[start : start + _KEY_DIGITS]))
    if known is not None and holds(text, start, end, known[:1], ""):
        return known[1]
    return _unhex(text[start:end])


def _unhex(text: str) -> bytes:
    try:
        return binascii.a2b_hex(text)
    except (binascii.Error, ValueError) as exc:
        raise SessionFormatError("the session is damaged (bad hex)", reason="damaged") from exc


def _json(data: bytes, part: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        raise SessionFormatError(f"the session's {part} is damaged", reason="damaged") from exc


# -- files ------------------------------------------------------------------------------------


def write_file(path: str | os.PathLike[str], text: str, *, encoding: str = "ascii") -> None:
    """Replace the file at `path` with `text` atomically."""
    import tempfile  # with shutil, bz2, lzma and random: a process that writes no file skips it

    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".session-", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding=encoding) as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    _sync_folder(folder)


def _sync_folder(folder: str) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not every platform lets a folder be opened; the rename is still atomic
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_log(path: str | os.PathLike[str], entries: list[dict[str, Any]]) -> tuple[int, int]:
    """Replace ``<path>.log`` with `entries` as JSON lines, atomically; returns its size and
    CRC-32."""
    _refuse_folder(path)
    data = _lines(entries, 0)
    write_file(f"{os.fspath(path)}.log", data.decode(), encoding="utf-8")
    return len(data), zlib.crc32(data)


def append_log(
    path: str | os.PathLike[str],
    entries: list[dict[str, Any]],
    at: int,
    first: int = 0,
    crc: int | None = None,
) -> tuple[int, int]:
    """Append log entries (the first being entry `first` of the log) to ``<path>.log`` as
    JSON lines, after its first `at` bytes (lines beyond, from a save that crashed before
    writing its session, are dropped); returns the new size and the CRC-32 of the whole file,
    continued from `crc`, that of its first `at` bytes (None: read from the file)."""
    _refuse_folder(path)
    data = _lines(entries, first)  # before the file is touched: an unsaveable entry is refused
    if crc is None:
        crc = log_crc_of(path, at)
    with open(f"{os.fspath(path)}.log", "ab") as stream:
        if stream.tell() != at:
            stream.truncate(at)
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
        return stream.tell(), zlib.crc32(data, crc)


def _refuse_folder(path: str | os.PathLike[str]) -> None:
    """Refuse a session file's path that is a folder before its log is written: the log
    would be left beside a session file that can never be written."""
    if os.path.isdir(path):
        raise IsADirectoryError(
            errno.EISDIR, "a session file cannot replace a folder; name a file", os.fspath(path)
        )


def _lines(entries: list[dict[str, Any]], first: int) -> bytes:
    """The entries, stored (``autograms._entry_codec``), as JSON lines."""
    stored = [to_stored(entry, first + n) for n, entry in enumerate(entries)]
    return "".join([_LINE_ENCODER.encode(entry) + "\n" for entry in stored]).encode()


#: how a ``.log`` line is written (as json.dumps writes it, built once)
_LINE_ENCODER = json.JSONEncoder()


def read_log(
    path: str | os.PathLike[str],
    size: int | None = None,
    digest: str | None = None,
    crc: int | None = None,
    count: int | None = None,
) -> list[dict[str, Any]]:
    """The entries in the first `size` bytes (default: all) of ``<path>.log`` (without `size`,
    a torn last line from a crash is ignored); with `digest`, those bytes must be the ones
    signed, with `crc` those of that CRC-32, with `count` that many entries."""
    name = f"{os.fspath(path)}.log"
    try:
        with open(name, "rb") as stream:
            data = stream.read(size)
    except FileNotFoundError:
        if size:
            raise SessionFormatError(
                f"the log {name} is missing; the session file says it holds "
                f"{size} bytes of log (keep the .log file next to its session file)",
                reason="missing log",
            ) from None
        return []
    if size is not None and len(data) < size:
        raise _damaged_log(name, f"it has {len(data)} bytes, its session file names {size}")
    if digest is not None and not _same_digest(_digest(data), digest):
        raise SessionSignatureError(
            f"the log {name} was changed after its session was signed (tampered); "
            "refusing to read it",
            reason="tampered",
        )
    if crc is not None and zlib.crc32(data) != crc:
        raise _damaged_log(name, "its bytes are not the ones its session file names (CRC-32)")
    entries = _entries_of(data, strict=size is not None)
    if entries is None or (count is not None and len(entries) != count):
        raise _damaged_log(name, f"its session file names {count} entries in {size} bytes")
    return entries


def _entries_of(data: bytes, strict: bool) -> list[dict[str, Any]] | None:
    """The entries of a log's JSON lines; None if `strict` and a line is not one."""
    entries = []
    for line in data.decode("utf-8", errors="replace").splitlines():
        try:
            stored = json.loads(line)
        except ValueError:
            if strict:
                return None
            break
        entries.append(from_stored(stored))
    return entries


def _damaged_log(name: str, why: str) -> SessionFormatError:
    return SessionFormatError(
        f"the log {name} is damaged or was edited: {why}", reason="damaged log"
    )


def read_saved_log(
    path: str | os.PathLike[str], envelope: Envelope, *, digest: bool = True
) -> list[dict[str, Any]]:
    """The entries of ``<path>.log`` that the session file `envelope` was read from names as
    its own, checked against what its header records (the SHA-256 only with `digest`)."""
    if envelope.log_file is None:
        return read_log(path)
    count, size = envelope.log_file
    signed = envelope.log_digest if digest else None
    return read_log(path, size, signed, envelope.log_crc, count)


def log_crc_of(path: str | os.PathLike[str], size: int) -> int:
    """The CRC-32 of the first `size` bytes of ``<path>.log``."""
    try:
        with open(f"{os.fspath(path)}.log", "rb") as stream:
            return zlib.crc32(stream.read(size))
    except FileNotFoundError:
        return 0


def log_digest_of(path: str | os.PathLike[str], size: int) -> str:
    """The SHA-256 of the first `size` bytes of ``<path>.log``, for a signed session file."""
    with open(f"{os.fspath(path)}.log", "rb") as stream:
        return _digest(stream.read(size))


def _digest(data: bytes) -> str:
    import hashlib  # a signed session file's log only (see _sha256.py)

    return hashlib.sha256(data).hexdigest()


def _same_digest(first: str, second: str) -> bool:
    import hmac

    return hmac.compare_digest(first, second)


def log_size(path: str | os.PathLike[str]) -> int:
    """The size of ``<path>.log`` (0 if there is none)."""
    try:
        return os.path.getsize(f"{os.fspath(path)}.log")
    except FileNotFoundError:
        return 0


def read_file(path: str | os.PathLike[str]) -> str:
    """The session text saved at `path`."""
    try:
        with open(os.fspath(path), encoding="ascii") as stream:
            return stream.read()
    except UnicodeDecodeError as exc:
        raise SessionFormatError(
            f"{os.fspath(path)} is not an autograms session file", reason="not a session"
        ) from exc

"""Sessions on the wire and on disk: a versioned, optionally signed envelope.

A serialized session is one line of text::

    agsession1.<header>.<state>[.<log>].<signature>

each part base64 without padding. The *header* is JSON: format version, library version,
Python version, and whether the session is signed and a log section follows. The *state* is
the engine snapshot: a readable header naming each paused frame (module, qualname, code
fingerprint, line, ADDRESS label), then the frames' values and the conversation memory, one
pickle behind a checksum. The optional *log* is the model-call log as JSON -- kept
apart so a turn's save does not grow with the number of past model calls. The *signature* is
HMAC-SHA256 over everything before it, with the key from ``AutogramConfig(session_key=...)``
or the ``AUTOGRAMS_SESSION_KEY`` environment variable (empty when unsigned).

Loading checks, in order and before anything is unpickled: the envelope shape, the signature
(with a key configured, an unsigned or tampered session is refused), the format version (a
release reads every format up to its own, whichever release wrote the session), then --
inside the engine -- each paused frame against the loaded code.

Without a key, loading unpickles whatever the session holds: only load sessions you wrote
(or keep them server-side). Unpickling data from others runs their code.

On disk (`write_file`/`read_file`) the state goes to ``<path>`` atomically (temporary file,
fsync, rename: a crash leaves the old file) and new log entries are appended to
``<path>.log`` as JSON lines.
"""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import hmac
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import _frames
from ._errors import SessionCodeError, SessionFormatError, SessionSignatureError
from ._version import __version__

MAGIC = "agsession1"
FORMAT = 1
KEY_VARIABLE = "AUTOGRAMS_SESSION_KEY"


@dataclass(frozen=True, slots=True)
class Envelope:
    """A decoded session: the engine snapshot, its header, and the log if it was included."""

    snapshot: bytes
    header: dict[str, Any]
    log: list[dict[str, Any]] | None


def session_key(configured: str | bytes | None) -> bytes | None:
    """The signing key: the configured one, else the environment variable, else None."""
    key = configured if configured is not None else os.environ.get(KEY_VARIABLE)
    if key in (None, ""):
        return None
    return key.encode() if isinstance(key, str) else bytes(key)


def encode(snapshot: bytes, *, key: bytes | None, log: list[dict[str, Any]] | None = None) -> str:
    """The text form of a session."""
    header = {
        "format": FORMAT,
        "library": __version__,
        "python": f"{sys.version_info[0]}.{sys.version_info[1]}",
        "signed": key is not None,
        "log": log is not None,
    }
    parts = [_b64(json.dumps(header, separators=(",", ":")).encode()), _b64(snapshot)]
    if log is not None:
        parts.append(_b64(json.dumps(log, separators=(",", ":"), default=repr).encode()))
    body = ".".join([MAGIC, *parts])
    return f"{body}.{_sign(body, key)}"


def decode(text: str, *, key: bytes | None) -> Envelope:
    """Check a session's envelope and signature; nothing is unpickled here."""
    if not isinstance(text, str) or not text.startswith(MAGIC + "."):
        raise SessionFormatError(
            f"not an autograms session: it does not start with the session marker {MAGIC!r}",
            reason="not a session",
        )
    body, _, signature = text.rpartition(".")
    parts = body.split(".")[1:]
    if len(parts) not in (2, 3):
        raise SessionFormatError("the session is truncated or damaged", reason="damaged")
    _check_signature(body, signature, key)
    header = _json(_unb64(parts[0]), "header")
    _check_header(header)
    log = _json(_unb64(parts[2]), "log") if len(parts) == 3 else None
    return Envelope(_unb64(parts[1]), header, log)


def _check_signature(body: str, signature: str, key: bytes | None) -> None:
    if key is None:
        return
    if not signature:
        raise SessionSignatureError(
            "the session is not signed but a session key is configured; refusing to load it",
            reason="unsigned",
        )
    if not hmac.compare_digest(signature, _sign(body, key)):
        raise SessionSignatureError(
            "the session's signature does not match: it was changed or signed with another "
            "key; refusing to load it",
            reason="tampered",
        )


def _check_header(header: Any) -> None:
    """Sessions are read by format, not by release: any release reads every format up to its
    own; a session from a newer format names the release that wrote it."""
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


def load_snapshot(snapshot: bytes) -> _frames.Loaded:
    """Check the session's frames against the loaded code, then unpickle it."""
    with _code_errors():
        return _frames.load(snapshot)


def check_snapshot(snapshot: bytes) -> None:
    """Check the session's frames against the loaded code (nothing is unpickled)."""
    with _code_errors():
        _frames.check(snapshot)


@contextlib.contextmanager
def _code_errors() -> Iterator[None]:
    try:
        yield
    except _frames.SnapshotMismatchError as exc:
        message = str(exc)
        if exc.reason in _FORMAT_REASONS:
            raise SessionFormatError(f"the session's state: {message}", reason=exc.reason) from exc
        if exc.reason == "module not importable" and "'autograms_bot_" in message:
            message += "; load the bot file (load_autogram or `autograms run FILE`) first"
        raise SessionCodeError(message, reason=exc.reason) from exc


#: engine refusals that mean damaged bytes rather than changed code
_FORMAT_REASONS = frozenset({"unknown snapshot format", "bad header", "damaged"})


def _sign(body: str, key: bytes | None) -> str:
    if key is None:
        return ""
    return _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    # Standard base64 (its alphabet has no "."), without the URL-safe variant's extra pass.
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return binascii.a2b_base64(text + "=" * (-len(text) % 4), strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise SessionFormatError("the session is damaged (bad base64)", reason="damaged") from exc


def _json(data: bytes, part: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        raise SessionFormatError(f"the session's {part} is damaged", reason="damaged") from exc


# -- files ------------------------------------------------------------------------------------


def write_file(path: str | os.PathLike[str], text: str, *, encoding: str = "ascii") -> None:
    """Replace the file at `path` with `text` atomically."""
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


def write_log(path: str | os.PathLike[str], entries: list[dict[str, Any]]) -> None:
    """Replace ``<path>.log`` with `entries` as JSON lines, atomically."""
    lines = "".join(json.dumps(entry, default=repr) + "\n" for entry in entries)
    write_file(f"{os.fspath(path)}.log", lines, encoding="utf-8")


def append_log(path: str | os.PathLike[str], entries: list[dict[str, Any]]) -> None:
    """Append log entries to ``<path>.log`` as JSON lines."""
    if not entries:
        return
    lines = "".join(json.dumps(entry, default=repr) + "\n" for entry in entries)
    with open(f"{os.fspath(path)}.log", "a", encoding="utf-8") as stream:
        stream.write(lines)
        stream.flush()
        os.fsync(stream.fileno())


def read_log(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The entries of ``<path>.log`` (a torn last line from a crash is ignored)."""
    try:
        with open(f"{os.fspath(path)}.log", encoding="utf-8") as stream:
            lines = stream.read().splitlines()
    except FileNotFoundError:
        return []
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except ValueError:
            break
    return entries


def read_file(path: str | os.PathLike[str]) -> str:
    """The session text saved at `path`."""
    try:
        with open(os.fspath(path), encoding="ascii") as stream:
            return stream.read()
    except UnicodeDecodeError as exc:
        raise SessionFormatError(
            f"{os.fspath(path)} is not an autograms session file", reason="not a session"
        ) from exc

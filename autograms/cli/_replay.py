"""``autograms run --saveload_file FILE``: the last message is kept to be sent again.

AutoGRAMS' ``run_autogram.py --saveload_file`` saved the memory from *before* the last reply
with the user message that produced it, and a restart sent that message again: after an edit
to the bot the restart shows the reply the code now gives (the reply_functions.md workflow,
"change the code and reload the previous memory object"). ``--session FILE`` continues exactly
instead, with no replay.

FILE itself is a session file like ``--session``'s (saved after every turn, atomically, with
its log in ``FILE.log``), so ``Autogram.load(FILE)`` reads the whole conversation. Beside it,
``FILE.replay`` holds the last turn: the user's message and the session text from before it.
The record names the session file it goes with (a SHA-256 of its bytes), and is written after
it, atomically: a run killed before the record is written leaves a record of an older save,
which is then ignored and FILE continued exactly; a run killed during a turn leaves both from
the turn before, which is replayed. Either way no message is lost or counted twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .. import session

#: what the record's file name adds to the session file's
SUFFIX = ".replay"
#: the record's format
VERSION = 1


@dataclass(frozen=True, slots=True)
class LastTurn:
    """A user message and the session text from before it."""

    message: str
    before: str


def record_path(session_path: Path) -> Path:
    """Where the last turn of the session saved at `session_path` is recorded."""
    return session_path.with_name(session_path.name + SUFFIX)


def read_last_turn(session_path: Path) -> LastTurn | None:
    """The last turn recorded for the session saved at `session_path` now; None when there
    is none, or the record belongs to another save of it (or cannot be read)."""
    try:
        record = json.loads(record_path(session_path).read_text(encoding="utf-8"))
        saved = session_path.read_bytes()
    except (OSError, ValueError):
        return None
    if (
        not isinstance(record, dict)
        or record.get("version") != VERSION
        or record.get("session_sha256") != _digest(saved)
        or not isinstance(record.get("message"), str)
        or not isinstance(record.get("before"), str)
    ):
        return None
    return LastTurn(record["message"], record["before"])


def keep_last_turn(session_path: Path, turn: LastTurn | None) -> None:
    """Record `turn` as the last turn of the session just saved at `session_path` (None:
    there is no turn to replay, and an earlier record is removed)."""
    path = record_path(session_path)
    if turn is None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    record = {
        "version": VERSION,
        "session_sha256": _digest(session_path.read_bytes()),
        "message": turn.message,
        "before": turn.before,
    }
    session.write_file(path, json.dumps(record))


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

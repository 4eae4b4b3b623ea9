"""The byte format of a snapshot: a JSON header naming the paused frames, then a pickle.

    b"AGF1" | header length (4 bytes, big-endian) | header (UTF-8 JSON) | payload (pickle)

The header says where each frame is paused (module, qualified name, code fingerprint, call
site, line, ADDRESS label, names of the saved value-stack items) and under which Python. A snapshot is
checked against the loaded code from the header alone, before a single byte is unpickled.
The payload holds the saved values of every frame and the caller's attachment in one pickle,
so objects shared between them stay shared.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from . import pickling
from .errors import SnapshotMismatchError
from .records import FrameState

MAGIC = b"AGF1"
#: Hidden locals named in the header: the value-stack items a resume must rebuild.
HIDDEN_PREFIX = "__ag_"
_LENGTH = struct.Struct(">I")


def encode(states: list[FrameState], python: tuple[int, int], attachment: Any) -> bytes:
    """Serialize frames (outermost first) and an attachment."""
    header = json.dumps(
        [list(python), [_frame_header(state) for state in states]], separators=(",", ":")
    ).encode()
    payload = pickling.dumps((tuple(state.values for state in states), attachment))
    return MAGIC + _LENGTH.pack(len(header)) + header + payload


def _frame_header(state: FrameState) -> list:
    hidden = sorted(name for name in state.values if name.startswith(HIDDEN_PREFIX))
    return [state.module, state.qualname, state.fingerprint, state.site, state.lineno,
            state.label, hidden]


def read(blob: bytes) -> tuple[list[FrameState], memoryview]:
    """The frames a snapshot holds, without their values (nothing is unpickled yet), and
    the payload still to unpickle with `read_payload`."""
    if not isinstance(blob, (bytes, bytearray)) or blob[:4] != MAGIC:
        raise SnapshotMismatchError(
            "not a snapshot: it does not start with the engine's format marker",
            reason="unknown snapshot format",
        )
    (length,) = _LENGTH.unpack_from(blob, 4)
    start = 4 + _LENGTH.size
    view = memoryview(blob)
    try:
        python, frames = json.loads(bytes(view[start : start + length]))
        states = [
            FrameState(module, qualname, fingerprint, tuple(python), site, lineno, label, None,
                       tuple(hidden))
            for module, qualname, fingerprint, site, lineno, label, hidden in frames
        ]
    except (ValueError, TypeError) as exc:
        raise SnapshotMismatchError("the snapshot header is damaged", reason="bad header") from exc
    return states, view[start + length :]


def read_payload(payload: memoryview) -> tuple[tuple[dict, ...], Any]:
    """The saved values of each frame and the attachment (this unpickles)."""
    return pickling.loads(payload)

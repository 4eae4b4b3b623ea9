"""Snapshot payloads written as two pickles in one stream (the frames' values, then the
attachment, sharing one memo; module-level objects as persistent ids), rewritten as the one
pickle of ``(values, attachment)`` that `pickling.load_snapshot` reads -- without unpickling
anything: the opcodes are only parsed (`pickletools.genops`) and re-emitted.

A persistent id ``BINPERSID`` (the tuple ``(module, name)`` on the stack) becomes a call of
`module_objects.resolve` on it: its global is inserted where that tuple's opcodes begin and
``BINPERSID`` becomes ``REDUCE``. Memo indices do not change (nothing new is memoized); the
optional ``FRAME`` opcodes are dropped.
"""

from __future__ import annotations

import io
import pickle
import pickletools

from . import wire
from .errors import SnapshotMismatchError

_RESOLVE = b"cautograms._frames.module_objects\nresolve\n"


def is_two_pickles(snapshot: bytes) -> bool:
    """Whether `snapshot`'s payload is the two-pickle layout (nothing is unpickled)."""
    return len(_pickles(snapshot)) == 2


def as_one_pickle(snapshot: bytes) -> bytes:
    """`snapshot` with a two-pickle payload rewritten as one pickle; any other snapshot as it
    is. Raises SnapshotMismatchError for a payload that is neither."""
    pickles = _pickles(snapshot)
    if len(pickles) == 1:
        return snapshot
    if len(pickles) != 2:
        raise SnapshotMismatchError(
            f"the snapshot's payload holds {len(pickles)} pickles, not one or two",
            reason="damaged",
        )
    first, second = pickles
    body = b"".join(_body(ops) for ops in (first, second))
    protocol = first[0][1] if first[0][0].name == "PROTO" else pickle.DEFAULT_PROTOCOL
    merged = bytes([pickle.PROTO[0], protocol]) + body + pickle.TUPLE2 + pickle.STOP
    return wire.with_payload(snapshot, merged)


_Op = tuple[pickletools.OpcodeInfo, object, bytes]


def _pickles(snapshot: bytes) -> list[list[_Op]]:
    """The opcodes of each pickle of the payload, with their bytes."""
    wire.check_payload(snapshot)
    payload = bytes(wire.split(snapshot)[1])
    stream = io.BytesIO(payload)
    pickles = []
    try:
        while stream.tell() < len(payload) and len(pickles) < 3:
            listed = list(pickletools.genops(stream))
            ends = [pos for _, _, pos in listed[1:]] + [stream.tell()]
            pickles.append(
                [
                    (op, arg, payload[pos:end])
                    for (op, arg, pos), end in zip(listed, ends, strict=True)
                ]
            )
    except ValueError as exc:
        raise SnapshotMismatchError(
            f"the snapshot's saved values cannot be read: {exc}", reason="damaged"
        ) from exc
    return pickles


def _body(ops: list[_Op]) -> bytes:
    """The opcodes of one pickle without PROTO, FRAME and STOP, persistent ids resolved."""
    starts: list[tuple[int, bool]] = []  # each stack item: (index of its first opcode, is mark)
    inserts: set[int] = set()
    for index, (op, _, _) in enumerate(ops):
        if op.name == "PERSID":
            raise SnapshotMismatchError(
                "the snapshot's payload uses a text persistent id", reason="damaged"
            )
        if op.name == "BINPERSID":
            inserts.add(starts[-1][0])
        start = _pop(starts, op, index)
        for pushed in op.stack_after:
            starts.append((start, pushed is pickletools.markobject))
    out = []
    for index, (op, _, raw) in enumerate(ops):
        if index in inserts:
            out.append(_RESOLVE)
        if op.name in ("PROTO", "FRAME", "STOP"):
            continue
        out.append(pickle.REDUCE if op.name == "BINPERSID" else raw)
    return b"".join(out)


def _pop(starts: list[tuple[int, bool]], op: pickletools.OpcodeInfo, index: int) -> int:
    """Pop what `op` takes from the stack; where the first of them began (else `index`)."""
    before = op.stack_before
    popped: list[tuple[int, bool]] = []
    if pickletools.markobject in before:
        while starts and not starts[-1][1]:
            popped.append(starts.pop())
        if starts:
            popped.append(starts.pop())  # the mark
        count = before.index(pickletools.markobject)
    else:
        count = len(before)
    for _ in range(count):
        if starts:
            popped.append(starts.pop())
    return min((start for start, _ in popped), default=index)

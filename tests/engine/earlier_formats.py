"""Snapshots rewritten as earlier releases wrote them, to test that they are still read."""

from __future__ import annotations

import struct
import zlib

from autograms._frames import pickling, wire


def values_by_name(snapshot: bytes, header: bytes | None = None) -> bytes:
    """`snapshot` as written before its frames' values were tuples (b"AGF3"): each frame's
    values a dict by name, under `header` if given (else its own)."""
    states, payload = wire.read(snapshot)
    values, attachment = wire.read_payload(payload, states)
    own_header, _ = wire.split(snapshot)
    header = own_header if header is None else header
    pickled = pickling.dumps((values, attachment))
    prefix = struct.pack(
        ">4sIII", wire.MAGIC_VALUES_BY_NAME, len(header), zlib.crc32(header), zlib.crc32(pickled)
    )
    return prefix + header + pickled

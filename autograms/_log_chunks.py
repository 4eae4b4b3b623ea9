"""One chunk of a session's log as the session text carries it.

A chunk is the bytes of the entries one save added (``autograms._log`` makes them); in the
text it is ASCII without ``.`` or ``,`` (which separate a session's parts and a log's chunks):

* ``~<base64>`` (session format 7 on): the bytes compressed as a raw deflate stream with a
  preset dictionary of the log's own vocabulary (`DICTIONARY`: the keys and fixed values of
  the entries' JSON), then unpadded base64. Each chunk is compressed alone, so appending one
  never recompresses the others, and a chunk is decompressed only when the log is read. A
  turn's chunk (two entries, ~580 bytes of JSON) takes ~280 characters instead of ~770, and
  the text that a carried log makes every turn copy is a third of what it was;
* ``<base64>`` (formats 1 to 6): the bytes themselves in unpadded base64. Such chunks stay as
  they are in a log that later saves append to.

The dictionary is part of the format: changing it would misread every saved chunk (a new one
needs a new marker).
"""

from __future__ import annotations

import binascii
import zlib

from ._errors import SessionFormatError

#: the marker of a compressed chunk (not a base64 character, nor "." or ",")
COMPRESSED = "~"

#: the preset dictionary: the entries' keys and fixed values, most frequent last (deflate
#: reaches the end of its window most cheaply)
DICTIONARY = (
    b'"input_chars":,"temperature":0,"max_tokens":,"schema":"decision","choices":["Yes","No"]},'
    b'"code_position":{"line_number":,"function_name":"","file_name":"'
    b'"usage_log":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,'
    b'"prompt_tokens_details":{"cached_tokens":0},"model":"gpt-4o-mini"},'
    b'"supervisor_info":null,"timestamp":"2026-01-01 00:00:00.000","kind":"chat",'
    b'"model":"","endpoint":"https://api.openai.com/v1","prompt_tokens":0,'
    b'"completion_tokens":0,"cached_tokens":0,"usage_estimated":false,"latency":0.000,'
    b'"attempts":1,"output_mode":"json_schema","finish_reason":"stop"},'
    b'{"entry_type":"model","function_name":"","output":"","function_inputs":'
    b'{"role":"chatbot","messages":,'
    b'{"entry_type":"node","node":"","timestamp":"2026-01-01 00:00:00.000"},'
    b'","last_node":null,"function_name":"chatbot","line_number":1,"address":null,'
    b'"timestamp":"2026-01-01 00:00:00.000"},'
    b'[{"entry_type":"user_reply","user_reply":"","timestamp":"2026-01-01 00:00:00.000"},'
    b'{"entry_type":"agent_reply","reply":"'
)

#: deflate's window (2 KiB: a chunk is one save's entries) and memory level: small, so that
#: starting a compressor costs little; a chunk gains nothing from larger ones
_WINDOW_BITS = -11
_MEMORY_LEVEL = 4
#: deflate's level: 3 writes a turn's chunk in ~15 % fewer instructions than the default 6
#: (callgrind, issue 11) for ~1 % more bytes; any level reads back the same (the reader does
#: not depend on it)
_LEVEL = 3
#: a compressor primed with the dictionary, copied for each chunk
_PRIMED = zlib.compressobj(
    _LEVEL, zlib.DEFLATED, _WINDOW_BITS, _MEMORY_LEVEL, zlib.Z_DEFAULT_STRATEGY, DICTIONARY
)


def to_text(data: bytes) -> str:
    """A chunk's bytes as the session text carries them (compressed)."""
    compressor = _PRIMED.copy()
    packed = compressor.compress(data) + compressor.flush()
    return COMPRESSED + binascii.b2a_base64(packed, newline=False).rstrip(b"=").decode()


def from_text(chunk: str) -> bytes:
    """The bytes of a chunk as `to_text` (or an earlier format) wrote it."""
    compressed = chunk.startswith(COMPRESSED)
    text = chunk[1:] if compressed else chunk
    try:
        data = binascii.a2b_base64(text + "=" * (-len(text) % 4), strict_mode=True)
        if not compressed:
            return data
        decompressor = zlib.decompressobj(_WINDOW_BITS, DICTIONARY)
        data = decompressor.decompress(data) + decompressor.flush()
    except (binascii.Error, ValueError, zlib.error) as exc:
        raise _damaged() from exc
    if not decompressor.eof or decompressor.unused_data:
        raise _damaged()
    return data


def _damaged() -> SessionFormatError:
    return SessionFormatError("the session's log is damaged", reason="damaged")

"""The log's chunks in the session text (format 7): compressed alone with a preset dictionary,
read back exactly, refused when damaged; chunks of earlier formats read as they are."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import pytest

from autograms import SessionFormatError, _log, _log_chunks, session
from tests.sessions.make_session_data import _autogram

DATA = Path(__file__).parent / "data" / "0.6.1-format6b"


def random_bytes(rng: random.Random) -> bytes:
    """Bytes like a chunk's JSON, or anything (a chunk's bytes are not only JSON)."""
    if rng.random() < 0.3:
        return rng.randbytes(rng.randrange(0, 3000))
    entries = [
        {
            "entry_type": rng.choice(["user_reply", "agent_reply", "node", "model"]),
            "text": "".join(rng.choice(string.printable + "é😀") for _ in range(rng.randrange(80))),
            "n": rng.randrange(-(10**12), 10**12),
        }
        for _ in range(rng.randrange(0, 6))
    ]
    return json.dumps(entries).encode()


@pytest.mark.parametrize("seed", range(4))
def test_random_chunks_come_back_exactly_and_stay_one_part_of_the_text(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(50):
        data = random_bytes(rng)
        text = _log_chunks.to_text(data)
        assert text.startswith(_log_chunks.COMPRESSED) and text.isascii()
        assert "." not in text and "," not in text and not any(c.isspace() for c in text)
        assert _log_chunks.from_text(text) == data


def test_a_turns_chunk_takes_a_third_of_its_base64() -> None:
    entries = [
        _log.user_reply_entry("I have five years of Python, mostly data pipelines"),
        _log.agent_reply_entry(
            "Great. What kind of team do you like to work in?",
            last_node=None,
            function="chatbot",
            line=41,
        ),
    ]
    plain = json.dumps(entries, separators=(",", ":")).encode()
    assert len(_log.encode_chunk(entries)) * 2.5 < len(session._b64(plain))


@pytest.mark.parametrize("at", [1, 5, -3, -1])
def test_a_damaged_compressed_chunk_is_refused_when_the_log_is_read(at: int) -> None:
    chunk = _log_chunks.to_text(b'[{"entry_type":"node","node":"ask","timestamp":"x"}]')
    damaged = chunk[:at] + ("A" if chunk[at] != "A" else "B") + chunk[at + 1 :]
    encoded = _log.EncodedLog((damaged,), 1, None)
    with pytest.raises(SessionFormatError) as caught:
        _log.decode(encoded)
    assert caught.value.reason == "damaged"


def test_a_format_6_log_keeps_its_chunks_and_appends_compressed_ones() -> None:
    manifest = json.loads((DATA / f"py{_python()}" / "manifest.json").read_text())
    entry = next(e for e in manifest["sessions"] if not e["signed"])
    text = (DATA / f"py{_python()}" / entry["files"]["serialized_with_log"]).read_text()
    autogram = _autogram(entry["example"], entry["seed"], entry["signed"])
    memory = autogram.deserialize(text)
    before = list(memory.memory_dict["model_turns"])
    old_chunks = session.decode(text, key=None).log.text.split(",")
    autogram.reply(entry["next"], memory_object=memory)
    after = list(memory.memory_dict["model_turns"])
    saved = autogram.serialize(memory)
    chunks = session.decode(saved, key=None).log.text.split(",")
    assert chunks[: len(old_chunks)] == old_chunks
    assert all(chunk.startswith("~") for chunk in chunks[len(old_chunks) :])
    assert len(chunks) > len(old_chunks) and after[: len(before)] == before
    assert list(autogram.deserialize(saved).memory_dict["model_turns"]) == after


def _python() -> str:
    import sys

    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def test_a_chunk_s_json_is_what_the_json_encoder_writes() -> None:
    # `_log._json_of_chunk` is the encoder's C encoder made once (no cycle check: stored
    # entries have no cycles); its text must be the encoder's, float and escapes included
    rng = random.Random(7)
    for _ in range(300):
        entries = [
            {
                "entry_type": rng.choice(["user_reply", "model", "é😀\u2028\x00"]),
                "text": "".join(rng.choice(string.printable + "é😀\ud800") for _ in range(40)),
                "n": rng.randrange(-(10**15), 10**15),
                "x": rng.choice([rng.random() * 10 ** rng.randrange(-30, 30), 0.1, -0.0, 1e300]),
                "nested": {"list": [None, True, False, [], {}], "s": 'a"b\\c'},
            }
            for _ in range(rng.randrange(0, 4))
        ]
        stored = [_log.to_stored(entry) for entry in entries]
        assert _log._json_of_chunk(stored) == _log._CHUNK_ENCODER.encode(stored)
    with pytest.raises(TypeError, match="not JSON serializable"):
        _log._json_of_chunk([{"value": object()}])

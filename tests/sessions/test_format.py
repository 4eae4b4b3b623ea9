"""The session format: a session names its program, survives an editor's newline, and every
earlier format is migrated (its log included)."""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

import pytest

from autograms import Autogram, AutogramConfig, SessionCodeError, session
from tests.dialog.bots import failing_bot, simple_example
from tests.sessions.make_session_data import _autogram

DATA = Path(__file__).parent / "data" / "0.1.0" / f"py{sys.version_info[0]}.{sys.version_info[1]}"


class Keepsake:
    """A value in a session whose class is removed before the session is loaded."""


def bot(program, key: str | None = None) -> Autogram:
    return Autogram(
        root_function=program.chatbot,
        autogram_config=AutogramConfig(session_key=key),
        test_mode=True,
        seed=2,
    )


@pytest.mark.parametrize("key", [None, "k3y"])
def test_a_session_is_refused_by_another_program_before_anything_is_unpickled(
    key: str | None, monkeypatch, tmp_path: Path
) -> None:
    first = bot(failing_bot, key)
    _, memory = first.reply()
    memory.memory_dict["keepsake"] = Keepsake()  # unpickling it would fail once it is gone
    text = first.serialize(memory)
    first.save(tmp_path / "session", memory)
    monkeypatch.delattr(sys.modules[__name__], "Keepsake")
    other = bot(simple_example, key)
    for load in (lambda: other.deserialize(text), lambda: other.load(tmp_path / "session")):
        with pytest.raises(SessionCodeError, match="belongs to the program") as caught:
            load()
        assert caught.value.reason == "other program"
        assert "tests.dialog.bots.failing_bot:chatbot" in str(caught.value)


def test_an_idle_session_names_its_program_too() -> None:
    first = bot(failing_bot)
    memory = first.init_memory()
    with pytest.raises(SessionCodeError, match="belongs to the program"):
        bot(simple_example).deserialize(first.serialize(memory))


@pytest.mark.parametrize("key", [None, "k3y"])
@pytest.mark.parametrize("trailer", ["\n", "\n\n", "  \r\n", "\t "])
def test_whitespace_around_a_session_is_ignored_signed_or_not(key, trailer, tmp_path) -> None:
    program = bot(failing_bot, key)
    _, memory = program.reply()
    text = program.serialize(memory)
    assert program.reply("x", memory_object=program.deserialize(text + trailer))[0] == "count 1"
    program.save(tmp_path / "session", memory)
    with open(tmp_path / "session", "a") as stream:  # `echo >> session`
        stream.write(trailer)
    assert program.reply("x", memory_object=program.load(tmp_path / "session"))[0] == "count 1"


def _format_1_entries() -> list[tuple[str, dict]]:
    manifest = json.loads((DATA / "manifest.json").read_text())
    return [(entry["files"]["serialized_with_log"], entry) for entry in manifest["sessions"]]


@pytest.mark.parametrize(
    "name, entry", _format_1_entries(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_a_format_1_session_keeps_its_log_and_is_written_in_this_format(name, entry) -> None:
    autogram = _autogram(entry["example"], entry["seed"], entry["signed"])
    text = (DATA / name).read_text()
    assert json.loads(session._unb64(text.split(".")[1]))["format"] == 1
    memory = autogram.deserialize(text)
    users = [e["user_reply"] for e in memory.model_turns if e["entry_type"] == "user_reply"]
    assert users == entry["messages"]
    _, memory = autogram.reply(entry["next"], memory_object=memory)
    again = autogram.deserialize(autogram.serialize(memory))
    assert (
        json.loads(session._unb64(autogram.serialize(memory).split(".")[1]))["format"]
        == session.FORMAT
    )
    users = [e["user_reply"] for e in again.model_turns if e["entry_type"] == "user_reply"]
    assert users == [*entry["messages"], entry["next"]]
    history = again.extract_full_conv_history()
    assert [turn["content"] for turn in history if turn["role"] == "user"] == users


def test_a_format_1_session_is_refused_by_another_program() -> None:
    manifest = json.loads((DATA / "manifest.json").read_text())
    entry = next(e for e in manifest["sessions"] if e["example"] == "recruiter" and not e["signed"])
    text = (DATA / entry["files"]["serialized"]).read_text()
    with pytest.raises(SessionCodeError, match="belongs to the program") as caught:
        bot(failing_bot).deserialize(text)
    assert caught.value.reason == "other program"


@pytest.mark.parametrize(
    "program", [None, "bots:chatbot", 'odd "name" \\ é:a.<locals>.b', "\u2028bot:x"]
)
@pytest.mark.parametrize(
    "log",
    [
        None,
        {"entries": 0, "digest": ""},
        {"entries": 12, "digest": "ab" * 32},
        {"entries": 3, "digest": None},
        {"entries": 3, "digest": 'not "hex"'},
        {"entries": 4, "bytes": 90, "file": True},
        {"entries": 4, "bytes": 90, "file": True, "digest": "cd" * 32},
        {"entries": 4, "bytes": 90, "file": True, "crc": 123, "digest": "cd" * 32},
    ],
)
@pytest.mark.parametrize("signed", [False, True])
def test_a_header_is_written_as_the_json_encoder_writes_it(program, log, signed) -> None:
    # the header's changing fields are formatted without the encoder (`_header_json`), its
    # CRC-32 right after the fields it covers
    header = session._header(program, signed, log, "a window", None)
    written = json.loads(session._header_json(header))
    assert session._header_json(header) == session._ENCODER.encode(written)
    sealed = {name: header[name] for name in session._SEALED_FIELDS}
    crc = zlib.crc32(session._ENCODER.encode(sealed)[:-1].encode())
    assert written == {**sealed, "header_crc": crc, **header}
    assert list(written) == [*session._SEALED_FIELDS, "header_crc", *list(header)[5:]]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("key", [None, "k3y"])
def test_a_damaged_header_is_refused_as_damaged_never_as_another_programs(seed, key) -> None:
    """Random one-character changes of the part of a session's header its CRC-32 covers (who
    wrote it, which program it belongs to): each is refused as damaged (SessionFormatError),
    or changes no byte of the header (base64's unused bits)."""
    import random

    from autograms import SessionFormatError

    autogram = bot(simple_example, key)
    _, memory = autogram.reply()
    text = autogram.serialize(memory)
    start = len(session.MAGIC) + 1
    end = text.index(".", start)
    sealed = session._unb64(text[start:end]).index(b',"header_crc":')
    covered = [i for i in range(end - start) if (6 * i + 5) // 8 < sealed]
    rng = random.Random(seed)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    for _ in range(40):
        index = start + rng.choice(covered)
        char = rng.choice(alphabet.replace(text[index], ""))
        damaged = text[:index] + char + text[index + 1 :]
        where = f"seed {seed}: {text[index]!r} -> {char!r} at {index - start} of the header"
        try:
            loaded = autogram.deserialize(damaged)
        except SessionFormatError:
            continue
        assert session._unb64(damaged[start:end]) == session._unb64(text[start:end]), where
        assert autogram.reply("more", memory_object=loaded)[1] is not None, where

"""Sessions: transactional turns, the versioned envelope and its refusals, signing, atomic
saves and the model-call log kept apart from the state."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import textwrap
from autograms._record import replace
from pathlib import Path

import pytest

from autograms import _frames, session
from autograms import (
    Autogram,
    AutogramConfig,
    SessionCodeError,
    SessionFormatError,
    SessionSignatureError,
)
from autograms._frames import wire
from tests.dialog.bots import failing_bot, simple_example

ROOT = Path(__file__).resolve().parents[2]


def autogram(bot=failing_bot, **config) -> Autogram:
    return Autogram(
        root_function=bot.chatbot, autogram_config=AutogramConfig(**config), test_mode=True, seed=1
    )


def test_failed_turn_raises_and_leaves_the_memory_as_it_was() -> None:
    bot = autogram()
    _, memory = bot.reply()
    _, memory = bot.reply("one", memory_object=memory)
    before = bot.serialize(memory, include_log=True)
    with pytest.raises(ValueError, match="the bot failed"):
        bot.reply("boom", memory_object=memory)
    assert bot.serialize(memory, include_log=True) == before
    text, memory = bot.reply("two", memory_object=memory)
    assert text == "count 2"


def test_serialized_session_resumes_in_a_new_memory() -> None:
    bot = autogram()
    _, memory = bot.reply()
    restored = bot.deserialize(bot.serialize(memory))
    assert restored is not memory and restored.is_paused
    assert bot.reply("x", memory_object=restored)[0] == "count 1"


def _parts(text: str) -> list[str]:
    return text.split(".")


def _rewrite_header(text: str, change) -> str:
    """`text` with its header changed by `change`, its CRC-32 written again as a release
    writing it would."""
    parts = _parts(text)
    header = json.loads(base64.b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    del header["header_crc"]
    change(header)
    parts[1] = base64.b64encode(session._header_json(header).encode()).rstrip(b"=").decode()
    return ".".join(parts)


def test_envelope_of_a_newer_format_is_refused_with_the_upgrade_named() -> None:
    bot = autogram()
    text = bot.serialize(bot.reply()[1])
    newer = _rewrite_header(text, lambda h: h.update(format=99, library="9.9.0"))
    with pytest.raises(SessionFormatError, match="written by autograms 9.9.0") as caught:
        bot.deserialize(newer)
    assert caught.value.reason == "newer format"
    assert "upgrade autograms" in str(caught.value)
    with pytest.raises(SessionFormatError, match="not an autograms session"):
        bot.deserialize("gibberish")


def test_a_session_of_another_release_in_this_format_loads() -> None:
    bot = autogram()
    _, memory = bot.reply()
    text = _rewrite_header(bot.serialize(memory), lambda h: h.update(library="0.0.1"))
    assert (
        bot.reply("hi", memory_object=bot.deserialize(text))[0]
        == bot.reply("hi", memory_object=memory)[0]
    )


def test_each_paused_frame_is_named_once_in_the_readable_part_of_a_session() -> None:
    bot = autogram()
    text = bot.serialize(bot.reply()[1])
    header_part = base64.b64decode(_parts(text)[1] + "=" * (-len(_parts(text)[1]) % 4))
    state_part = bytes.fromhex(_parts(text)[2])
    frames, _ = wire.read(state_part)
    fingerprint = frames[0].fingerprint.encode()
    assert (header_part + state_part).count(fingerprint) == 1
    assert set(json.loads(header_part)) == {
        "format",
        "library",
        "python",
        "program",
        "signed",
        "log",
        "window",
        "window_crc",
        "header_crc",
    }


def test_a_damaged_unsigned_session_is_refused_when_read(tmp_path: Path) -> None:
    bot = autogram()
    _, memory = bot.reply()
    text = bot.serialize(memory)
    parts = _parts(text)
    state = bytearray.fromhex(parts[2])
    state[-5] ^= 1
    parts[2] = state.hex()
    with pytest.raises(SessionFormatError, match="truncated or damaged") as caught:
        bot.deserialize(".".join(parts))
    assert caught.value.reason == "damaged"
    bot.save(tmp_path / "s.txt", memory)
    (tmp_path / "s.txt").write_text(text[: len(text) // 2])
    with pytest.raises(SessionFormatError):
        bot.load(tmp_path / "s.txt")
    assert bot.reply("x", memory_object=bot.deserialize(text))[0] == "count 1"


class Souvenir:
    """A value kept in a paused bot's locals, its class later removed from the code."""


def test_a_saved_value_whose_class_is_gone_is_named_and_the_session_kept(monkeypatch) -> None:
    bot = autogram()
    _, memory = bot.reply()
    memory.memory_dict["keepsake"] = Souvenir()  # saved with the session, like any value
    text = bot.serialize(memory)
    monkeypatch.delattr(sys.modules[__name__], "Souvenir")
    restored = bot.deserialize(text)  # the frames match the code: accepted
    with pytest.raises(SessionCodeError, match="cannot be read: AttributeError.*Souvenir"):
        bot.reply("x", memory_object=restored)
    assert restored.is_paused
    monkeypatch.undo()
    assert bot.reply("x", memory_object=restored)[0] == "count 1"


def test_signed_sessions_refuse_tampering_and_unsigned_blobs(monkeypatch) -> None:
    signed = autogram(session_key="s3cret")
    text = signed.serialize(signed.reply()[1])
    assert signed.reply("x", memory_object=signed.deserialize(text))[0] == "count 1"
    parts = _parts(text)
    payload = bytearray.fromhex(parts[2])
    payload[-5] ^= 1
    parts[2] = payload.hex()
    with pytest.raises(SessionSignatureError, match="does not match"):
        signed.deserialize(".".join(parts))
    unsigned = autogram()
    with pytest.raises(SessionSignatureError, match="not signed"):
        signed.deserialize(unsigned.serialize(unsigned.reply()[1]))
    with pytest.raises(SessionSignatureError, match="does not match"):
        autogram(session_key="other").deserialize(text)
    monkeypatch.setenv("AUTOGRAMS_SESSION_KEY", "from-env")
    from_env = autogram()
    assert _parts(from_env.serialize(from_env.reply()[1]))[-1] != ""


def test_a_session_key_changed_on_the_autograms_config_signs_its_next_save(monkeypatch) -> None:
    monkeypatch.delenv("AUTOGRAMS_SESSION_KEY", raising=False)
    bot = autogram()
    _, memory = bot.reply()
    assert _parts(bot.serialize(memory))[-1] == ""
    bot.config.session_key = "set-in-place"
    signed = bot.serialize(memory)
    assert _parts(signed)[-1] != ""
    with pytest.raises(SessionSignatureError, match="does not match"):
        autogram(session_key="other").deserialize(signed)
    bot.config = AutogramConfig(session_key="replaced")
    assert _parts(bot.serialize(memory))[-1] != _parts(signed)[-1]
    bot.config.session_key = None
    assert _parts(bot.serialize(memory))[-1] == ""


def test_session_from_another_python_is_refused_without_labels() -> None:
    bot = autogram()
    _, memory = bot.reply()
    loaded = _frames.load(memory.checkpoint().snapshot)
    states = [replace(frame.state, values=frame.values) for frame in loaded.frames]
    snapshot = wire.encode(states, (3, 99), loaded.attachment)
    text = session.encode(snapshot, key=None, program=session.program_name(failing_bot.chatbot))
    with pytest.raises(SessionCodeError, match="no ADDRESS label"):
        bot.deserialize(text)


def test_state_size_and_save_do_not_grow_with_model_calls(tmp_path: Path) -> None:
    bot = autogram(simple_example)
    _, memory = bot.reply()
    sizes = []
    for turn in range(30):
        _, memory = bot.reply(f"message {turn % 3}", memory_object=memory)
        bot.save(tmp_path / "session.txt", memory)
        sizes.append(len(bot.serialize(memory, include_log=False)))
    assert len(memory.model_turns) > 60
    # the state grows with the conversation's messages, not with the model-call log
    with_log = bot.serialize(memory, include_log=True)
    assert len(with_log) > sizes[-1] + 10 * len(memory.model_turns)  # compressed chunks
    assert bot.deserialize(with_log).model_turns == memory.model_turns
    log_lines = (tmp_path / "session.txt.log").read_text().splitlines()
    assert len(log_lines) == len(memory.model_turns)
    loaded = bot.load(tmp_path / "session.txt")
    assert loaded.model_turns == json.loads(json.dumps(memory.model_turns, default=repr))
    # load_log=False is accepted and changes nothing: the log is read when first read anyway,
    # and a memory holding none would drop the file's log at its next save
    assert bot.load(tmp_path / "session.txt", load_log=False).model_turns == loaded.model_turns


_SAVER = textwrap.dedent(
    """
    import sys, time
    from autograms import Autogram
    from autograms import session
    from tests.dialog.bots import failing_bot
    bot = Autogram(root_function=failing_bot.chatbot, test_mode=True)
    _, memory = bot.reply()
    bot.save(sys.argv[1], memory)
    print("saved", flush=True)
    original = session.os.fsync
    def slow_fsync(fd):
        print("writing", flush=True)
        time.sleep(30)
        original(fd)
    session.os.fsync = slow_fsync
    _, memory = bot.reply("next", memory_object=memory)
    bot.save(sys.argv[1], memory)
    """
)


def test_a_save_killed_halfway_leaves_the_previous_session(tmp_path: Path) -> None:
    path = tmp_path / "session.txt"
    process = subprocess.Popen(
        [sys.executable, "-c", _SAVER, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "saved"
    assert process.stdout.readline().strip() == "writing"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    bot = Autogram(root_function=failing_bot.chatbot, test_mode=True)
    memory = bot.load(path)
    assert bot.reply("resumed", memory_object=memory)[0] == "count 1"
    leftovers = [name for name in os.listdir(tmp_path) if name.startswith(".session-")]
    assert len(leftovers) <= 1  # the dead process's temporary file, never the session itself


def test_code_edit_resumes_at_a_label_and_refuses_without(tmp_path: Path) -> None:
    bot_file = tmp_path / "edited_bot.py"
    source = textwrap.dedent(
        """
        from autograms import autograms_function
        from autograms.functional import reply

        @autograms_function()
        def chatbot():
            name = reply("name?", ADDRESS="name")
            colour = reply("colour?")
            return reply(f"{name} likes {colour}")
        """
    )
    step = textwrap.dedent(
        """
        import sys
        from autograms import Autogram, load_autogram
        chatbot, _ = load_autogram(sys.argv[1])
        bot = Autogram(root_function=chatbot, test_mode=True)
        try:
            memory = bot.load(sys.argv[2]) if sys.argv[3] != "-" else None
            text, memory = bot.reply("" if sys.argv[3] == "-" else sys.argv[3], memory_object=memory)
        except Exception as exc:
            print(type(exc).__name__, exc)
        else:
            bot.save(sys.argv[2], memory)
            print(text)
        """
    )

    def turn(text: str, message: str) -> str:
        bot_file.write_text(text)
        result = subprocess.run(
            [sys.executable, "-c", step, str(bot_file), str(tmp_path / "s"), message],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert turn(source, "-") == "name?"
    edited = source.replace('"colour?"', '"favourite colour?"')
    assert turn(edited, "Ada") == "favourite colour?"
    assert turn(edited.replace("likes", "loves"), "red").startswith("SessionCodeError")


def test_each_saved_file_has_the_whole_log_of_its_session(tmp_path: Path) -> None:
    bot = autogram()
    first, second = tmp_path / "a", tmp_path / "b"

    def users(path: Path) -> list[str]:
        return [
            e["user_reply"] for e in bot.load(path).model_turns if e["entry_type"] == "user_reply"
        ]

    _, memory = bot.reply()
    _, memory = bot.reply("ada", memory_object=memory)
    bot.save(first, memory)
    _, memory = bot.reply("one", memory_object=memory)
    bot.save(second, memory)
    _, memory = bot.reply("two", memory_object=memory)
    bot.save(first, memory)
    assert users(first) == ["", "ada", "one", "two"]
    assert users(second) == ["", "ada", "one"]
    _, fresh = bot.reply()
    _, fresh = bot.reply("zed", memory_object=fresh)
    bot.save(first, fresh)  # a new session replacing the file starts its log anew
    assert users(first) == ["", "zed"]


def test_a_moved_bot_file_still_resumes_its_sessions(tmp_path: Path) -> None:
    bot_source = textwrap.dedent(
        """
        from autograms import autograms_function
        from autograms.functional import reply

        @autograms_function()
        def chatbot():
            return reply(f"echo {reply('first?')}")
        """
    )
    step = textwrap.dedent(
        """
        import sys
        from autograms import Autogram, load_autogram
        chatbot, _ = load_autogram(sys.argv[1])
        bot = Autogram(root_function=chatbot, test_mode=True)
        memory = bot.load(sys.argv[2]) if sys.argv[3] != "-" else None
        text, memory = bot.reply("" if sys.argv[3] == "-" else sys.argv[3], memory_object=memory)
        bot.save(sys.argv[2], memory)
        print(text)
        """
    )
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "movable_bot.py").write_text(bot_source)
    outputs = []
    for folder, message in (("one", "-"), ("two", "hello")):
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                step,
                str(tmp_path / folder / "movable_bot.py"),
                str(tmp_path / "session"),
                message,
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout.strip())
    assert outputs == ["first?", "echo hello"]

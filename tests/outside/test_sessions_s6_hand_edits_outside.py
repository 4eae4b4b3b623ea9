"""Session 6, breaker 10: sessions (format 7) edited by hand.

README, Sessions: "A checksum refuses a truncated or damaged session (SessionFormatError)".
"""

import pytest

from autograms import Autogram
from tests.outside.s6b10_support import _import, write_bot

BOT = """
    from autograms import autograms_function
    from autograms.functional import reply

    @autograms_function()
    def chatbot():
        first = reply("name?")
        second = reply("again?")
        reply(f"{first}|{second}")
"""


def _session(tmp_path, source=BOT, name=None):
    name = write_bot(tmp_path, source, name=name)
    mod = _import(tmp_path, name)
    ag = Autogram(root_function=mod.chatbot, test_mode=True)
    _, m = ag.reply()
    _, m = ag.reply("hello", memory_object=m)
    return ag, m, name


def _edit_state(text, old, new):
    """Replace bytes in the hex-encoded state part of a serialized session (same length)."""
    parts = text.split(".")
    for i, part in enumerate(parts):
        try:
            raw = bytes.fromhex(part)
        except ValueError:
            continue
        if old in raw:
            assert len(old) == len(new)
            parts[i] = raw.replace(old, new, 1).hex()
            return ".".join(parts)
    raise AssertionError(f"{old!r} not found in the state")


def _outcome(ag, text):
    try:
        m = ag.deserialize(text)
        out, _ = ag.reply("abc", memory_object=m)
    except Exception as exc:  # noqa: BLE001 - reported to the test
        return type(exc).__name__
    return out


def test_unedited_session_resumes(tmp_path):
    ag, m, _ = _session(tmp_path)
    assert _outcome(ag, ag.serialize(m)) == "hello|abc"


def test_edited_saved_value_is_refused_as_damaged(tmp_path):
    ag, m, _ = _session(tmp_path)
    assert _outcome(ag, _edit_state(ag.serialize(m), b"hello", b"jello")) == "SessionFormatError"


def test_one_digit_edit_of_paused_site_is_refused_as_damaged(tmp_path):
    ag, m, _ = _session(tmp_path)
    text = ag.serialize(m)
    parts = text.split(".")
    raw = next(bytes.fromhex(p) for p in parts if b'"chatbot","' in _maybe_hex(p))
    start = raw.index(b'"chatbot","') + len(b'"chatbot","') + 32  # past the fingerprint
    assert raw[start : start + 3] == b'",1', raw[:200]
    edited = _edit_state(text, raw[start - 40 : start + 3], raw[start - 40 : start + 2] + b"2")
    # plain Python: the program is paused at `second = reply(...)`; "abc" gives "hello|abc"
    assert _outcome(ag, edited) in ("hello|abc", "SessionFormatError")


def _maybe_hex(part):
    try:
        return bytes.fromhex(part)
    except ValueError:
        return b""


def test_edited_module_name_in_header_is_refused_as_damaged_without_importing(tmp_path):
    ag, m, name = _session(tmp_path, name="b10hdr_a")
    (tmp_path / "b10hdr_b.py").write_text(
        f"open({str(tmp_path / 'imported.marker')!r}, 'w').close()\nfrom b10hdr_a import chatbot\n"
    )
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        outcome = _outcome(ag, _edit_state(ag.serialize(m), b'"b10hdr_a"', b'"b10hdr_b"'))
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("b10hdr_b", None)
    assert not (tmp_path / "imported.marker").exists()
    assert outcome == "SessionFormatError"


def _saved(tmp_path):
    ag, m, _ = _session(tmp_path)
    path = tmp_path / "s.session"
    ag.save(str(path), m)
    log = tmp_path / "s.session.log"
    assert log.exists()
    return ag, path, log


def _load_history(ag, path):
    try:
        m = ag.load(str(path))
        return [(e["role"], e["content"]) for e in m.extract_full_conv_history()]
    except Exception as exc:  # noqa: BLE001 - reported to the test
        return type(exc).__name__


def test_truncated_or_missing_log_file_is_refused(tmp_path):
    ag, path, log = _saved(tmp_path)
    data = log.read_bytes()
    log.write_bytes(data[:-30])
    assert _load_history(ag, path) == "SessionFormatError"
    log.unlink()
    assert _load_history(ag, path) == "SessionFormatError"
    log.write_bytes(data)
    assert _load_history(ag, path) == [
        ("user", ""),  # the opening message, listed as AutoGRAMS lists it (since session 9)
        ("assistant", "name?"),
        ("user", "hello"),
        ("assistant", "again?"),
    ]


def test_same_length_edit_of_log_file_is_refused(tmp_path):
    ag, path, log = _saved(tmp_path)
    data = log.read_bytes()
    assert data.count(b'"hello"') == 1
    log.write_bytes(data.replace(b'"hello"', b'"jello"'))
    assert _load_history(ag, path) == "SessionFormatError"


def test_longer_log_file_keeps_every_entry_or_is_refused(tmp_path):
    ag, path, log = _saved(tmp_path)
    data = log.read_bytes()
    assert data.count(b'"hello"') == 1
    log.write_bytes(data.replace(b'"hello"', b'"hellooo"'))
    got = _load_history(ag, path)
    assert got in (
        "SessionFormatError",
        [("assistant", "name?"), ("user", "hellooo"), ("assistant", "again?")],
    )


def test_inline_log_edit_is_refused(tmp_path):
    ag, m, _ = _session(tmp_path)
    text = ag.serialize(m)
    # the inline log is the part whose base64 holds the user's text, or (compressed) the one
    # after the hex state and its checksum; flip one character in its middle
    parts = text.split(".")
    state = next(i for i, p in enumerate(parts) if _maybe_hex(p).startswith(b"AGF"))
    candidates = [i for i, p in enumerate(parts) if i > state + 1 and len(p) > 20]
    assert candidates, [len(p) for p in parts]
    i = candidates[0]
    mid = len(parts[i]) // 2
    c = parts[i][mid]
    parts[i] = parts[i][:mid] + ("A" if c != "A" else "B") + parts[i][mid + 1 :]
    try:
        history = [
            e["content"] for e in ag.deserialize(".".join(parts)).extract_full_conv_history()
        ]
    except Exception as exc:  # noqa: BLE001 - reported to the test
        history = type(exc).__name__
    assert history == "SessionFormatError"


@pytest.mark.parametrize("new", ["name?jelloagain?", "nameXhelloagain?"])
def test_same_length_edit_of_conversation_window_is_refused(tmp_path, new):
    ag, m, _ = _session(tmp_path)
    text = ag.serialize(m)
    assert text.count("name?helloagain?") == 1
    assert _outcome(ag, text.replace("name?helloagain?", new)) == "SessionFormatError"
    path = tmp_path / "w.session"
    ag.save(str(path), m)
    data = path.read_text()
    assert data.count("name?helloagain?") == 1
    path.write_text(data.replace("name?helloagain?", new))
    assert _load_history(ag, path) == "SessionFormatError"

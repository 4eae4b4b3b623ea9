"""Outside tests (issue 10, session 5): format 6 sessions, whose conversation texts travel
beside the snapshot. Texts must round-trip exactly, and a damaged text must be refused as the
README says of a damaged session, not run and carried on."""

import importlib
import textwrap

import pytest

BOT = """
from autograms import autograms_function
from autograms.functional import reply
@autograms_function()
def chatbot():
    a = reply("first")
    b = reply("second " + a)
    reply("third " + b)
"""


@pytest.fixture
def ag(tmp_path, monkeypatch):
    from autograms import Autogram

    (tmp_path / "s5b_f6bot.py").write_text(textwrap.dedent(BOT))
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    mod = importlib.import_module("s5b_f6bot")
    yield Autogram(root_function=mod.chatbot, test_mode=True)
    import sys

    sys.modules.pop("s5b_f6bot", None)


@pytest.mark.parametrize(
    "text",
    [
        ".",
        "a.b..c",
        "\x00\x01",
        "\u2028\u2029\n\r\n",
        "\\x00\\",
        "é漢字🙂",
        "\ud800",
        "%s{}%%",
        "agsession1.xx",
        "\t \t ",
        "x" * 300_000,
    ],
)
def test_user_texts_round_trip_exactly_through_format6_sessions(ag, text):
    _, m = ag.reply()
    t, m = ag.reply(text, memory_object=m)
    assert t == "second " + text
    m = ag.deserialize(ag.serialize(m))
    t2, m = ag.reply("z", memory_object=m)
    assert t2 == "third " + "z"
    hist = m.extract_full_conv_history()
    # after the opening "" (listed as AutoGRAMS lists it since session 9) and the greeting
    assert hist[2] == {"role": "user", "content": text}
    assert hist[3] == {"role": "assistant", "content": "second " + text}
    m = ag.deserialize(ag.serialize(m))
    t3, _ = ag.reply("again", memory_object=m)
    assert t3 is None


def test_damaged_length_change_in_conversation_texts_is_refused(ag):
    _, m = ag.reply()
    _, m = ag.reply("MARKERTEXT", memory_object=m)
    s = ag.serialize(m)
    i = s.index("MARKERTEXT")
    with pytest.raises(Exception) as ei:
        ag.deserialize(s[:i] + "MARKERTEX" + s[i + 10 :])
    assert type(ei.value).__name__ == "SessionFormatError"


def test_damaged_conversation_text_is_refused_before_any_turn_runs(ag):
    _, m = ag.reply()
    _, m = ag.reply("MARKERTEXT", memory_object=m)
    s = ag.serialize(m)
    i = s.index("MARKERTEXT")
    damaged = s[:i] + "MARKERTEXX" + s[i + 10 :]
    try:
        m2 = ag.deserialize(damaged)
        _, m3 = ag.reply("z", memory_object=m2)
    except Exception as e:
        assert type(e).__name__ == "SessionFormatError"
        return
    # accepted: then at least the session it leaves must work on
    m4 = ag.deserialize(ag.serialize(m3))
    t, _ = ag.reply("again", memory_object=m4)
    assert t is None
    assert "MARKERTEXX" not in ag.serialize(m3)


def test_signed_session_with_edited_conversation_text_is_refused(ag):
    from autograms import Autogram, AutogramConfig

    signed = Autogram(
        root_function=ag.root_function
        if hasattr(ag, "root_function")
        else importlib.import_module("s5b_f6bot").chatbot,
        test_mode=True,
        autogram_config=AutogramConfig(session_key="k" * 32),
    )
    _, m = signed.reply()
    _, m = signed.reply("MARKERTEXT", memory_object=m)
    s = signed.serialize(m)
    i = s.index("MARKERTEXT")
    with pytest.raises(Exception) as ei:
        signed.deserialize(s[:i] + "MARKERTEXX" + s[i + 10 :])
    assert type(ei.value).__name__ == "SessionSignatureError"

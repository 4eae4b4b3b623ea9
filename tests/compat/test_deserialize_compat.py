"""``Autogram.deserialize(data, serialization_type)`` as AutoGRAMS' autogram.md documents it,
and a `log` that is not the session's entries refused instead of taken apart."""

from __future__ import annotations

import pytest

from autograms import Autogram, autograms_function
from autograms.functional import reply


@autograms_function()
def counting_bot():
    reply("hi")
    n = 0
    while True:
        n += 1
        reply(f"n={n}")


def _started() -> tuple[Autogram, object]:
    autogram = Autogram(root_function=counting_bot, test_mode=True)
    _, memory = autogram.reply()
    return autogram, memory


# --- deserialize(text, serialization_type) as AutoGRAMS' autogram.md documents it ---------------


@pytest.mark.parametrize("kind", ["partial", "full"])
def test_deserialize_takes_autograms_serialization_type(kind):
    autogram, memory = _started()
    autogram.reply("u0", memory_object=memory)
    text = autogram.serialize(memory)
    for restored in (
        autogram.deserialize(text, kind),
        autogram.deserialize(text, serialization_type=kind),
    ):
        users = [t["content"] for t in restored.extract_full_conv_history() if t["role"] == "user"]
        assert users == ["", "u0"]
        assert autogram.reply("u1", memory_object=restored)[0] == "n=2"


@pytest.mark.parametrize("log", ["not entries", b"bytes", {"entry_type": "user_reply"}, 3])
def test_deserialize_refuses_a_log_that_is_not_entries(log):
    autogram, memory = _started()
    text = autogram.serialize(memory)
    with pytest.raises(TypeError, match="log"):
        autogram.deserialize(text, log)


def test_deserialize_checks_a_log_callables_entries_when_it_is_read():
    autogram, memory = _started()
    restored = autogram.deserialize(autogram.serialize(memory), log=lambda: "text")
    with pytest.raises(TypeError, match="log"):
        restored.extract_full_conv_history()


def test_deserialize_refuses_an_unknown_serialization_type():
    autogram, memory = _started()
    with pytest.raises(ValueError, match="serialization_type"):
        autogram.deserialize(autogram.serialize(memory), serialization_type="json")

"""A turn that raises after calling the model: the program's state rolls back (the memory is
as before the turn), but the calls' entries stay in ``memory_dict['model_turns']``, marked
``"failed_turn": True``, so token accounting sees every call the server billed.

The programs are generated: each turn makes a random number of model calls and then, at
random, fails. A list kept beside the bot is the oracle for the calls made."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from autograms import Autogram, autograms_function
from autograms.functional import reply, thought

#: how many generated conversations run (each up to a dozen turns)
CASES = 8

#: every model call the bot made, as (turn message, index of the call in that turn)
CALLS: list[tuple[str, int]] = []


class Planned(Exception):
    """The failure a message asks the bot for."""


@autograms_function()
def chatbot():
    answered = 0
    message = reply("Send a plan.")
    while True:
        calls, fails, _ = message.partition("!")
        for i in range(int(calls)):
            CALLS.append((message, i))
            thought(f"Think about step {i} of {message}")
        if fails:
            raise Planned(message)
        answered += 1
        message = reply(f"answered {answered}")


def _model_entries(memory) -> list[dict]:
    return [e for e in memory.memory_dict["model_turns"] if e["entry_type"] == "model"]


def _keep(autogram: Autogram, memory, how: str, folder: Path):
    if how == "serialize":
        return autogram.deserialize(autogram.serialize(memory))
    if how == "save/load":
        autogram.save(str(folder / "s.txt"), memory)
        return autogram.load(str(folder / "s.txt"))
    return memory


@pytest.mark.parametrize("how", ["live", "serialize", "save/load"])
def test_a_failed_turn_keeps_its_model_calls_and_rolls_back_the_rest(how, tmp_path) -> None:
    for case in range(CASES):
        rng = random.Random(case)
        autogram = Autogram(root_function=chatbot, test_mode=True, seed=case)
        CALLS.clear()
        text, memory = autogram.reply()
        answered, failed_calls, history = 0, 0, [text]
        for _turn in range(rng.randint(3, 12)):
            message = f"{rng.randint(0, 3)}{'!' if rng.random() < 0.4 else ''}"
            made = len(CALLS)
            memory = _keep(autogram, memory, how, tmp_path)
            if message.endswith("!"):
                with pytest.raises(Planned):
                    autogram.reply(message, memory_object=memory)
                failed_calls += len(CALLS) - made
                assert len(memory.failed_turn_calls) == len(CALLS) - made, case
                assert all(e["failed_turn"] for e in memory.failed_turn_calls), case
            else:
                text, memory = autogram.reply(message, memory_object=memory)
                answered += 1
                assert text == f"answered {answered}"  # the failed turns changed nothing
                history += [message, text]
        memory = _keep(autogram, memory, how, tmp_path)
        entries = _model_entries(memory)
        assert len(entries) == len(CALLS), case
        assert sum(1 for e in entries if e.get("failed_turn")) == failed_calls, case
        assert all("total_tokens" in e["usage_log"] for e in entries)
        conversation = [t["content"] for t in memory.extract_full_conv_history() if t["content"]]
        assert conversation == history, case


def test_a_failed_turn_without_model_calls_leaves_the_log_as_it_was() -> None:
    autogram = Autogram(root_function=chatbot, test_mode=True)
    text, memory = autogram.reply()
    text, memory = autogram.reply("1", memory_object=memory)
    before = autogram.serialize(memory)
    with pytest.raises(Planned):
        autogram.reply("0!", memory_object=memory)
    assert autogram.serialize(memory) == before

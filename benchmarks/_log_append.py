"""Subjects of the log-append rows of the engine benchmarks (issue 16): a run loop that
appends an entry to ``memory_dict['model_turns']`` between turns, as AutoGRAMS' README shows,
on a session whose log is short and on one whose log is long.

A turn here is what a server does with a session it keeps as text: deserialize it, append the
run loop's entry, run the turn, serialize it. Its cost must not grow with the log: the log is
carried encoded, an append encodes only the new entry and decodes none of the old ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from autograms import Autogram, autograms_function
from autograms.functional import reply


@autograms_function()
def looping_bot() -> None:
    while True:
        reply("ok", ADDRESS="loop")


def make_autogram() -> Autogram:
    return Autogram(root_function=looping_bot, test_mode=True)


def sessions(autogram: Autogram, lengths: Iterable[int]) -> dict[int, str]:
    """The session text after each of `lengths` turns, each turn followed by a run-loop append
    (four log entries a turn)."""
    wanted, texts = set(lengths), {}
    _, memory = autogram.reply()
    for turn in range(1, max(wanted) + 1):
        _, memory = autogram.reply("hi", memory_object=memory)
        memory.memory_dict["model_turns"].append({"entry_type": "run_loop_note", "turn": turn})
        if turn in wanted:
            texts[turn] = autogram.serialize(memory)
    return texts


def turn(autogram: Autogram, text: str, append: bool) -> Callable[[], object]:
    """One turn on the session `text`: deserialize, append (if `append`), reply, serialize."""

    def run() -> object:
        memory = autogram.deserialize(text)
        if append:
            memory.memory_dict["model_turns"].append({"entry_type": "run_loop_note"})
        _, memory = autogram.reply("hi", memory_object=memory)
        return autogram.serialize(memory)

    return run

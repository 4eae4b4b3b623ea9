"""Drive a bot the way AutoGRAMS' run scripts and docs do: ``autogram.reply()`` to start,
then ``autogram.reply(message, memory_object=memory)`` per user message, the session going
through ``autogram.serialize`` / ``autogram.deserialize`` (their defaults) between turns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from autograms import Autogram, MemoryObject


@dataclass
class Run:
    """What a conversation produced."""

    #: the bot's replies, its opening turn first
    replies: list[str | None] = field(default_factory=list)
    #: the memory after the last turn
    memory: MemoryObject | None = None
    #: every log entry each turn added, in order (whatever a round trip keeps of the log)
    log: list[dict[str, Any]] = field(default_factory=list)

    def entries(self, entry_type: str) -> list[dict[str, Any]]:
        return [entry for entry in self.log if entry.get("entry_type") == entry_type]


def converse(autogram: Autogram, messages: Iterable[str], *, round_trip: bool = True) -> Run:
    """Run the bot's opening turn, then one turn per message."""
    run = Run()
    memory = None
    for message in [None, *messages]:
        if memory is not None and round_trip:
            memory = autogram.deserialize(autogram.serialize(memory))
        before = 0 if memory is None else len(memory.model_turns)
        if memory is None:
            text, memory = autogram.reply()
        else:
            text, memory = autogram.reply(message, memory_object=memory)
        run.replies.append(text)
        run.log.extend(memory.model_turns[before:])
    run.memory = memory
    return run

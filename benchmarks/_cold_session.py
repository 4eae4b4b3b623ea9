"""Child process of the cold-session benchmark (issue 11): what a fresh worker pays before it
answers its first message of an existing session.

    python -m benchmarks._cold_session SESSION_FILE [--model-client]

Steps: import ``autograms``; import the bot module (decorating, so instrumenting, its
functions); read the session file and deserialize it; its first turn (resume the paused
program, reply, serialize). The Autogram runs in test mode (its model the offline scripted
one), or with ``--model-client`` as a deployed one does: its model the OpenAI-compatible
client (the bot's turns call no model, so no server is needed). Prints one JSON object
mapping each step to the CPU seconds it took (`time.thread_time`, as the in-process
benchmarks). Nothing of autograms may be imported before `main` starts timing, so this module
imports only the standard library.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from time import thread_time
from typing import Any

#: Steps, in the order they run.
STEPS = ("import", "bot", "load", "first_turn")
#: The bot whose session is resumed (the closures benchmark's, with closures: 4 frames deep).
BOT_MODULE = "benchmarks._closure_bots"
BOT = "closures"


def main(path: str, test_mode: bool = True) -> dict[str, float]:
    """Run every step against the session saved at `path`; seconds per step."""
    seconds: dict[str, float] = {}

    def step(name: str, action: Callable[[], Any]) -> Any:
        start = thread_time()
        result = action()
        seconds[name] = thread_time() - start
        return result

    autograms = step("import", lambda: importlib.import_module("autograms"))
    bots = step("bot", lambda: importlib.import_module(BOT_MODULE))
    autogram = autograms.Autogram(root_function=bots.BOTS[BOT], test_mode=test_mode)
    memory = step("load", lambda: autogram.deserialize(Path(path).read_text(encoding="ascii")))

    def first_turn() -> str:
        _, resumed = autogram.reply("next", memory_object=memory)
        return autogram.serialize(resumed)

    step("first_turn", first_turn)
    return seconds


def write_session(path: str, turns: int) -> None:
    """Save a session of the bot after `turns` resumed turns at `path` (in this process)."""
    from autograms import Autogram

    from ._closure_bots import BOTS

    autogram = Autogram(root_function=BOTS[BOT], test_mode=True)
    _, memory = autogram.reply()
    for _ in range(turns):
        _, memory = autogram.reply("next", memory_object=memory)
    Path(path).write_text(autogram.serialize(memory), encoding="ascii")


if __name__ == "__main__":
    test_mode = "--model-client" not in sys.argv[2:]
    sys.stdout.write(json.dumps(main(sys.argv[1], test_mode)) + "\n")

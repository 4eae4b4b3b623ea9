"""Drive an example bot one turn at a time, loading and saving its session file every turn.

A turn runs either in this process -- a new `Autogram` that loads the session file, replies
and saves it, as a new process would -- or in a fresh interpreter:

    python -m tests.examples.driver EXAMPLE SESSION_FILE MESSAGE_JSON SEED

which prints one JSON line: the reply text and the address of the last reply. Both ways run
the example's ``init_chatbot()`` (if any) under ``Autogram.use_config()`` first, as
``autograms run`` does.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from autograms import Autogram, MemoryObject
from autograms.models import ChatModel

ROOT = Path(__file__).resolve().parents[2]
#: seconds one fresh-interpreter turn may take
TURN_TIMEOUT = 120


def load_example(name: str) -> ModuleType:
    return importlib.import_module(f"autograms.examples.{name}")


def make_autogram(example: ModuleType, seed: int, model: ChatModel | None = None) -> Autogram:
    """A test-mode Autogram for `example`, its ``init_chatbot`` run (once per process)."""
    autogram = Autogram(root_function=example.chatbot, test_mode=True, seed=seed, model=model)
    init = getattr(example, "init_chatbot", None)
    if init is not None:
        with autogram.use_config():
            init()
    return autogram


def last_address(memory: MemoryObject) -> str | None:
    """The ADDRESS of the last agent reply in the session's log."""
    replies = [e for e in memory.model_turns if e.get("entry_type") == "agent_reply"]
    return replies[-1].get("address") if replies else None


def turn(
    name: str, path: Path, message: str | None, seed: int, model: ChatModel | None = None
) -> dict[str, Any]:
    """One turn in this process: load the session at `path` (if any), reply, save it."""
    autogram = make_autogram(load_example(name), seed, model)
    memory = autogram.load(path) if path.exists() else None
    text, memory = autogram.reply(message or "", memory_object=memory)
    autogram.save(path, memory)
    return {"text": text, "address": last_address(memory), "paused": memory.is_paused}


def fresh_turn(name: str, path: Path, message: str | None, seed: int) -> dict[str, Any]:
    """One turn in a new interpreter."""
    command = [
        sys.executable,
        "-m",
        "tests.examples.driver",
        name,
        str(path),
        json.dumps(message),
        str(seed),
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=TURN_TIMEOUT)
    if result.returncode != 0:
        raise AssertionError(
            f"fresh-interpreter turn of {name} failed ({result.returncode}):\n"
            f"{result.stderr[-4000:]}"
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


@dataclass
class Run:
    """What a scripted conversation produced."""

    #: (user message, reply text) per turn; the first message is None (the start)
    turns: list[tuple[str | None, str | None]] = field(default_factory=list)
    #: the ADDRESS of the last reply after each turn
    addresses: list[str | None] = field(default_factory=list)

    @property
    def replies(self) -> list[str | None]:
        return [text for _, text in self.turns]


def run_script(
    name: str,
    messages: Iterable[str],
    path: Path,
    *,
    seed: int = 0,
    fresh: Iterable[int] = (),
    model: ChatModel | None = None,
    on_turn: Callable[[int, dict[str, Any]], None] | None = None,
) -> Run:
    """Start `name` and send `messages`, saving and loading the session every turn; the turns
    whose numbers are in `fresh` (0 is the start) run in a fresh interpreter."""
    fresh = set(fresh)
    if fresh and model is not None:
        raise ValueError("a custom model cannot be sent to a fresh interpreter")
    run = Run()
    for number, message in enumerate([None, *messages]):
        if number in fresh:
            outcome = fresh_turn(name, path, message, seed)
        else:
            outcome = turn(name, path, message, seed, model)
        run.turns.append((message, outcome["text"]))
        run.addresses.append(outcome["address"])
        if on_turn is not None:
            on_turn(number, outcome)
    return run


def main(argv: list[str]) -> int:
    name, path, message_json, seed = argv
    outcome = turn(name, Path(path), json.loads(message_json), int(seed))
    sys.stdout.write(json.dumps(outcome) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

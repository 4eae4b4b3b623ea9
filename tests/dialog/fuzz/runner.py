"""Drive a generated bot turn by turn and record what a user (and a developer) would see.

A run is a list of turns; each turn is ``[outcome, printed, state]``: the reply's text (None
when the bot returned -- the next message starts it again --, ``"raised Type: message"`` when an exception reached the caller of
`Autogram.reply`), what the bot printed, and the conversation state (`comparable_state`, plus
the keys the bot wrote into ``memory_dict``). Modes:

* ``in_process``    -- the memory object of the last turn, never serialized;
* ``serialized``    -- ``deserialize(serialize(memory))`` before every turn;
* ``fresh_process`` -- every turn in a new interpreter: load the session file, reply, save
  (one interpreter serves the same turn of a whole batch of bots).

Any difference between them is a bug. Where the thread-and-queues reference of
`tests.dialog.harness` runs the bot too, its replies and final state must match as well.

Command line (the child side of fresh_process):
    python -m tests.dialog.fuzz.runner REQUESTS_JSON_FILE
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from autograms import Autogram
from tests.dialog.harness import ROOT, comparable_state

IN_PROCESS, SERIALIZED, FRESH_PROCESS = "in_process", "serialized", "fresh_process"
MODES = (IN_PROCESS, SERIALIZED, FRESH_PROCESS)
#: seconds one child interpreter may take for its turn of a batch
CHILD_SECONDS = 300


def write_bots(folder: Path, bots: dict[str, str]) -> dict[str, str]:
    """Write `bots` (name -> source) as modules of a package named after `folder` (a new
    name for every folder: a package once imported is not looked for again), inside it; put
    `folder` on sys.path. Returns name -> dotted module name."""
    package = folder / folder.name
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    for name, source in bots.items():
        (package / f"{name}.py").write_text(source, encoding="utf-8")
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    return {name: f"{folder.name}.{name}" for name in bots}


def _autogram(module: str) -> Autogram:
    bot = importlib.import_module(module)
    return Autogram(root_function=bot.chatbot, test_mode=True, seed=0)


def _state(memory: Any) -> Any:
    data = memory.memory_dict
    state = comparable_state(data)
    state["written"] = {key: data.get(key) for key in ("k1", "k2")}
    return json.loads(json.dumps(state, default=repr))


def host_calls_before(turn: int) -> bool:
    """A host-calling bot's host calls ``peek`` before every third message."""
    return turn > 0 and turn % 3 == 0


def _turn(
    autogram: Autogram, message: str | None, memory: Any, host: bool = False
) -> tuple[list, Any]:
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            if host:
                with autogram.use_memory(memory_object=memory) as memory:
                    print("host", sys.modules[autogram.root_function.__module__].peek())
            if message is None:
                text, memory = autogram.reply()
            else:
                text, memory = autogram.reply(message, memory_object=memory)
    except Exception as exc:  # noqa: BLE001 - what the caller of reply sees is the outcome
        return [f"raised {type(exc).__name__}: {exc}", printed.getvalue(), None], memory
    return [text, printed.getvalue(), _state(memory)], memory


def ended(turn: list) -> bool:
    """The turn raised: the run stops there. (After the bot returns -- a None reply -- the
    next message starts it again from the top, as in AutoGRAMS, so the run goes on.)"""
    return str(turn[0]).startswith("raised ")


def run_in_process(
    module: str, script: list[str], serialize: bool, host_calls: bool = False
) -> list[list]:
    autogram = _autogram(module)
    turns: list[list] = []
    memory = None
    for number, message in enumerate([None, *script]):
        if serialize and memory is not None:
            memory = autogram.deserialize(autogram.serialize(memory))
        host = host_calls and host_calls_before(number)
        turn, memory = _turn(autogram, message, memory, host)
        turns.append(turn)
        if ended(turn):
            break
    return turns


def run_fresh_processes(
    folder: Path, bots: dict[str, list[str]], host_calls: set[str]
) -> dict[str, list[list]]:
    """Each bot of `bots` (module -> script; those in `host_calls` with host calls), one new
    interpreter per turn index for all."""
    runs: dict[str, list[list]] = {name: [] for name in bots}
    sessions = folder / "sessions"
    sessions.mkdir(exist_ok=True)
    longest = max((len(script) for script in bots.values()), default=0)
    for index in range(longest + 1):
        requests = [
            {
                "module": name,
                "session": str(sessions / f"{name}.session"),
                "message": message,
                "host": name in host_calls and host_calls_before(index),
            }
            for name, script in bots.items()
            if not (runs[name] and ended(runs[name][-1])) and index <= len(script)
            for message in [None if index == 0 else script[index - 1]]
        ]
        if not requests:
            break
        for request, turn in zip(requests, _child(folder, requests), strict=True):
            runs[request["module"]].append(turn)
    return runs


def _child(folder: Path, requests: list[dict]) -> list[list]:
    path = folder / "requests.json"
    path.write_text(json.dumps(requests))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), ROOT])}
    done = subprocess.run(
        [sys.executable, "-m", "tests.dialog.fuzz.runner", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=CHILD_SECONDS,
    )
    if done.returncode != 0:
        crash = f"raised crash: exit {done.returncode}: {done.stderr[-2000:]}"
        return [[crash, "", None] for _ in requests]
    return json.loads(done.stdout.strip().splitlines()[-1])


def child_main(path: str) -> None:
    turns = []
    for request in json.loads(Path(path).read_text()):
        autogram = _autogram(request["module"])
        session = request["session"]
        memory = autogram.load(session) if os.path.exists(session) else None
        turn, memory = _turn(autogram, request["message"], memory, request["host"])
        if not ended(turn):
            autogram.save(session, memory)
        turns.append(turn)
    # the turns are the last line; a bot's prints went into its turn
    print(json.dumps(turns))


if __name__ == "__main__":
    child_main(sys.argv[1])

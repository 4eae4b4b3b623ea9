"""Drive a bot of `tests.engine.bots` through the public API, turn by turn, and record it.

A bot module defines ``chatbot`` (decorated with ``@autograms_function()``). Its transcript is
the list of what each ``Autogram.reply`` returned -- the reply text, None when the program
returned, or ``["raised", exception type, reason code]`` when a turn raised -- in one of four
modes:

* ``reference``     -- no pausing machinery: ``reply()`` hands its text to the driver and
  blocks (a thread and two queues) until the next message, which it returns. The oracle.
* ``in_process``    -- ``Autogram.reply`` with the same memory object every turn;
* ``serialized``    -- serialize -> deserialize into a new memory object before every turn;
* ``fresh_process`` -- every turn in a new interpreter: load the session file, reply, save.

Command line, for the fresh-process mode:

    python -m tests.engine.public_harness turn BOT SESSION_FILE MESSAGE_JSON
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from autograms import Autogram, _frames
from tests.program_thread import ProgramThread, Stopped

ROOT = Path(__file__).resolve().parents[2]
MODES = ("in_process", "serialized", "fresh_process")


def load_bot(name: str) -> Any:
    return importlib.import_module(f"tests.engine.bots.{name}")


def autogram_for(name: str) -> Autogram:
    return Autogram(root_function=load_bot(name).chatbot, test_mode=True, seed=0)


def _failure(exc: BaseException) -> list:
    return ["raised", type(exc).__name__, str(getattr(exc, "reason", ""))]


def transcript(name: str, script: list[str], mode: str) -> list:
    """What the bot says to `script` in `mode` (see the module docstring)."""
    if mode == "reference":
        return _reference(name, script)
    if mode == "fresh_process":
        return _fresh_process(name, script)
    autogram = autogram_for(name)
    said: list = []
    try:
        text, memory = autogram.reply()
    except Exception as exc:  # noqa: BLE001 - recorded
        return [_failure(exc)]
    said.append(text)
    for message in script:
        if text is None:
            break
        if mode == "serialized":
            memory = autogram.deserialize(autogram.serialize(memory))
        try:
            text, memory = autogram.reply(message, memory_object=memory)
        except Exception as exc:  # noqa: BLE001 - recorded
            said.append(_failure(exc))
            break
        said.append(text)
    return said


def _reference(name: str, script: list[str]) -> list:
    autogram = autogram_for(name)
    session = autogram.init_memory()
    running: dict[str, Any] = {}  # the turn's working memory, current in the program thread

    def exchange(payload: Any) -> Any:
        message = program_thread.exchange("reply", payload)
        running["memory"].add_user_reply(message)
        return message

    def program() -> None:
        try:
            # one turn that never pauses (a root called while a session is current and no
            # turn runs would run a turn of its own: AutoGRAMS' use_memory root call)
            with session.turn(autogram.model) as turn:
                running["memory"] = turn.memory
                turn.memory.add_user_reply("")
                value = autogram.root_function()
            program_thread.report("return", value)
        except Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - recorded
            program_thread.report("raise", exc)

    program_thread = ProgramThread(program)
    original = _frames.pause
    _frames.pause = exchange
    try:
        program_thread.start()
        return _drive_reference(program_thread, script)
    finally:
        # a thread left waiting inside its turn would keep every later decorated call in this
        # process on the in-a-turn path
        program_thread.end()
        _frames.pause = original


def _drive_reference(program_thread: ProgramThread, script: list[str]) -> list:
    said: list = []
    messages = iter(script)
    while True:
        kind, value = program_thread.event()
        if kind == "reply":
            said.append(value.text)
            message = next(messages, None)
            if message is None:
                return said
            program_thread.answer(message)
        elif kind == "raise":
            said.append(_failure(value))
            return said
        else:
            said.append(None)
            return said


def _fresh_process(name: str, script: list[str]) -> list:
    said: list = []
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "session.txt")
        for message in [None, *script]:
            result = _turn_subprocess(name, path, message)
            said.append(result)
            if result is None or isinstance(result, list):
                break
    return said


def _turn_subprocess(name: str, path: str, message: str | None) -> Any:
    command = [
        sys.executable,
        "-m",
        "tests.engine.public_harness",
        "turn",
        name,
        path,
        json.dumps(message),
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"turn failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def turn_main(name: str, path: str, message: str | None) -> Any:
    autogram = autogram_for(name)
    memory = autogram.load(path) if os.path.exists(path) else None
    try:
        text, memory = autogram.reply(message or "", memory_object=memory)
    except Exception as exc:  # noqa: BLE001 - recorded
        return _failure(exc)
    autogram.save(path, memory)
    return text


if __name__ == "__main__":
    from tests.engine import public_harness

    _, bot, session_path, message_json = sys.argv[1:5]
    print(json.dumps(public_harness.turn_main(bot, session_path, json.loads(message_json))))

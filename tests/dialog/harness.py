"""Drive a bot through a scripted conversation and record what happened.

The oracle is the *reference run*: the same bot, in one thread, where `reply()` hands its
text to the driver and blocks (two queues) until the next scripted message, which it returns
-- no pausing machinery. Every resumed run must produce the same transcript and end in the
same conversation state:

* ``in_process``   -- `Autogram.reply` with the same memory object every turn;
* ``serialized``   -- serialize (with the log) -> deserialize, a new memory object, every turn;
* ``fresh_process`` -- every turn in a new interpreter: load the session file, reply, save.

A bot module defines ``chatbot`` (decorated) and may define ``make_autogram()``; the
default is ``Autogram(chatbot, test_mode=True, seed=0)``.

Command line, for the fresh-process mode:

    python -m tests.dialog.harness turn BOT_MODULE SESSION_FILE MESSAGE_JSON
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import subprocess
import sys
import tempfile
from typing import Any

from autograms import Autogram, _frames
from autograms.memory import MemoryObject
from tests.program_thread import ProgramThread, Stopped

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_bot(name: str) -> Any:
    """A bot of tests/dialog/bots by name, or any bot module by its dotted path."""
    return importlib.import_module(name if "." in name else f"tests.dialog.bots.{name}")


def autogram_for(bot: Any) -> Autogram:
    factory = getattr(bot, "make_autogram", None)
    return factory() if factory else Autogram(root_function=bot.chatbot, test_mode=True, seed=0)


def comparable_state(memory_dict: dict[str, Any]) -> dict[str, Any]:
    """The parts of a session state two equivalent runs must agree on."""
    keys = ("turn_stack", "user_globals", "persistent_globals", "cached_user_reply", "last_node")
    return {key: memory_dict[key] for key in keys}


def reference_run(bot_name: str, script: list[str]) -> dict[str, Any]:
    """The bot run with `reply()` blocking on queues instead of pausing."""
    bot = load_bot(bot_name)
    autogram = autogram_for(bot)
    session = MemoryObject(autogram.config, autogram.root_function, model=autogram.model)
    running: dict[str, MemoryObject] = {}  # the turn's working memory, current in the thread

    def exchange(payload: Any) -> Any:
        message = program_thread.exchange("reply", payload)
        running["memory"].add_user_reply(message)
        return message

    def program() -> None:
        try:
            with session.turn(autogram.model) as turn:  # one turn that never pauses
                running["memory"] = turn.memory
                turn.memory.add_user_reply("")
                value = autogram.root_function()
                turn.memory.program_returned()  # as Autogram.reply's turn does
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
        transcript = _drive_reference(program_thread, script)
        # a copy now: ending the program below rolls its turn back, and the state with it
        state = copy.deepcopy(comparable_state(running["memory"].memory_dict))
    finally:
        # a thread left waiting inside its turn would keep every later decorated call in this
        # process on the in-a-turn path
        program_thread.end()
        _frames.pause = original
    return {"transcript": transcript, "state": state}


def _drive_reference(program_thread: ProgramThread, script: list[str]) -> list:
    transcript = []
    messages = iter(script)
    while True:
        kind, value = program_thread.event()
        if kind == "reply":
            transcript.append(getattr(value, "text", None))
            message = next(messages, None)
            if message is None:
                return transcript
            program_thread.answer(message)
        elif kind == "raise":
            transcript.append(f"raised {type(value).__name__}: {value}")
            return transcript
        else:
            transcript.append(None)  # the program returned: Autogram.reply gives None
            return transcript


def resumed_run(bot_name: str, script: list[str], mode: str) -> dict[str, Any]:
    if mode == "fresh_process":
        return _fresh_process_run(bot_name, script)
    bot = load_bot(bot_name)
    autogram = autogram_for(bot)
    transcript: list = []
    text, memory = autogram.reply()
    transcript.append(text)
    for message in script:
        if text is None:
            break
        if mode == "serialized":
            memory = autogram.deserialize(autogram.serialize(memory, include_log=True))
        try:
            text, memory = autogram.reply(message, memory_object=memory)
        except Exception as exc:  # noqa: BLE001 - recorded
            transcript.append(f"raised {type(exc).__name__}: {exc}")
            break
        transcript.append(text)
    return {"transcript": transcript, "state": comparable_state(memory.memory_dict)}


def _fresh_process_run(bot_name: str, script: list[str]) -> dict[str, Any]:
    transcript: list = []
    state: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "session.txt")
        for message in [None, *script]:
            result = _turn_subprocess(bot_name, path, message)
            transcript.append(result["text"])
            state = result["state"]
            if result["text"] is None or result["text"].startswith("raised "):
                break
    return {"transcript": transcript, "state": state}


def _turn_subprocess(bot_name: str, path: str, message: str | None) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "tests.dialog.harness",
        "turn",
        bot_name,
        path,
        json.dumps(message),
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"turn failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def turn_main(bot_name: str, path: str, message: str | None) -> dict[str, Any]:
    autogram = autogram_for(load_bot(bot_name))
    memory = autogram.load(path) if os.path.exists(path) else None
    try:
        text, memory = autogram.reply(message or "", memory_object=memory)
    except Exception as exc:  # noqa: BLE001 - recorded
        return {"text": f"raised {type(exc).__name__}: {exc}", "state": {}}
    autogram.save(path, memory)
    return {
        "text": text,
        "state": json.loads(json.dumps(comparable_state(memory.memory_dict), default=repr)),
    }


if __name__ == "__main__":
    from tests.dialog import harness

    _, bot, session_path, message_json = sys.argv[1:5]
    print(json.dumps(harness.turn_main(bot, session_path, json.loads(message_json)), default=repr))

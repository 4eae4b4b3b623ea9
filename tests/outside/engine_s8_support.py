"""Run one bot program as plain Python and through autograms, and give each run's transcript.

A program is the source of a module defining a decorated `chatbot()` root, written as a user
writes it (`from autograms import autograms_function`, `from autograms.functional import reply`).
A transcript lists, per turn, what the program printed and what ended the turn: `reply <text>`,
`return` (the root returned), `raise <type>: <message>` (an exception reached the caller) or
`refused <type>: <message>` (the engine refused the pause: a `ContinuationError`).
The transcript stops at the first `return` or `raise`.

The oracle runs the program as plain Python in a thread of its own: fake `autograms` modules make
the decorators leave functions alone, and `reply()` hands its text over and blocks on a queue
until the next message, which it returns. The engine runs it in one of three modes:
`in_process` (the memory of the last turn), `serialized` (serialize/deserialize between turns)
and `fresh_process` (a new interpreter loads the session file, replies and saves, every turn).
Every run is a subprocess of its own, so programs never share a module or a code cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

MODES = ("in_process", "serialized", "fresh_process")
TIMEOUT = 120

_ORACLE = r"""
import io, json, queue, sys, threading, types, importlib


class _Ended(BaseException):
    pass


class Channel:
    def __init__(self):
        self.to_program, self.to_driver = queue.Queue(), queue.Queue()


current = None


def reply(text="", *args, ADDRESS=None, **kwargs):
    channel = current
    channel.to_driver.put(("reply", str(text)))
    message = channel.to_program.get()
    if message is _Ended:
        raise _Ended()
    return message


def _decorator(*dargs, **dkwargs):
    if len(dargs) == 1 and callable(dargs[0]) and not dkwargs:
        return dargs[0]
    return lambda fn: fn


def _unsupported(*args, **kwargs):
    raise RuntimeError("GOTO/RETURNTO have no plain-Python oracle")


root = types.ModuleType("autograms")
root.__path__ = []
root.autograms_function = root.autograms_node = root.autograms_external = _decorator
root.autograms_chatbot = _decorator
functional = types.ModuleType("autograms.functional")
functional.reply = functional.reply_instruction = reply
functional.GOTO = functional.RETURNTO = _unsupported
memory = types.ModuleType("autograms.memory")
memory.init_user_globals = lambda: {}
memory.set_persistent_globals = __import__("contextlib").nullcontext
root.functional, root.memory = functional, memory
sys.modules.update({"autograms": root, "autograms.functional": functional,
                    "autograms.memory": memory})

folder, jobs = sys.argv[1], json.load(open(sys.argv[2]))
sys.path.insert(0, folder)
real_stdout = sys.stdout


def run(name, messages):
    global current
    channel = current = Channel()
    buffer = io.StringIO()

    def program():
        try:
            mod = importlib.import_module(name)
            mod.chatbot()
            channel.to_driver.put(("return", None))
        except _Ended:
            pass
        except Exception as exc:
            channel.to_driver.put(("raise", f"{type(exc).__name__}: {exc}"))

    transcript = []
    sys.stdout = buffer
    thread = threading.Thread(target=program, daemon=True)
    thread.start()
    for index, message in enumerate(messages):
        if index:
            channel.to_program.put(message)
        kind, text = channel.to_driver.get(timeout=60)
        printed = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        end = kind if text is None else f"{kind} {text}"
        transcript.append({"printed": printed, "end": end})
        if kind != "reply":
            break
    else:
        channel.to_program.put(_Ended)
    thread.join(10)
    sys.stdout = real_stdout
    return transcript


results = {job["name"]: run(job["name"], job["messages"]) for job in jobs}
print("@@TRANSCRIPT@@" + json.dumps(results))
"""

_ENGINE = r"""
import contextlib, importlib, io, json, os, sys

folder, mode, jobs = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
turn = int(sys.argv[4]) if mode == "fresh_process" else None
sys.path.insert(0, folder)
from autograms import Autogram, ContinuationError


def run(name, messages):
    mod = importlib.import_module(name)
    autogram = Autogram(root_function=mod.chatbot, test_mode=True)
    session = os.path.join(folder, name + ".session")
    turns = list(enumerate(messages)) if turn is None else [(turn, messages[turn])]
    memory = None
    transcript = []
    for index, message in turns:
        if mode == "fresh_process" and index:
            memory = autogram.load(session)
        elif mode == "serialized" and memory is not None:
            memory = autogram.deserialize(autogram.serialize(memory))
        buffer = io.StringIO()
        try:
            with contextlib.redirect_stdout(buffer):
                if memory is None:
                    text, memory = autogram.reply(message)
                else:
                    text, memory = autogram.reply(message, memory_object=memory)
            end = "return" if text is None else f"reply {text}"
        except ContinuationError as exc:
            end = f"refused {type(exc).__name__}: {exc}"
        except Exception as exc:
            end = f"raise {type(exc).__name__}: {exc}"
        transcript.append({"printed": buffer.getvalue(), "end": end})
        if not end.startswith("reply"):
            break
        if mode == "fresh_process":
            autogram.save(session, memory)
    return transcript


results = {job["name"]: run(job["name"], job["messages"]) for job in jobs}
print("@@TRANSCRIPT@@" + json.dumps(results))
"""


def _write_program(folder: Path, name: str, source: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(textwrap.dedent(source))


def _run(script: str, args: list[str], folder: Path, timeout: float, seed: int = 1) -> dict:
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = str(seed)
    env["AUTOGRAMS_CODE_CACHE"] = str(folder / "code-cache")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("AUTOGRAMS_SESSION_KEY", None)
    done = subprocess.run(
        [sys.executable, "-c", script, str(folder), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    for line in done.stdout.splitlines():
        if line.startswith("@@TRANSCRIPT@@"):
            return json.loads(line[len("@@TRANSCRIPT@@") :])
    raise AssertionError(f"the run crashed (rc {done.returncode}):\n{done.stdout}\n{done.stderr}")


def _jobs(folder: Path, programs: dict[str, tuple[str, list[str]]]) -> str:
    for name, (source, _) in programs.items():
        _write_program(folder, name, source)
    path = folder / "jobs.json"
    path.write_text(json.dumps([{"name": n, "messages": m} for n, (_, m) in programs.items()]))
    return str(path)


def oracle_batch(
    folder: Path, programs: dict[str, tuple[str, list[str]]], timeout: float = TIMEOUT
) -> dict[str, list[dict]]:
    """Each program's transcript as plain Python (a thread and two queues stand in for the
    pause), by name; `programs` maps a module name to its source and messages."""
    return _run(_ORACLE, [_jobs(folder, programs)], folder, timeout)


def engine_batch(
    folder: Path, programs: dict[str, tuple[str, list[str]]], mode: str, timeout=TIMEOUT
) -> dict[str, list[dict]]:
    """Each program's transcript through `Autogram.reply`, resumed the way `mode` says.

    Every fresh process gets a hash seed of its own (the turn's number), as the workers of a
    service do; it runs that turn of every program still going.
    """
    if mode != "fresh_process":
        return _run(_ENGINE, [mode, _jobs(folder, programs)], folder, timeout)
    results: dict[str, list[dict]] = {name: [] for name in programs}
    going = dict(programs)
    for index in range(max(len(messages) for _, messages in programs.values())):
        going = {n: p for n, p in going.items() if index < len(p[1])}
        if not going:
            break
        args = [mode, _jobs(folder, going), str(index)]
        for name, transcript in _run(_ENGINE, args, folder, timeout, seed=index + 1).items():
            results[name] += transcript
            if not transcript[-1]["end"].startswith("reply"):
                del going[name]
    return results


def oracle(folder: Path, name: str, source: str, messages: list[str]) -> list[dict]:
    """One program's transcript as plain Python."""
    return oracle_batch(folder, {name: (source, messages)})[name]


def engine(
    folder: Path, name: str, source: str, messages: list[str], mode: str, timeout=TIMEOUT
) -> list[dict]:
    """One program's transcript through `Autogram.reply` in `mode`."""
    return engine_batch(folder, {name: (source, messages)}, mode, timeout)[name]


REFUSALS = ("refused ",)


def compare(
    tmp_path: Path,
    name: str,
    source: str,
    messages: list[str],
    mode: str,
    refusal_ok: bool = False,
    timeout: float = TIMEOUT,
    reference: str | None = None,
) -> None:
    """Assert the engine's transcript in `mode` is plain Python's.

    A program with GOTO/RETURNTO is compared with a `reference`: the same program written with
    loops and an exception, which plain Python runs.

    With `refusal_ok`, the engine may instead stop at a turn plain Python ran, with a clear
    refusal (a `ContinuationError`), after giving plain Python's transcript up to that turn.
    """
    expected = oracle(tmp_path / "oracle", name, reference or source, messages)
    got = engine(tmp_path / mode, name, source, messages, mode, timeout)
    if refusal_ok and got and got[-1]["end"].startswith(REFUSALS):
        last = len(got) - 1
        assert got[:last] == expected[:last], _diff(expected[:last], got[:last])
        assert got[last]["printed"] == expected[last]["printed"], _diff(expected, got)
        return
    assert got == expected, _diff(expected, got)


def _diff(expected: list[dict], got: list[dict]) -> str:
    lines = []
    for index in range(max(len(expected), len(got))):
        want = expected[index] if index < len(expected) else None
        have = got[index] if index < len(got) else None
        if want != have:
            lines.append(f"turn {index}:\n  plain:  {want}\n  engine: {have}")
    return "\n".join(lines)

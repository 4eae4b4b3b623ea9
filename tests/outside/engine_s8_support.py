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
import random
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
        assert got[:last] == expected[:last], transcript_diff(expected[:last], got[:last])
        assert got[last]["printed"] == expected[last]["printed"], transcript_diff(expected, got)
        return
    assert got == expected, transcript_diff(expected, got)


def transcript_diff(expected: list[dict], got: list[dict]) -> str:
    """The turns where two transcripts differ, one under the other."""
    lines = []
    for index in range(max(len(expected), len(got))):
        want = expected[index] if index < len(expected) else None
        have = got[index] if index < len(got) else None
        if want != have:
            lines.append(f"turn {index}:\n  plain:  {want}\n  engine: {have}")
    return "\n".join(lines)


# --- random programs ----------------------------------------------------------------------

RANDOM_MESSAGES = ["a", "bb", "boom", "3", "", "stop", "ccc"]

RANDOM_PRELUDE = """
from autograms import autograms_function
from autograms.functional import reply


class Tracker:
    def __init__(self, name, out):
        self.name, self.out = name, out

    def __enter__(self):
        self.out.append("enter " + self.name)
        return self

    def __exit__(self, kind, value, tb):
        self.out.append("exit " + self.name + " " + (kind.__name__ if kind else "-"))

"""

# What a block may hold, with its weight. Every local a program makes holds a string.
_STATEMENTS = {
    "pause": 8,
    "print": 3,
    "assign": 2,
    "if": 2,
    "for": 2,
    "while": 1,
    "try": 3,
    "with": 2,
    "call": 4,
    "raise": 2,
    "break": 1,
    "closure": 2,
    "reraise": 1,
}


class _ProgramWriter:
    """Writes decorated functions f0..fN-1 (fi calls only fj with j > i, so every program
    ends), each a random nesting of loops, ifs, try/except/finally, with blocks and calls,
    pausing at random points inside partial expressions."""

    def __init__(self, rng: random.Random, functions: int):
        self.rng, self.functions = rng, functions
        self.lines: list[str] = []
        self.count = 0

    def tag(self) -> str:
        self.count += 1
        return f"t{self.count}"

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    def pause(self, names: list[str]) -> str:
        question = f"reply('{self.tag()}?')"
        name = self.rng.choice(names)
        return self.rng.choice(
            [
                question,
                f"{question}.upper()",
                f'str(len({question}) + {name}.count("b"))',
                f'f"{{{name}!r}}:{{{question}}}"',
                f'"-".join([{name}, {question}])',
                f"({question} or 'empty')",
                f"[{question}][0]",
            ]
        )

    def block(self, fn: int, depth: int, names: list[str], budget: int, loop: bool) -> None:
        weights = dict(_STATEMENTS)
        weights["call"] *= fn + 1 < self.functions
        weights["break"] *= loop
        for _ in range(self.rng.randint(1, 3)):
            if budget <= 0:
                self.emit(depth, f"out.append({self.rng.choice(names)})")
                return
            budget -= 1
            kind = self.rng.choices(list(weights), list(weights.values()))[0]
            names = self.statement(kind, fn, depth, names, budget, loop)

    def statement(self, kind, fn, depth, names, budget, loop) -> list[str]:
        rng, emit, tag = self.rng, self.emit, self.tag
        name = rng.choice(names)
        if kind in ("pause", "assign", "call"):
            local = f"v{tag()}"
            if kind == "pause":
                emit(depth, f"{local} = {self.pause(names)}")
            elif kind == "assign":
                emit(depth, f"{local} = {name} + {rng.choice(names)}[:2]")
            else:
                emit(depth, f"{local} = f{rng.randint(fn + 1, self.functions - 1)}({name}, out)")
            return names + [local]
        if kind == "print":
            shown = ", ".join(rng.sample(names, min(len(names), 3)))
            emit(depth, f'print("{tag()}", {shown}, len(out))')
        elif kind == "if":
            emit(depth, f'if {name}.startswith(("a", "b", "3")):')
            self.block(fn, depth + 1, names, budget // 2, loop)
            emit(depth, "else:")
            self.block(fn, depth + 1, names, budget // 2, loop)
        elif kind == "for":
            item = f"i{tag()}"
            source = rng.choice(["range(2)", "out[:2]", "[1, 2]", 'dict.fromkeys("xy")'])
            emit(depth, f"for {item} in {source}:")
            emit(depth + 1, f"{item} = str({item})")
            self.block(fn, depth + 1, names + [item], budget // 2, True)
            if rng.random() < 0.3:
                emit(depth, "else:")
                emit(depth + 1, f'out.append("else-{tag()}")')
        elif kind == "while":
            counter = f"n{tag()}"
            emit(depth, f"{counter} = 0")
            emit(depth, f"while {counter} < 2:")
            emit(depth + 1, f"{counter} += 1")
            self.block(fn, depth + 1, names, budget // 2, True)
        elif kind == "try":
            emit(depth, "try:")
            self.block(fn, depth + 1, names, budget // 2, loop)
            error = f"e{tag()}"
            emit(depth, f"except ValueError as {error}:")
            emit(depth + 1, f'print("caught", {error})')
            self.block(fn, depth + 1, names, budget // 3, loop)
            if rng.random() < 0.5:
                emit(depth, "finally:")
                emit(depth + 1, f'out.append("fin-{tag()}")')
        elif kind == "with":
            emit(depth, f'with Tracker("{tag()}", out):')
            self.block(fn, depth + 1, names, budget // 2, loop)
        elif kind == "raise":
            emit(depth, f'if {name} == "boom":')
            emit(depth + 1, f'raise ValueError("{tag()}")')
        elif kind == "break":
            emit(depth, f"if len(out) % 3 == {rng.randint(0, 2)}:")
            emit(depth + 1, "break")
        elif kind == "closure":
            emit(depth, f"seen.append({self.pause(names)})")
            emit(depth, f'print("{tag()}", bump(len(seen)), seen)')
        else:  # reraise: a handler that pauses, then re-raises or not
            emit(depth, "try:")
            emit(depth + 1, f'raise ValueError("{tag()}")')
            error, local = f"e{tag()}", f"v{tag()}"
            emit(depth, f"except ValueError as {error}:")
            emit(depth + 1, f"{local} = {self.pause(names)}")
            emit(depth + 1, f'if {local} == "boom":')
            emit(depth + 2, "raise")
            emit(depth + 1, f'print("handled", {error}, {local})')
        return names

    def function(self, fn: int) -> None:
        self.emit(0, "@autograms_function()")
        self.emit(0, f"def f{fn}(arg, out):")
        self.emit(1, "total, seen = 0, []")
        self.emit(1, "def bump(by):")
        self.emit(2, "nonlocal total")
        self.emit(2, "total += by")
        self.emit(2, "return total")
        self.block(fn, 1, ["arg"], self.rng.randint(5, 12), False)
        self.emit(1, f'return "f{fn}:" + str(len(out))')
        self.emit(0, "")


def random_program(seed: int) -> tuple[str, list[str]]:
    """A random bot program (its source, rooted at `chatbot`) and enough user messages."""
    rng = random.Random(seed)
    writer = _ProgramWriter(rng, rng.randint(2, 5))
    for fn in reversed(range(writer.functions)):
        writer.function(fn)
    root = [
        "@autograms_function()",
        "def chatbot():",
        "    out = []",
        "    try:",
        '        print("result", f0("start", out))',
        "    except ValueError as exc:",
        '        print("escaped", exc)',
        '    print("out", out)',
        '    reply("end")',
    ]
    messages = [""] + [rng.choice(RANDOM_MESSAGES) for _ in range(40)]
    return RANDOM_PRELUDE + "\n".join(writer.lines + root) + "\n", messages

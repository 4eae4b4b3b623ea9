"""Drivers for session 13's outside engine tests (engb).

A bot program is written as module sources; each is run two ways and the turns compared:

- plain Python: ``reply`` puts its text on one queue and waits on another, the decorator does
  nothing, per-session globals are plain module globals; a thread runs the root;
- autograms: ``Autogram(root_function=chatbot, test_mode=True)``, in process (one memory
  object), with a serialize/deserialize round trip before every turn, or with a fresh
  process per turn (the session saved to a file between them).

In the sources, ``@name`` stands for the full module name of the program's module ``name``
(each program gets module names of its own, so several programs share one process).
A module may define ``app_between(turn)``: the app's own code, run by the driver before
every turn after the first (an eviction, an event fired, a deploy's reload).
"""

from __future__ import annotations

import importlib
import json
import os
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

ENGINE_HEAD = """\
from autograms import autograms_function
from autograms.functional import reply, GOTO, RETURNTO
from autograms.memory import init_user_globals, set_persistent_globals
"""

PLAIN_HEAD = """\
from tests.outside.engine_s13_support import plain_reply as reply
from tests.outside.engine_s13_support import plain_decorator as autograms_function
from tests.outside.engine_s13_support import plain_user_globals as init_user_globals
from tests.outside.engine_s13_support import plain_persistent as set_persistent_globals
"""

TURN_TIMEOUT = 60.0
MODES = ("process", "serialize", "fresh", "script", "script_serialize")


class _Channel:
    """The two queues between the plain driver and the thread running the program."""

    def __init__(self) -> None:
        self.to_program: queue.Queue = queue.Queue()
        self.to_driver: queue.Queue = queue.Queue()
        self.closed = False


class _RunOver(BaseException):
    """Ends a plain program whose run is over (its thread must not outlive the run)."""


_CURRENT = threading.local()


def plain_reply(text, **_kwargs):
    """Plain Python's reply: hand the text to the driver, wait for the user's message."""
    channel = _CURRENT.channel
    if channel.closed:
        raise _RunOver
    channel.to_driver.put(("reply", text))
    message = channel.to_program.get(timeout=TURN_TIMEOUT)
    if message is _RunOver:
        raise _RunOver
    return message


def plain_decorator(*_args, **_kwargs):
    return lambda fn: fn


def plain_user_globals():
    return {}


class plain_persistent:  # noqa: N801 - stands in for set_persistent_globals()
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@dataclass
class Program:
    """A bot: module sources by short name; ``bot`` holds ``chatbot``."""

    tag: str
    sources: dict[str, str | dict[str, str]]  # a dict: its "ag" and "plain" flavours
    folder: Path | None = None
    written: dict[str, Path] = field(default_factory=dict)

    def module_name(self, short: str, flavour: str) -> str:
        return f"s13_{self.tag}_{short}_{flavour}"

    def write(self, folder: Path) -> None:
        self.folder = folder
        flavours = [("plain", PLAIN_HEAD)] + [(f"ag_{mode}", ENGINE_HEAD) for mode in MODES]
        for flavour, head in flavours:
            for short, source in self.sources.items():
                text = source if isinstance(source, str) else source[flavour.split("_")[0]]
                for other in self.sources:
                    text = text.replace(f"@{other}", self.module_name(other, flavour))
                path = folder / f"{self.module_name(short, flavour)}.py"
                path.write_text(head + text)
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
        importlib.invalidate_caches()

    def load(self, flavour: str):
        return importlib.import_module(self.module_name("bot", flavour))


def _between(module, turn: int, message: str = "") -> None:
    """The app's code between turns; not before a message the engine is to refuse ("zz")."""
    hook = getattr(module, "app_between", None)
    if hook is not None and turn and message != "zz":
        hook(turn)


def run_plain(program: Program, messages: list[str]) -> list:
    """Each turn's outcome in plain Python: the reply text, ("END", "") or ("ERR", text).

    The program's modules are imported anew, so each run starts from the state its import made.
    """
    for short in program.sources:
        sys.modules.pop(program.module_name(short, "plain"), None)
    module = program.load("plain")
    channel = _Channel()
    outcomes: list = []
    thread = None

    def main():
        _CURRENT.channel = channel
        try:
            module.chatbot()
            channel.to_driver.put(("END", ""))
        except _RunOver:
            pass
        except BaseException as exc:  # noqa: BLE001 - the oracle reports what the program raised
            channel.to_driver.put(("ERR", f"{type(exc).__name__}: {exc}"))

    for turn, message in enumerate(messages):
        _between(module, turn)
        if thread is None or not thread.is_alive():
            thread = threading.Thread(target=main, daemon=True)
            thread.start()
        else:
            channel.to_program.put(message)
        kind, value = channel.to_driver.get(timeout=TURN_TIMEOUT)
        outcomes.append(value if kind == "reply" else (kind, value))
        if kind == "ERR":
            break
        if kind == "END":
            thread.join(TURN_TIMEOUT)
    channel.closed = True
    channel.to_program.put(_RunOver)
    if thread is not None:
        thread.join(TURN_TIMEOUT)
    return outcomes


def _engine_turn(autogram, memory, message):
    from autograms import ContinuationError

    try:
        text, memory = autogram.reply(message, memory_object=memory)
    except ContinuationError as exc:
        return ("REFUSED", str(exc.reason)), memory
    except Exception as exc:  # noqa: BLE001 - reported as the outcome
        return ("ERR", f"{type(exc).__name__}: {exc}"), memory
    if text is None:
        return ("END", ""), memory
    return text, memory


def run_engine(program: Program, messages: list[str], mode: str) -> list:
    """Each turn's outcome under autograms; mode is "process", "serialize" or "fresh"."""
    if mode == "fresh":
        return _run_fresh(program, messages)
    if mode.startswith("script"):
        return _run_script(program, messages, mode.replace("script", "process").split("_")[-1])
    return drive_module(program.load(f"ag_{mode}"), messages, mode)


_FRESH_SCRIPT = """
import importlib, json, os, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from autograms import Autogram
from tests.outside.engine_s13_support import _between, _engine_turn
module = importlib.import_module(sys.argv[3])
session, turn, message = sys.argv[4], int(sys.argv[5]), sys.argv[6]
autogram = Autogram(root_function=module.chatbot, test_mode=True)
memory = autogram.load(session) if os.path.exists(session) else None
_between(module, turn, message)
outcome, memory = _engine_turn(autogram, memory, message)
if memory is not None:
    autogram.save(session, memory)
print("OUTCOME=" + json.dumps(outcome))
"""


def _run_fresh(program: Program, messages: list[str]) -> list:
    session = program.folder / f"{program.tag}.session"
    if session.exists():
        session.unlink()
    outcomes: list = []
    env = dict(os.environ)
    for turn, message in enumerate(messages):
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                _FRESH_SCRIPT,
                str(REPO),
                str(program.folder),
                program.module_name("bot", "ag_fresh"),
                str(session),
                str(turn),
                message,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        lines = [x for x in done.stdout.splitlines() if x.startswith("OUTCOME=")]
        assert lines, f"turn {turn} printed no outcome: {done.stdout[-2000:]} {done.stderr[-3000:]}"
        outcome = json.loads(lines[-1][len("OUTCOME=") :])
        outcome = tuple(outcome) if isinstance(outcome, list) else outcome
        outcomes.append(outcome)
        if isinstance(outcome, tuple) and outcome[0] == "ERR":
            break
    return outcomes


_SCRIPT_DRIVER = """

if __name__ == "__main__":
    import json as _json
    import sys as _sys
    _sys.path[:0] = [_sys.argv[1]]
    import tests.outside.engine_s13_support as _support
    _drive = getattr(_support, _sys.argv[2])
    _outcomes = _drive(_sys.modules[__name__], *_json.loads(_sys.argv[3]))
    print("OUTCOMES=" + _json.dumps(_outcomes))
"""


def drive_module(module, messages: list[str], mode: str, stop_on_error: bool = True) -> list:
    """Turns of ``module.chatbot`` in this process (mode "process" or "serialize"); a failed
    turn ends the run unless ``stop_on_error`` is False (the next turn starts from the memory
    the failed one was given, as the README's transactions say)."""
    from autograms import Autogram

    autogram = Autogram(root_function=module.chatbot, test_mode=True)
    memory = None
    outcomes: list = []
    for turn, message in enumerate(messages):
        _between(module, turn, message)
        if mode == "serialize" and memory is not None:
            memory = autogram.deserialize(autogram.serialize(memory))
        outcome, memory = _engine_turn(autogram, memory, message)
        outcomes.append(outcome)
        if isinstance(outcome, tuple) and outcome[0] == "ERR" and stop_on_error:
            break
    return outcomes


def _run_script(program: Program, messages: list[str], mode: str) -> list:
    return run_as_script(program, "drive_module", [messages, mode])


def two_conversations(module, serialize: bool) -> list:
    """Conversations A and B of one bot, interleaved in one process; their last replies."""
    from autograms import Autogram

    autogram = Autogram(root_function=module.chatbot, test_mode=True)

    def turn(text, memory):
        if serialize and memory is not None:
            memory = autogram.deserialize(autogram.serialize(memory))
        return autogram.reply(text, memory_object=memory)

    _, a = turn("", None)
    _, b = turn("", None)
    _, a = turn("Ada", a)
    _, b = turn("Bob", b)
    last_a, a = turn("x", a)
    last_b, b = turn("y", b)
    return [last_a, last_b]


def run_as_script(program: Program, driver: str, args: list) -> list:
    """``driver(module, *args)`` on the bot run as a script (its module is ``__main__``)."""
    path = program.folder / f"{program.module_name('bot', 'ag_script')}.py"
    script = path.with_name(path.stem + "_main.py")
    script.write_text(path.read_text() + _SCRIPT_DRIVER)
    done = subprocess.run(
        [sys.executable, str(script), str(REPO), driver, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=str(program.folder),
    )
    lines = [x for x in done.stdout.splitlines() if x.startswith("OUTCOMES=")]
    assert lines, f"the script printed no outcomes: {done.stdout[-2000:]} {done.stderr[-3000:]}"
    return [tuple(x) if isinstance(x, list) else x for x in json.loads(lines[-1][9:])]


def make(tmp_path: Path, tag: str, bot: str, **others: str) -> Program:
    program = Program(tag, {"bot": bot, **others})
    program.write(tmp_path)
    return program

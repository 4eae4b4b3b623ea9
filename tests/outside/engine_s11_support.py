"""Harness for test_engine_s11_outside.py: one bot source, run by the engine and as plain Python.

A bot is a module body that uses `autograms_function`, `reply`, `set_persistent_globals` and
`init_user_globals` as imported names. It is written twice: once importing them from autograms
(the engine's copy) and once from this module (the oracle's copy: the decorator does nothing,
`reply` hands its text to a driver thread and waits for the next scripted message). Each run
gets modules of its own, so module-level state one run changes never leaks into another.

A transcript is the list of what each turn ended with: the reply text, `None` when the root
returned, or `"raise Type: message"` when an exception reached the caller. A transcript ends at
its first exception: the engine's failed turn leaves the session as it was (the next message
runs the turn again), which a plain program cannot do.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

ENGINE_HEADER = (
    "from autograms import autograms_function\n"
    "from autograms.functional import reply\n"
    "from autograms.memory import set_persistent_globals, init_user_globals\n"
)
PLAIN_HEADER = (
    "from tests.outside.engine_s11_support import autograms_function, reply, "
    "set_persistent_globals, init_user_globals\n"
)
TURN_TIMEOUT = 120
_counter = itertools.count()
_channel = threading.local()


# --- the oracle's stand-ins -------------------------------------------------------------------


def autograms_function(*_args, **_kwargs):
    """The oracle's decorator: the function is left as it is."""
    return lambda fn: fn


def set_persistent_globals():
    """The oracle's persistent globals are the module's own (one conversation per module)."""
    return contextlib.nullcontext()


def init_user_globals():
    """The oracle's user globals: a plain dict."""
    return {}


def reply(text, **_kwargs):
    """Hand `text` to the driver and wait for the user's next message."""
    chan = _channel.chan
    chan.to_driver.put(("reply", text))
    return chan.to_program.get(timeout=TURN_TIMEOUT)


class _Channel:
    def __init__(self) -> None:
        self.to_driver: queue.Queue = queue.Queue()
        self.to_program: queue.Queue = queue.Queue()


def _ending(kind: str, value: object) -> object:
    if kind == "reply":
        return value
    if kind == "return":
        return None
    return f"raise {value}"


def run_plain(root, messages: list[str]) -> list[object]:
    """Run `root()` as plain Python in a thread; one transcript entry per message."""
    chan = _Channel()

    def program() -> None:
        _channel.chan = chan
        try:
            root()
        except BaseException as exc:  # the transcript shows it, as the engine's caller sees it
            chan.to_driver.put(("raise", f"{type(exc).__name__}: {exc}"))
        else:
            chan.to_driver.put(("return", None))

    transcript: list[object] = []
    thread: threading.Thread | None = None
    for message in messages:
        if thread is None:
            thread = threading.Thread(target=program, daemon=True)
            thread.start()
        else:
            chan.to_program.put(message)
        kind, value = chan.to_driver.get(timeout=TURN_TIMEOUT)
        transcript.append(_ending(kind, value))
        if kind != "reply":
            thread.join(TURN_TIMEOUT)
            thread = None
        if kind == "raise":
            break
    return transcript


def until_raise(transcript: list[object]) -> list[object]:
    """The transcript up to and including its first exception."""
    for index, ending in enumerate(transcript):
        if isinstance(ending, str) and ending.startswith("raise "):
            return transcript[: index + 1]
    return transcript


# --- writing and importing bots ---------------------------------------------------------------


def write_bot(folder: Path, body: str, name: str | None = None) -> tuple[str, str]:
    """Write the engine's and the oracle's copy of `body`; return their module names."""
    name = name or f"engb11_bot{os.getpid()}_{next(_counter)}"
    (folder / f"{name}.py").write_text(ENGINE_HEADER + body)
    (folder / f"{name}_plain.py").write_text(PLAIN_HEADER + body)
    return name, f"{name}_plain"


def import_bot(folder: Path, module: str):
    """Import `module` from `folder` (a new module each time it is asked for)."""
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    return importlib.import_module(module)


# --- running the engine -------------------------------------------------------------------------


def _engine_turn(autogram, memory, message):
    try:
        text, memory = autogram.reply(message, memory_object=memory)
    except Exception as exc:  # the turn failed; the memory stays as it was
        return f"raise {type(exc).__name__}: {exc}", memory
    return text, memory


def run_engine(root, messages: list[str], serialize: bool = False) -> list[object]:
    """Run `root` turn by turn in this process (after a serialize round trip if asked)."""
    from autograms import Autogram

    autogram = Autogram(root_function=root, test_mode=True)
    memory = None
    transcript = []
    for message in messages:
        if serialize and memory is not None:
            memory = autogram.deserialize(autogram.serialize(memory))
        text, memory = _engine_turn(autogram, memory, message)
        transcript.append(text)
    return until_raise(transcript)


def run_fresh(
    folder: Path, module: str, messages: list[str], session: Path, env: dict | None = None
) -> list[object]:
    """Run each turn in a new interpreter that loads the session file, replies and saves."""
    transcript = []
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, **(env or {}))
    env["PYTHONPATH"] = os.pathsep.join([str(root), str(folder)])
    for message in messages:
        done = subprocess.run(
            [sys.executable, __file__, str(folder), module, str(session), message],
            capture_output=True,
            text=True,
            timeout=TURN_TIMEOUT,
            env=env,
            check=False,
        )
        assert done.returncode == 0, f"turn process failed: {done.stderr[-3000:]}"
        transcript.append(json.loads(done.stdout.strip().splitlines()[-1]))
        if until_raise(transcript) != transcript:
            break
    return transcript


def _one_turn(folder: str, module: str, session: str, message: str, quiet=False) -> None:
    from autograms import Autogram

    bot = import_bot(Path(folder), module)
    autogram = Autogram(root_function=bot.chatbot, test_mode=True)
    try:
        memory = autogram.load(session) if os.path.exists(session) else None
    except Exception as exc:  # a session that cannot be loaded: the turn's outcome
        text = f"raise {type(exc).__name__}: {exc}"
    else:
        text, memory = _engine_turn(autogram, memory, message)
        if memory is not None:
            autogram.save(session, memory)
    if quiet:
        Path(session + ".out").write_text(json.dumps(text))
    else:
        print(json.dumps(text))


def compare(
    folder: Path, body: str, messages: list[str], modes=("in_process", "serialized"), env=None
):
    """Transcripts of the oracle and of each engine mode, each on modules of its own."""
    results = {}
    name, plain = write_bot(folder, body)
    results["plain"] = run_plain(import_bot(folder, plain).chatbot, messages)
    for mode in modes:
        mode_name, _ = write_bot(folder, body, f"{name}_{mode}")
        if mode == "fresh_process":
            session = folder / f"{mode_name}.session"
            results[mode] = run_fresh(folder, mode_name, messages, session, env)
        else:
            bot = import_bot(folder, mode_name)
            results[mode] = run_engine(bot.chatbot, messages, serialize=mode == "serialized")
    return results


def assert_same(results: dict) -> None:
    """Every engine mode's transcript equals plain Python's."""
    plain = results["plain"]
    for mode, transcript in results.items():
        assert transcript == plain, f"{mode} differs from plain Python:\n{transcript}\n{plain}"


def run_fresh_batch(folder: Path, jobs: list[tuple[str, str]]) -> list[object]:
    """One new interpreter runs one turn of each (module, message) job; sessions by module."""
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), str(folder)]))
    jobs_file = folder / "jobs.json"
    jobs_file.write_text(json.dumps(jobs))
    done = subprocess.run(
        [sys.executable, __file__, "--batch", str(folder), str(jobs_file)],
        capture_output=True,
        text=True,
        timeout=TURN_TIMEOUT * 5,
        env=env,
        check=False,
    )
    assert done.returncode == 0, f"batch process failed: {done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def _batch_turns(folder: str, jobs_file: str) -> None:
    results = []
    for module, message in json.loads(Path(jobs_file).read_text()):
        session = os.path.join(folder, f"{module}.session")
        try:
            _one_turn(folder, module, session, message, quiet=True)
            results.append(json.loads(Path(session + ".out").read_text()))
        except Exception as exc:  # a load or save failure is the program's transcript entry
            results.append(f"harness {type(exc).__name__}: {exc}")
    print(json.dumps(results))


def _first_difference(transcript: list[object], plain: list[object]) -> tuple:
    for index, (mine, theirs) in enumerate(zip(transcript, plain, strict=False)):
        if mine != theirs:
            return index, mine, theirs
    return len(plain), transcript[len(plain) :], plain[len(transcript) :]


def differential(folder: Path, programs: dict[str, tuple[str, bool]], messages: list[str]):
    """Run each program (name -> (body, fresh-safe)) as plain Python and by the engine.

    In process and serialized for all, a fresh process per turn (one interpreter per turn for
    the whole batch) for the fresh-safe ones. Returns {name: [(mode, turn, engine, plain)]}.
    """
    found: dict[str, list] = {}
    plains = {}
    for name, (body, _) in programs.items():
        _, plain = write_bot(folder, body, name)
        plains[name] = run_plain(import_bot(folder, plain).chatbot, messages)
        for mode in ("in_process", "serialized"):
            module, _ = write_bot(folder, body, f"{name}_{mode}")
            bot = import_bot(folder, module)
            transcript = run_engine(bot.chatbot, messages, serialize=mode == "serialized")
            if transcript != plains[name]:
                diff = _first_difference(transcript, plains[name])
                found.setdefault(name, []).append((mode, *diff))
    fresh = [name for name, (_, safe) in programs.items() if safe]
    for name in fresh:
        write_bot(folder, programs[name][0], f"{name}_fresh")
    transcripts: dict[str, list] = {name: [] for name in fresh}
    for message in messages if fresh else []:
        endings = run_fresh_batch(folder, [(f"{name}_fresh", message) for name in fresh])
        for name, ending in zip(fresh, endings, strict=True):
            transcripts[name].append(ending)
    for name in fresh:
        transcript = until_raise(transcripts[name])
        if transcript != plains[name]:
            diff = _first_difference(transcript, plains[name])
            found.setdefault(name, []).append(("fresh_process", *diff))
    return found


if __name__ == "__main__":
    if sys.argv[1] == "--batch":
        _batch_turns(sys.argv[2], sys.argv[3])
    else:
        _one_turn(*sys.argv[1:5])

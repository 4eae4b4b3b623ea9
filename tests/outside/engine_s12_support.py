"""Session 12 outside tester (engb): run bot programs through Autogram and as plain Python.

A *program* is a module source written the way a user writes a bot: it imports
`autograms_function`, `reply`, `GOTO`, `RETURNTO` from autograms and defines `chatbot()`. Its
*transcript* is what a user sees turn by turn: each reply's text, `("return", repr(value))`
when the root returns, `("raise", type, message)` when an exception reaches the caller of
`Autogram.reply`, or `("refused", reason, message)` for a `ContinuationError` (the engine's
clear refusal).

The oracle is the same program run as plain Python: the decorator leaves functions alone and
`reply()` hands its text to the driver and blocks on a queue until the next scripted message
(the program runs in a thread of its own). A program using GOTO/RETURNTO gives an equivalent
loop-based reference source for the oracle instead.

Modes: `in_process` (the memory from the last turn), `serialized` (serialize/deserialize every
turn), `fresh` (a new interpreter per turn loads the session file, replies, saves; one
interpreter serves the same turn of a batch of programs, each in a module of its own).

Every run happens in a child interpreter (`run_batch`), so module state never leaks between
tests. Run as a script: `python engine_s12_support.py batch SPEC.json OUT.json` or
`python engine_s12_support.py turn SPEC.json OUT.json`.
"""

from __future__ import annotations

import importlib
import json
import os
import queue
import re
import subprocess
import sys
import threading
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINE_IMPORTS = (
    "from autograms import autograms_function\n"
    "from autograms.functional import reply, GOTO, RETURNTO\n"
)
PLAIN_IMPORTS = (
    "from engine_s12_support import plain_autograms_function as autograms_function\n"
    "from engine_s12_support import plain_reply as reply\n"
)
MODES = ("in_process", "serialized", "fresh")
TURN_LIMIT = 40


# ---------------------------------------------------------------- plain-Python oracle


class _Driver:
    """The thread and two queues that stand in for a pause in plain Python."""

    def __init__(self):
        self.to_bot: queue.Queue = queue.Queue()
        self.to_user: queue.Queue = queue.Queue()
        self.stopped = False  # the script ran out: every later reply() ends the thread


_DRIVER: _Driver | None = None


def plain_autograms_function(*args, **kwargs):
    """The decorator, as plain Python: leaves the function alone."""
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda fn: fn


def plain_reply(text="", ADDRESS=None, **kwargs):
    """reply() as plain Python: show the text, block until the user's next message."""
    if _DRIVER.stopped:  # a finally block replying while the thread ends
        raise SystemExit
    _DRIVER.to_user.put(("reply", str(text)))
    message = _DRIVER.to_bot.get()
    if message is _STOP:
        _DRIVER.stopped = True
        raise SystemExit
    return message


_STOP = object()


def run_plain(module, messages):
    """The transcript of module.chatbot() as plain Python, answered with `messages`."""
    global _DRIVER
    _DRIVER = driver = _Driver()

    def body():
        try:
            value = module.chatbot()
        except SystemExit:
            return
        except BaseException as exc:  # noqa: BLE001 - the transcript records it
            driver.to_user.put(("raise", type(exc).__name__, str(exc)))
        else:
            driver.to_user.put(("return", repr(value)))

    threading.stack_size(256 * 1024 * 1024)
    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    transcript = []
    pending = list(messages)
    while True:
        event = driver.to_user.get(timeout=60)
        transcript.append(list(event))
        if event[0] != "reply" or len(transcript) > TURN_LIMIT:
            break
        if not pending:
            driver.to_bot.put(_STOP)
            break
        driver.to_bot.put(pending.pop(0))
    thread.join(timeout=60)
    return transcript


# ---------------------------------------------------------------- the engine


def _outcome_of_error(exc):
    from autograms import ContinuationError

    if isinstance(exc, ContinuationError):
        return ["refused", str(getattr(exc, "reason", "")), str(exc)]
    return ["raise", type(exc).__name__, str(exc)]


def _turn(autogram, message, memory):
    """One turn: (event, memory); memory unchanged when the turn raised."""
    try:
        if memory is None:
            text, memory = autogram.reply()
        else:
            text, memory = autogram.reply(message, memory_object=memory)
    except Exception as exc:  # noqa: BLE001 - the transcript records it
        return _outcome_of_error(exc), memory
    if text is None:
        return ["return", None], memory
    return ["reply", text], memory


def run_engine(module, messages, mode):
    """The transcript of module.chatbot through Autogram in `mode` (in_process, serialized)."""
    from autograms import Autogram

    autogram = Autogram(root_function=module.chatbot, test_mode=True)
    transcript = []
    event, memory = _turn(autogram, None, None)
    transcript.append(event)
    pending = list(messages)
    while event[0] == "reply" and pending and len(transcript) <= TURN_LIMIT:
        if mode == "serialized":
            try:
                memory = autogram.deserialize(autogram.serialize(memory))
            except Exception as exc:  # noqa: BLE001
                transcript.append(["load-error", type(exc).__name__, str(exc)])
                break
        event, memory = _turn(autogram, pending.pop(0), memory)
        transcript.append(event)
    return transcript


def fresh_turn(module, session_path, message):
    """One turn in this (fresh) interpreter: load the session file, reply, save it."""
    from autograms import Autogram

    autogram = Autogram(root_function=module.chatbot, test_mode=True)
    if message is None:
        event, memory = _turn(autogram, None, None)
    else:
        try:
            memory = autogram.load(session_path)
        except Exception as exc:  # noqa: BLE001
            return ["load-error", type(exc).__name__, str(exc)]
        event, memory = _turn(autogram, message, memory)
    if event[0] == "reply":
        autogram.save(session_path, memory)
    return event


# ---------------------------------------------------------------- child interpreters


def _write_module(folder, name, source):
    with open(os.path.join(folder, name + ".py"), "w") as handle:
        handle.write(source)


def engine_source(source):
    return ENGINE_IMPORTS + source


def plain_source(source):
    return PLAIN_IMPORTS + source


def _import(folder, name):
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(name)


def _guarded(fn, *args):
    try:
        return fn(*args)
    except BaseException as exc:  # noqa: BLE001 - a harness failure is a result too
        return [["harness-error", type(exc).__name__, str(exc), traceback.format_exc()[-2000:]]]


def batch_main(spec):
    """Oracle, in-process and serialized transcripts of each program of `spec`."""
    sys.path.insert(0, HERE)
    folder = spec["folder"]
    results = []
    for index, program in enumerate(spec["programs"]):
        result = {}
        name = f"s12p_{spec['tag']}_{index}"
        if "plain" in spec["modes"]:
            _write_module(folder, name + "_plain", plain_source(program["reference"]))
            module = _guarded(_import, folder, name + "_plain")
            result["plain"] = (
                module
                if isinstance(module, list)
                else _guarded(run_plain, module, program["messages"])
            )
        for mode in ("in_process", "serialized"):
            if mode in spec["modes"]:
                _write_module(folder, f"{name}_{mode}", engine_source(program["source"]))
                module = _guarded(_import, folder, f"{name}_{mode}")
                result[mode] = (
                    module
                    if isinstance(module, list)
                    else _guarded(run_engine, module, program["messages"], mode)
                )
        results.append(result)
    return results


def turn_main(spec):
    """One turn of each job of `spec` in this interpreter: [event, ...]."""
    sys.path.insert(0, HERE)
    events = []
    for job in spec["jobs"]:
        module = _guarded(_import, job["folder"], job["module"])
        if isinstance(module, list):
            events.append(module[0])
            continue
        try:
            events.append(fresh_turn(module, job["session"], job["message"]))
        except BaseException as exc:  # noqa: BLE001
            events.append(["harness-error", type(exc).__name__, str(exc)])
    return events


def _child(kind, spec, timeout):
    folder = spec.get("folder") or spec["jobs"][0]["folder"]
    spec_path = os.path.join(folder, f"spec_{kind}_{os.getpid()}_{threading.get_ident()}.json")
    out_path = spec_path + ".out"
    with open(spec_path, "w") as handle:
        json.dump(spec, handle)
    env = dict(os.environ)
    env.setdefault("AUTOGRAMS_CODE_CACHE", os.path.join(folder, "code_cache"))
    done = subprocess.run(
        [sys.executable, os.path.abspath(__file__), kind, spec_path, out_path],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=folder,
    )
    if done.returncode != 0 or not os.path.exists(out_path):
        raise RuntimeError(
            f"child {kind} exited {done.returncode}: {done.stderr[-3000:]} {done.stdout[-500:]}"
        )
    with open(out_path) as handle:
        return json.load(handle)


def run_programs(folder, programs, modes=("plain",) + MODES, tag="t", timeout=240):
    """Transcripts of each program ({source, reference, messages}) in each mode.

    `reference` defaults to `source`. Returns a list of {mode: transcript}.
    """
    programs = [dict(p, reference=p.get("reference") or p["source"]) for p in programs]
    spec = {"folder": str(folder), "programs": programs, "modes": list(modes), "tag": tag}
    results = [{} for _ in programs]
    fresh = {}
    # The fresh-process turns run beside the batch (two cores, two children at a time).
    worker = None
    if "fresh" in modes:
        worker = threading.Thread(
            target=lambda: fresh.update(done=_guarded_fresh(folder, programs, tag, timeout))
        )
        worker.start()
    if set(modes) - {"fresh"}:
        results = _child("batch", spec, timeout)
    if worker is not None:
        worker.join()
        if isinstance(fresh["done"], BaseException):
            raise fresh["done"]
        for index, transcript in enumerate(fresh["done"]):
            results[index]["fresh"] = transcript
    return results


def _guarded_fresh(folder, programs, tag, timeout):
    try:
        return _run_fresh(folder, programs, tag, timeout)
    except BaseException as exc:  # noqa: BLE001 - re-raised by the caller's thread
        return exc


def shared_result(tmp_path_factory, name, compute):
    """compute(folder) once per pytest run: xdist workers share it through a locked file."""
    import fcntl

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # this run's folder, which holds each worker's own
    path = shared / f"{name}.json"
    with open(str(path) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            with open(path) as handle:
                return json.load(handle)
        folder = shared / f"{name}_work"
        folder.mkdir(exist_ok=True)
        result = compute(folder)
        with open(path, "w") as handle:
            json.dump(result, handle)
        return result


def _run_fresh(folder, programs, tag, timeout):
    names = [f"s12f_{tag}_{i}" for i in range(len(programs))]
    for name, program in zip(names, programs, strict=True):
        _write_module(str(folder), name, engine_source(program["source"]))
    transcripts = [[] for _ in programs]
    live = list(range(len(programs)))
    turn = 0
    while live and turn <= TURN_LIMIT:
        jobs = []
        for index in live:
            messages = programs[index]["messages"]
            jobs.append(
                {
                    "folder": str(folder),
                    "module": names[index],
                    "session": os.path.join(str(folder), names[index] + ".session"),
                    "message": None if turn == 0 else messages[turn - 1],
                }
            )
        events = _child("turn", {"jobs": jobs}, timeout)
        still = []
        for index, event in zip(live, events, strict=True):
            transcripts[index].append(event)
            if event[0] == "reply" and turn < len(programs[index]["messages"]):
                still.append(index)
        live = still
        turn += 1
    return transcripts


def normalized(transcript):
    """A transcript with engine-only detail dropped: a refusal's message, addresses."""
    out = []
    for event in transcript:
        event = list(event)
        if event[0] == "return":
            event = ["return"]
        if event[0] == "refused":
            event = ["refused", event[1]]
        out.append([re.sub(r" at 0x[0-9a-f]+", "", str(e)) for e in event])
    return out


def compare(results, modes=MODES):
    """{mode: (engine transcript, plain transcript)} for each mode that differs from plain."""
    plain = normalized(results["plain"])
    return {
        mode: (results[mode], results["plain"])
        for mode in modes
        if mode in results and normalized(results[mode]) != plain
    }


if __name__ == "__main__":
    sys.modules["engine_s12_support"] = sys.modules["__main__"]  # the plain programs import it
    if os.environ.get("S12_DUMP_AFTER"):
        import faulthandler

        faulthandler.dump_traceback_later(float(os.environ["S12_DUMP_AFTER"]), exit=True)
    kind, spec_file, out_file = sys.argv[1:4]
    with open(spec_file) as handle:
        loaded = json.load(handle)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    result = batch_main(loaded) if kind == "batch" else turn_main(loaded)
    with open(out_file, "w") as handle:
        json.dump(result, handle)
    sys.stdout.flush()
    os._exit(0)


def import_bot(folder, name, source):
    """Write `source` (with the engine's imports) as module `name` in `folder` and import it."""
    _write_module(str(folder), name, engine_source(source))
    return _import(str(folder), name)


def repo_root():
    return os.path.dirname(os.path.dirname(HERE))


def other_pythons():
    """The project's venv interpreters of the other supported Pythons that exist here."""
    mine = f"{sys.version_info[0]}.{sys.version_info[1]}"
    found = []
    for version in ("3.11.7", "3.12.1", "3.13.0"):
        path = os.path.join(repo_root(), ".venv", version, "bin", "python")
        if not version.startswith(mine + ".") and os.path.exists(path):
            found.append(path)
    return found


def readme_section(title):
    """The text of the README's section `## title`, up to the next `## ` heading."""
    with open(os.path.join(repo_root(), "README.md")) as handle:
        text = handle.read()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]

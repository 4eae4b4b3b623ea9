"""Differential harness for the s5 breaker tests (issue 10, plain helpers).

A bot is a dict {module: source} forming one package; module ``bot`` defines ``chatbot``.
``#HEADER`` in a source is replaced by the imports. Runs: plain Python (reply pops the next
message), Autogram in process, serialize/deserialize every turn, fresh process per turn.
A transcript is the list of the bot's texts per turn (None when the root returned), or
"!ExcType: message" for a turn that raised (the transcript stops there).
"""

import json
import os
import subprocess
import sys
import textwrap
import uuid

ENGINE_HEADER = (
    "from autograms import autograms_function\nfrom autograms.functional import reply, GOTO\n"
)
PLAIN_HEADER = "from tests.outside.s5b_plain import autograms_function, reply, GOTO\n"

FRESH = r"""
import importlib, json, os, sys
sys.path.insert(0, sys.argv[1])
mod = importlib.import_module(sys.argv[2])
from autograms import Autogram
ag = Autogram(root_function=mod.chatbot, test_mode=True)
path, msg = sys.argv[3], json.loads(sys.argv[4])
try:
    if os.path.exists(path):
        text, memory = ag.reply(msg, memory_object=ag.load(path))
    else:
        text, memory = ag.reply(msg)
except Exception as e:
    print(json.dumps(f"!{type(e).__name__}: {e}"))
else:
    ag.save(path, memory)
    print(json.dumps(text))
"""

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write_package(folder, modules, plain):
    pkg = f"s5b_{'p' if plain else 'e'}_{uuid.uuid4().hex[:8]}"
    root = os.path.join(folder, pkg)
    os.makedirs(root)
    header = PLAIN_HEADER if plain else ENGINE_HEADER
    mods = dict(modules)
    mods.setdefault("__init__", "")
    for name, src in mods.items():
        with open(os.path.join(root, name + ".py"), "w") as f:
            f.write(textwrap.dedent(src).replace("#HEADER\n", header))
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return pkg


def _err(e):
    return f"!{type(e).__name__}: {e}"


def run_plain(folder, modules, messages):
    import importlib

    from tests.outside import s5b_plain

    pkg = write_package(folder, modules, plain=True)
    mod = importlib.import_module(pkg + ".bot")
    out = []
    queue = list(messages)
    s5b_plain.start(out, queue)
    while True:
        try:
            mod.chatbot()
        except s5b_plain.Done:
            break
        except Exception as e:
            out.append(_err(e))
            break
        out.append(None)
        if not queue:
            break
        queue.pop(0)  # the message that restarts the root is not read by it
    return out


def run_engine(folder, modules, messages, roundtrip):
    import importlib

    from autograms import Autogram

    pkg = write_package(folder, modules, plain=False)
    mod = importlib.import_module(pkg + ".bot")
    ag = Autogram(root_function=mod.chatbot, test_mode=True)
    out = []
    memory = None
    for msg in [""] + list(messages):
        try:
            if memory is None:
                text, memory = ag.reply(msg)
            else:
                text, memory = ag.reply(msg, memory_object=memory)
        except Exception as e:
            out.append(_err(e))
            break
        out.append(text)
        if roundtrip:
            memory = ag.deserialize(ag.serialize(memory))
    return out


def run_fresh(folder, modules, messages, edits=None):
    """``edits``: {turn_index: {module: source}} rewritten before that turn's process."""
    pkg = write_package(folder, modules, plain=False)
    path = os.path.join(folder, pkg + ".session")
    drv = os.path.join(folder, "drv.py")
    with open(drv, "w") as f:
        f.write(FRESH)
    env = dict(os.environ, PYTHONPATH=REPO, PYTHONDONTWRITEBYTECODE="1")
    out = []
    for i, msg in enumerate([""] + list(messages)):
        for name, src in (edits or {}).get(i, {}).items():
            with open(os.path.join(folder, pkg, name + ".py"), "w") as f:
                f.write(textwrap.dedent(src).replace("#HEADER\n", ENGINE_HEADER))
        p = subprocess.run(
            [sys.executable, drv, folder, pkg + ".bot", path, json.dumps(msg)],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        if p.returncode != 0:
            out.append(
                "!crash: " + p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "!crash"
            )
            break
        t = json.loads(p.stdout.strip().splitlines()[-1])
        out.append(t)
        if isinstance(t, str) and t.startswith("!"):
            break
    return out


def all_modes(tmp_path, modules, messages):
    res = {"plain": run_plain(str(tmp_path / "p"), modules, messages)}
    for k, rt in (("inproc", False), ("serial", True)):
        res[k] = run_engine(str(tmp_path / k), modules, messages, rt)
    res["fresh"] = run_fresh(str(tmp_path / "f"), modules, messages)
    return res

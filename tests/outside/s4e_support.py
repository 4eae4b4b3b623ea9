"""Support for the s4 engine outside tests: a bot package run as plain Python and through
``Autogram`` in process, with serialize/deserialize every turn, and a fresh process per turn.

A bot is a dict ``{module_name: source}`` forming one package; the module ``bot`` defines
``chatbot``. Each module's source starts with ``#HEADER``, replaced by the imports: in plain
mode ``reply`` takes the next message from a queue and the decorators do nothing.
"""

import json
import os
import subprocess
import sys
import textwrap
import uuid

ENGINE_HEADER = (
    "from autograms import autograms_function\n"
    "from autograms.functional import reply, GOTO, RETURNTO\n"
)
PLAIN_HEADER = "from tests.outside.s4e_plain import autograms_function, reply, GOTO, RETURNTO\n"

FRESH_DRIVER = r"""
import importlib, json, os, sys
sys.path.insert(0, sys.argv[1])
mod = importlib.import_module(sys.argv[2])
from autograms import Autogram
ag = Autogram(root_function=mod.chatbot, test_mode=True)
path = sys.argv[3]
msg = json.loads(sys.argv[4])
if os.path.exists(path):
    memory = ag.load(path)
    text, memory = ag.reply(msg, memory_object=memory)
else:
    text, memory = ag.reply(msg)
ag.save(path, memory)
print(json.dumps(text))
"""


def write_package(folder, modules, mode):
    pkg = f"s4e_{mode}_{uuid.uuid4().hex[:8]}"
    root = os.path.join(folder, pkg)
    os.makedirs(root)
    header = PLAIN_HEADER if mode == "plain" else ENGINE_HEADER
    mods = dict(modules)
    mods.setdefault("__init__", "")
    for name, src in mods.items():
        src = textwrap.dedent(src).replace("#HEADER\n", header)
        with open(os.path.join(root, name + ".py"), "w") as f:
            f.write(src)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return pkg


def run_plain(folder, modules, messages):
    import importlib

    from tests.outside import s4e_plain

    pkg = write_package(folder, modules, "plain")
    mod = importlib.import_module(pkg + ".bot")
    return s4e_plain.run(mod.chatbot, messages)


def _record(out, fn):
    try:
        out.append(fn())
        return True
    except Exception as e:  # noqa: BLE001
        out.append(f"EXC {type(e).__name__}: {e}")
        return False


def run_engine(folder, modules, messages, serde=False):
    import importlib

    from autograms import Autogram

    pkg = write_package(folder, modules, "serde" if serde else "inproc")
    mod = importlib.import_module(pkg + ".bot")
    ag = Autogram(root_function=mod.chatbot, test_mode=True)
    out = []
    memory = None
    for msg in messages:
        try:
            if memory is None:
                text, memory = ag.reply(msg)
            else:
                if serde:
                    memory = ag.deserialize(ag.serialize(memory))
                text, memory = ag.reply(msg, memory_object=memory)
            out.append(text)
        except Exception as e:  # noqa: BLE001
            out.append(f"EXC {type(e).__name__}: {e}")
            break
    return out


def run_fresh(folder, modules, messages, timeout=60):
    pkg = write_package(folder, modules, "fresh")
    path = os.path.join(folder, pkg + ".session")
    out = []
    env = dict(os.environ)
    env["PYTHONPATH"] = os.getcwd() + os.pathsep + env.get("PYTHONPATH", "")
    for msg in messages:
        p = subprocess.run(
            [sys.executable, "-c", FRESH_DRIVER, folder, pkg + ".bot", path, json.dumps(msg)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
        if p.returncode != 0:
            last = (p.stderr.strip().splitlines() or ["?"])[-1]
            out.append(f"EXC {last}")
            break
        out.append(json.loads(p.stdout.strip().splitlines()[-1]))
    return out


def all_modes(folder, modules, messages, modes=("inproc", "serde"), plain=None):
    res = {"plain": run_plain(folder, plain or modules, messages)}
    if "inproc" in modes:
        res["inproc"] = run_engine(folder, modules, messages)
    if "serde" in modes:
        res["serde"] = run_engine(folder, modules, messages, serde=True)
    if "fresh" in modes:
        res["fresh"] = run_fresh(folder, modules, messages)
    return res

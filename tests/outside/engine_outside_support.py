"""Differential harness for outside engine tests (issue 10).

A bot program is written once as source that uses ``reply``/``autograms_function`` ...; it is
run
- plain: the same source with ``reply`` printing its text and returning ``input()`` and the
  decorators doing nothing (the oracle);
- through ``Autogram`` in process, with a serialize/deserialize round trip at every turn, and
  with a fresh interpreter per turn.
Each run gives a transcript: the bot's text at each turn (None when the root returned), or
``"!ExcType: message"`` for a turn that raised (the transcript stops there).
"""

import builtins
import importlib
import json
import os
import subprocess
import sys
import textwrap
import uuid

ENGINE_HEADER = (
    "from autograms import autograms_function, autograms_chatbot\n"
    "from autograms.functional import reply, GOTO, RETURNTO, EXIT\n"
)
PLAIN_HEADER = (
    "import builtins as _b\n"
    "def autograms_function(*a, **k):\n"
    "    return lambda f: f\n"
    "autograms_chatbot = autograms_function\n"
    "def reply(text, **kw):\n"
    "    print(text)\n"
    "    return _b.input()\n"
)


class _Done(BaseException):
    pass


def write_bot(folder, source, name=None, plain_source=None):
    """Write the engine and plain versions of a bot (``plain_source``: a loop-based reference
    for a program that jumps); return the module name."""
    name = name or "ob_" + uuid.uuid4().hex[:10]
    body = textwrap.dedent(source)
    plain_body = textwrap.dedent(plain_source) if plain_source is not None else body
    with open(os.path.join(folder, name + ".py"), "w") as f:
        f.write(ENGINE_HEADER + body)
    with open(os.path.join(folder, name + "_plain.py"), "w") as f:
        f.write(PLAIN_HEADER + plain_body)
    # One copy per in-process mode, so module state (globals, class attributes) is not shared.
    for suffix in ("_ip", "_sd"):
        with open(os.path.join(folder, name + suffix + ".py"), "w") as f:
            f.write(ENGINE_HEADER + body)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    importlib.invalidate_caches()
    return name


def _fmt_exc(e):
    return f"!{type(e).__name__}: {e}"


def run_plain(folder, name, messages):
    """The oracle: the root called in a loop, reply() reads input()."""
    mod = importlib.import_module(name + "_plain")
    out = []
    pending = list(messages)
    real_input, real_print = builtins.input, builtins.print

    said = []

    def fake_input(prompt=""):
        if not pending:
            raise _Done
        return pending.pop(0)

    def fake_print(*a, **k):
        if k.get("file") is None:
            said.append(" ".join(str(x) for x in a))
        else:
            real_print(*a, **k)

    builtins.input, builtins.print = fake_input, fake_print
    try:
        # The first message of each run starts the program (its text is not read, as in Autogram).
        while pending:
            pending.pop(0)
            try:
                mod.chatbot()
            except _Done:
                break
            except BaseExceptionGroup as eg:
                if eg.subgroup(_Done) is None:
                    raise
                break
            except Exception as e:  # noqa: BLE001
                said.append(_fmt_exc(e))
                break
            said.append(None)
    finally:
        builtins.input, builtins.print = real_input, real_print
    out = said
    return out[: len(messages)] if out else out


def _turns(ag, messages, roundtrip):
    out = []
    memory = None
    for _i, msg in enumerate(messages):
        try:
            if memory is None:
                text, memory = ag.reply(msg)
            else:
                text, memory = ag.reply(msg, memory_object=memory)
        except Exception as e:  # noqa: BLE001
            out.append(_fmt_exc(e))
            break
        out.append(text)
        if roundtrip:
            memory = ag.deserialize(ag.serialize(memory))
    return out


def make_autogram(name, **kw):
    from autograms import Autogram

    mod = importlib.import_module(name)
    return Autogram(root_function=mod.chatbot, test_mode=True, **kw)


def run_inproc(folder, name, messages):
    return _turns(make_autogram(name + "_ip"), messages, roundtrip=False)


def run_serde(folder, name, messages):
    return _turns(make_autogram(name + "_sd"), messages, roundtrip=True)


FRESH_DRIVER = r"""
import json, os, sys
folder, name, path, msg = sys.argv[1:5]
sys.path.insert(0, folder)
import importlib
from autograms import Autogram
mod = importlib.import_module(name)
ag = Autogram(root_function=mod.chatbot, test_mode=True)
try:
    if os.path.exists(path):
        with open(path) as f:
            memory = ag.deserialize(f.read())
        text, memory = ag.reply(msg, memory_object=memory)
    else:
        text, memory = ag.reply(msg)
except Exception as e:
    print(json.dumps({"exc": "!%s: %s" % (type(e).__name__, e)}))
    sys.exit(0)
with open(path, "w") as f:
    f.write(ag.serialize(memory))
print(json.dumps({"text": text}))
"""


def run_fresh(folder, name, messages, timeout=60):
    path = os.path.join(folder, name + f"_{uuid.uuid4().hex[:6]}.session")
    out = []
    env = dict(os.environ)
    env.pop("PYTHONHASHSEED", None)
    for msg in messages:
        p = subprocess.run(
            [sys.executable, "-c", FRESH_DRIVER, folder, name, path, msg],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
        if p.returncode != 0:
            out.append(f"!crash rc={p.returncode}: {p.stderr.strip().splitlines()[-1:]}")
            break
        res = json.loads(p.stdout.strip().splitlines()[-1])
        if "exc" in res:
            out.append(res["exc"])
            break
        out.append(res["text"])
    return out


def all_modes(folder, source, messages, fresh=True, plain_source=None):
    name = write_bot(folder, source, plain_source=plain_source)
    res = {
        "plain": run_plain(folder, name, messages),
        "inproc": run_inproc(folder, name, messages),
        "serde": run_serde(folder, name, messages),
    }
    if fresh:
        res["fresh"] = run_fresh(folder, name, messages)
    return res

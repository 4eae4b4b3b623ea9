"""Helpers for the session-6 breaker-10 tests: write a bot module, drive it three ways."""

import json
import os
import subprocess
import sys
import textwrap
import uuid

DRIVER = textwrap.dedent(
    """
    import importlib, json, os, sys
    sys.path.insert(0, os.getcwd())
    from autograms import Autogram
    mod = importlib.import_module(sys.argv[1])
    path, text = sys.argv[2], sys.argv[3]
    ag = Autogram(root_function=mod.chatbot, test_mode=True)
    try:
        if os.path.exists(path):
            m = ag.load(path)
            out, m = ag.reply(text, memory_object=m)
        else:
            out, m = ag.reply()
    except Exception as e:
        print(json.dumps({"error": type(e).__name__, "message": str(e)}))
        sys.exit(0)
    ag.save(path, m)
    print(json.dumps({"out": out}))
    """
)


def write_bot(tmp_path, source, name=None):
    name = name or "b10bot_" + uuid.uuid4().hex[:8]
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    return name


def _import(tmp_path, name):
    import importlib

    sys.path.insert(0, str(tmp_path))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(tmp_path))


def run_in_process(tmp_path, name, inputs, roundtrip=False):
    """Outputs of the turns (first turn with no text), or the first error as ('error', type, msg)."""
    from autograms import Autogram

    mod = _import(tmp_path, name)
    ag = Autogram(root_function=mod.chatbot, test_mode=True)
    outs = []
    text, m = ag.reply()
    outs.append(text)
    for user in inputs:
        if roundtrip:
            m = ag.deserialize(ag.serialize(m))
        try:
            text, m = ag.reply(user, memory_object=m)
        except Exception as exc:  # noqa: BLE001 - reported to the test
            outs.append(("error", type(exc).__name__, str(exc)))
            break
        outs.append(text)
    return outs


def run_turn_fresh(tmp_path, name, session, text, cache, python=None, timeout=30):
    env = dict(os.environ)
    env["AUTOGRAMS_CODE_CACHE"] = str(cache)
    env.pop("AUTOGRAMS_SESSION_KEY", None)
    driver = tmp_path / "b10_driver.py"
    if not driver.exists():
        driver.write_text(DRIVER)
    proc = subprocess.run(
        [python or sys.executable, str(driver), name, str(session), text],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if "error" in result:
        return ("error", result["error"], result["message"])
    return result["out"]


def run_fresh(tmp_path, name, inputs, cache=None, session=None):
    cache = cache or tmp_path / "code-cache"
    session = session or tmp_path / f"{name}.session"
    outs = [run_turn_fresh(tmp_path, name, session, "", cache)]
    for user in inputs:
        out = run_turn_fresh(tmp_path, name, session, user, cache)
        outs.append(out)
        if isinstance(out, tuple):
            break
    return outs

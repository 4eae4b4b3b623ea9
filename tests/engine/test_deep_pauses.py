"""Deep pauses continue in a new process, or are refused at the pause (issue 10, item 8).

A bot may pause deeper than a new process's recursion limit allows: it raised the limit itself
(`sys.setrecursionlimit` in the root function, which a new process never runs again), or it paused
near the default limit. Generated cases: random depths around the default limit and around the
bot's own limit, each turn in a fresh interpreter (as a worker or a restart loads a session).
Plain Python pauses when the depth is below the limit by more than the frames under the program,
and raises RecursionError when it is not below it. The session must do the same: pause -- and
then go on in every later turn -- well below the limit, and raise RecursionError or refuse the
pause (too deep) at or above it; near it, either. A refused or failed turn leaves the session
saved before it as it was.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BOT = """
import sys

from autograms import autograms_function
from autograms.functional import reply

LIMIT = {limit}


@autograms_function()
def down(n):
    if n == 0:
        return reply("bottom")
    return down(n - 1) + "."


@autograms_function()
def chatbot():
    if LIMIT:
        sys.setrecursionlimit(LIMIT)
    while True:
        depth = int(reply("depth?"))
        r = down(depth)
        reply(f"{{len(r)}}")
"""

TURN = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
import deep_bot
from autograms import Autogram
autogram = Autogram(root_function=deep_bot.chatbot, test_mode=True)
path = sys.argv[2]
memory = autogram.load(path) if os.path.exists(path) else None
try:
    text, memory = autogram.reply(sys.argv[3], memory_object=memory)
except (RecursionError, Exception) as exc:
    print(json.dumps(["raised", type(exc).__name__, str(getattr(exc, "reason", ""))]))
else:
    autogram.save(path, memory)
    print(json.dumps(text))
"""

#: How far below the limit plain Python and the session may differ: the frames a turn runs
#: under the program (the dialog layer's and the engine's) and above it (a reply, a pause).
NEAR = 60
#: one case per seed: (the bot's own limit, 0 for none; the depth it pauses at)
SEEDS = range(10)


def case(seed: int) -> tuple[int, int]:
    """Random depths around the boundaries: the default limit (1,000), and the bot's own."""
    rng = random.Random(seed)
    limit = rng.randrange(1_500, 4_000) if rng.random() < 0.75 else 0
    boundary = limit if limit and rng.random() < 0.5 else 1_000
    return limit, max(1, boundary + rng.randrange(-120, 40))


def turn(folder: Path, message: str) -> object:
    done = subprocess.run(
        [sys.executable, str(folder / "turn.py"), str(folder), str(folder / "s.session"), message],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=240,
    )
    assert done.returncode == 0, f"the turn crashed ({done.returncode}): {done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("seed", SEEDS)
def test_deep_pause_goes_on_in_a_new_process_or_is_refused_there(tmp_path, seed):
    limit, depth = case(seed)
    (tmp_path / "deep_bot.py").write_text(textwrap.dedent(BOT.format(limit=limit)))
    (tmp_path / "turn.py").write_text(TURN)
    where = f"seed {seed}: limit {limit or 'default'}, depth {depth}, Python {sys.version}"
    assert turn(tmp_path, "") == "depth?", where
    said = turn(tmp_path, str(depth))
    room = (limit or 1_000) - depth
    if room > NEAR:
        assert said == "bottom", f"{where}: plain Python pauses here; the session said {said}"
    if room <= 0:
        assert said != "bottom", f"{where}: plain Python raises RecursionError here"
    if said == "bottom":
        assert turn(tmp_path, "x") == str(depth + 1), where
        assert turn(tmp_path, "x") == "depth?", f"{where}: after the deep pause"
        assert turn(tmp_path, "3") == "bottom", f"{where}: after the deep pause"
        return
    assert isinstance(said, list), f"{where}: {said}"
    assert said[1] == "RecursionError" or said[2] == "too deep", f"{where}: {said}"
    assert turn(tmp_path, "3") == "bottom", f"{where}: the session before the refusal"
    assert turn(tmp_path, "x") == "4", f"{where}: the session before the refusal"


THREADED_BOT = """
import sys
import threading

from autograms import autograms_function
from autograms.functional import reply

PAUSED = threading.Event()
GO_ON = threading.Event()


def tag(text):
    return text + "!"


@autograms_function()
def down(n):
    if n == 0:
        said = reply("bottom")
        if said == "wait":
            PAUSED.set()
            GO_ON.wait(120)
        return tag(said)
    return down(n - 1) + "."


@autograms_function()
def chatbot():
    sys.setrecursionlimit(4000)
    r = down(int(reply("depth?")))
    reply(f"{len(r)}")
"""

THREADED = """
import sys, threading
sys.path.insert(0, sys.argv[1])
import threaded_bot as bot
from autograms import Autogram
autogram = Autogram(root_function=bot.chatbot, test_mode=True)
paths = [sys.argv[1] + "/a.session", sys.argv[1] + "/b.session"]
if sys.argv[2] == "start":
    for path in paths:
        _, memory = autogram.reply()
        text, memory = autogram.reply("1500", memory_object=memory)
        assert text == "bottom", text
        autogram.save(path, memory)
    sys.exit(0)
said = {}

def turn(name, path, message):
    try:
        said[name] = autogram.reply(message, memory_object=autogram.load(path))[0]
    except BaseException as exc:
        said[name] = repr(exc)[:200]

waiting = threading.Thread(target=turn, args=("b", paths[1], "wait"))
waiting.start()
assert bot.PAUSED.wait(120), "b's turn did not reach its wait"
turn("a", paths[0], "go")
bot.GO_ON.set()
waiting.join(120)
print(said["a"], said["b"], sys.getrecursionlimit())
"""


def test_a_turn_ending_leaves_the_limit_another_turn_running_needs(tmp_path):
    """Two sessions paused 1,500 frames deep under the limit their bot set, resumed at once in
    threads of a new process: the one that ends first must not take the other's room (the
    limit is the interpreter's), and the process's own limit comes back after both."""
    (tmp_path / "threaded_bot.py").write_text(THREADED_BOT)
    (tmp_path / "threaded.py").write_text(THREADED)

    def run(step: str) -> str:
        done = subprocess.run(
            [sys.executable, str(tmp_path / "threaded.py"), str(tmp_path), step],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout.strip()

    run("start")
    assert run("threads") == "1503 1505 1000"

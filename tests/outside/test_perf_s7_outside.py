"""Outside tester, session 7, issue 11: performance as a user meets it.

Load-independent checks only (operation counts, allocation sizes, session sizes, modules
imported); the timings in the report are measured apart, never asserted here.
"""

import json
import os
import subprocess
import sys
import textwrap
import tracemalloc

import pytest

from autograms import Autogram, autograms_function
from autograms.functional import reply


def tiny_plain(x):
    return x + 1


@autograms_function()
def tiny_decorated(x):
    return x + 1


def loop_plain(n):
    s = 0
    for i in range(100):
        s += i * n
    return s


@autograms_function()
def loop_decorated(n):
    s = 0
    for i in range(100):
        s += i * n
    return s


def _python_calls(fn, n=100):
    """Python- and C-level calls seen by a profiler while calling fn n times."""
    count = [0]

    def prof(frame, event, arg):
        if event in ("call", "c_call"):
            count[0] += 1

    sys.setprofile(prof)
    try:
        for i in range(n):
            fn(i)
    finally:
        sys.setprofile(None)
    return count[0]


_inside = {}


@autograms_function()
def _counting_root():
    _inside["tiny"] = (_python_calls(tiny_plain), _python_calls(tiny_decorated))
    _inside["loop"] = (_python_calls(loop_plain), _python_calls(loop_decorated))
    reply("counted")


def _counts() -> dict:
    """The calls counted outside and inside a turn, as in a user's process."""
    text, _ = Autogram(root_function=_counting_root, test_mode=True).reply()
    assert text == "counted"
    outside = {
        "tiny": (_python_calls(tiny_plain), _python_calls(tiny_decorated)),
        "loop": (_python_calls(loop_plain), _python_calls(loop_decorated)),
    }
    return {"outside": outside, "inside": dict(_inside)}


@pytest.fixture(scope="module")
def call_counts():
    """Counted in a fresh interpreter: a test process may hold turns other tests left running
    in their threads, and a decorated call takes the in-a-turn path while any turn runs."""
    script = "import json, tests.outside.test_perf_s7_outside as t; print(json.dumps(t._counts()))"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("kind", ["tiny", "loop"])
def test_decorated_call_outside_a_turn_makes_no_extra_calls(call_counts, kind):
    plain, decorated = call_counts["outside"][kind]
    assert decorated == plain


def test_decorated_call_inside_a_turn_makes_no_extra_calls(call_counts):
    for kind in ("tiny", "loop"):
        plain, decorated = call_counts["inside"][kind]
        assert decorated == plain, kind


@autograms_function()
def _leaf(tid):
    return reply(f"turn {tid}")


@autograms_function()
def _mid_closure(tid):
    nums = [tid * k for k in range(4)]
    total = lambda: sum(nums) + tid  # noqa: E731 - a closure cell in a paused frame
    answer = _leaf(tid)
    return answer + str(total())


@autograms_function()
def _closure_root():
    tid = 0
    while True:
        tid += 1
        _mid_closure(tid)


def _run_turns(turns, probe):
    """Drive the closure bot turn by turn (deserialize -> reply -> serialize)."""
    ag = Autogram(root_function=_closure_root, test_mode=True)
    text, memory = ag.reply()
    blob = ag.serialize(memory)
    found = {}
    for t in range(1, turns + 1):
        if t in probe:
            tracemalloc.start()
        memory = ag.deserialize(blob)
        text, memory = ag.reply(f"msg {t}", memory_object=memory)
        blob = ag.serialize(memory)
        if t in probe:
            found[t] = {
                "peak": tracemalloc.get_traced_memory()[1],
                "state": len(ag.serialize(memory, include_log=False)),
                "text": text,
            }
            tracemalloc.stop()
    return found


@pytest.fixture(scope="module")
def closure_turns():
    return _run_turns(1000, {10, 1000})


def test_closure_bot_answers_every_turn(closure_turns):
    assert closure_turns[10]["text"] == "turn 11"
    assert closure_turns[1000]["text"] == "turn 1001"


@pytest.mark.xfail(
    strict=True,
    reason="the peak holds the session text the turn returns (134 KB at turn 1,000 against 4 KB "
    "at turn 10: the whole log, carried by default, and the live window with each turn's length "
    "and CRC, which grows until 6 x chatbot_max_input_len characters a level) and the pieces "
    "it is joined from: the peak less the returned text is 56 -> 77 KB, 1.37x "
    "(benchmarks/results/issue-11.md, session 8)",
)
def test_whole_turn_peak_allocation_flat_from_turn_10_to_1000(closure_turns):
    ratio = closure_turns[1000]["peak"] / closure_turns[10]["peak"]
    assert ratio <= 1.2, ratio


@pytest.mark.xfail(
    strict=True,
    reason="by design (README, Benchmarks): the state without the log grows with the live "
    "conversation (~3 -> 53 KB from turn 10 to 1,000 here) until each level holds "
    "6 x chatbot_max_input_len characters; flat from turn 10 is not promised",
)
def test_state_without_log_flat_from_turn_10_to_1000(closure_turns):
    ratio = closure_turns[1000]["state"] / closure_turns[10]["state"]
    assert ratio <= 1.2, ratio


_COLD = textwrap.dedent(
    """
    import sys
    from autograms import Autogram, autograms_function
    from autograms.functional import reply

    @autograms_function()
    def chatbot():
        name = reply("Hi! What is your name?")
        while True:
            reply(f"Hello {name}, say something")

    ag = Autogram(root_function=chatbot, test_mode=True)
    if sys.argv[1] == "make":
        text, memory = ag.reply()
        text, memory = ag.reply("Ada", memory_object=memory)
        ag.save(sys.argv[2], memory)
    else:
        memory = ag.load(sys.argv[2])
        text, memory = ag.reply("hello", memory_object=memory)
        assert text == "Hello Ada, say something", text
        heavy = ("ssl", "_ssl", "decimal", "_decimal", "openai", "bytecode", "dill", "httpx")
        print(sorted(m for m in sys.modules if m.split(".")[0] in heavy))
    """
)


def test_cold_turn_imports_nothing_heavy(tmp_path):
    script = tmp_path / "coldbot.py"
    script.write_text(_COLD)
    session = str(tmp_path / "bot.session")
    env = dict(os.environ, AUTOGRAMS_CODE_CACHE=str(tmp_path / "cache"))
    for mode in ("make", "warm-cache", "cold"):
        done = subprocess.run(
            [sys.executable, str(script), "make" if mode == "make" else "load", session],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout


def test_memory_per_live_session_is_small():
    ag = Autogram(root_function=_closure_root, test_mode=True)
    text, memory = ag.reply()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        live = []
        for _ in range(200):
            text, memory = ag.reply()
            for k in range(3):
                text, memory = ag.reply(f"u{k}", memory_object=memory)
            live.append(memory)
        per_session = (tracemalloc.get_traced_memory()[0] - before) / len(live)
    finally:
        tracemalloc.stop()
    assert per_session < 64 * 1024, per_session


_FIRST_TURN = textwrap.dedent(
    """
    import sys
    if sys.argv[3] == "many":
        import argparse, asyncio, concurrent.futures, csv, difflib, email.mime.multipart
        import fractions, http.server, ipaddress, logging.handlers, multiprocessing, pydoc
        import sqlite3, statistics, tarfile, unittest, uuid, xml.dom.minidom, zipfile
    from autograms import Autogram, autograms_function
    from autograms.functional import reply

    @autograms_function()
    def chatbot():
        name = reply("Hi! What is your name?")
        while True:
            reply(f"Hello {name}, say something")

    ag = Autogram(root_function=chatbot, test_mode=True)
    if sys.argv[1] == "make":
        text, memory = ag.reply()
        text, memory = ag.reply("Ada", memory_object=memory)
        ag.save(sys.argv[2], memory)
        raise SystemExit
    calls = [0]

    def prof(frame, event, arg):
        if event in ("call", "c_call"):
            calls[0] += 1

    sys.setprofile(prof)
    memory = ag.load(sys.argv[2])
    text, memory = ag.reply("hello", memory_object=memory)
    sys.setprofile(None)
    assert text == "Hello Ada, say something", text
    print(len(sys.modules), calls[0])
    """
)


def test_first_turn_work_does_not_grow_with_modules_the_app_imported(tmp_path):
    script = tmp_path / "firstturn.py"
    script.write_text(_FIRST_TURN)
    session = str(tmp_path / "bot.session")
    env = dict(os.environ, AUTOGRAMS_CODE_CACHE=str(tmp_path / "cache"))
    found = {}
    for mode in ("make", "few", "many"):
        done = subprocess.run(
            [sys.executable, str(script), "make" if mode == "make" else "load", session, mode],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        if mode != "make":
            found[mode] = [int(x) for x in done.stdout.split()]
    assert found["many"][0] > found["few"][0] + 100, found  # the app really imported more
    ratio = found["many"][1] / found["few"][1]
    assert ratio <= 1.2, found


@autograms_function()
def _talker():
    name = reply("Hi! What is your name?")
    while True:
        reply(f"Hello {name}, say something")


def _save_calls(ag, path):
    """Calls made by one save of the session at path after loading it and answering a turn."""
    memory = ag.load(path)
    text, memory = ag.reply("hi", memory_object=memory)
    count = [0]

    def prof(frame, event, arg):
        if event in ("call", "c_call"):
            count[0] += 1

    sys.setprofile(prof)
    try:
        ag.save(path, memory)
    finally:
        sys.setprofile(None)
    return count[0]


def test_saving_a_long_conversation_back_to_its_file_costs_what_a_short_one_does(tmp_path):
    ag = Autogram(root_function=_talker, test_mode=True)
    calls = {}
    for turns in (5, 1000):
        text, memory = ag.reply()
        for t in range(turns):
            text, memory = ag.reply(f"m{t}", memory_object=memory)
        path = str(tmp_path / f"s{turns}.session")
        ag.save(path, memory)
        calls[turns] = _save_calls(ag, path)
    assert calls[1000] <= 1.2 * calls[5], calls

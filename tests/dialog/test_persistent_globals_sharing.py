"""Generated programs whose persistent globals, user globals and module-level objects share
lists: every engine run (in process, after serialize/deserialize) must give the transcript of
the same program run as plain Python with one module per session (the oracle of
``tests/outside/engine_s11_support``).

Each program binds a few persistent globals (new lists, aliases of each other, lists holding
each other or module-level lists), then over three turns appends to them, rebinds them, puts
them in a module-level dict and in ``init_user_globals()``, keeps aliases in locals, and puts
module-level objects inside them. Every reply shows which of the objects it can reach are the
same object and what they hold, so a copy made by a pause, or two names that should share one
list and do not, shows in the transcript.
"""

from __future__ import annotations

import random
import threading

import pytest

from tests.outside import engine_s11_support as harness

PERSISTENT = ("P0", "P1", "P2", "P3")

PRELUDE = """
SENT = object()
LST = [1]
REG = {}
G = init_user_globals()
G["g"] = None

def show(value, seen=()):
    if value is SENT:
        return "SENT"
    if isinstance(value, list):
        if id(value) in seen:
            return "..."
        return [show(item, seen + (id(value),)) for item in value]
    return value

def report(*locals_):
    objs = [P0, P1, P2, P3, LST, REG.get("r"), G.get("g"), *locals_]
    same = [[int(a is b) for b in objs] for a in objs]
    return repr([same, [show(o) for o in objs]])
"""


def _binding(rng: random.Random, index: int) -> str:
    """The module-level value of persistent global `index` (earlier ones may be named)."""
    earlier = [f"P{i}" for i in range(index)]
    choices = ["[]", "[0]", "[LST]", "[SENT]"]
    if earlier:
        other = rng.choice(earlier)
        choices += [other, f"[{other}]", other]
    return rng.choice(choices)


def _statement(rng: random.Random, local: str, turn: int) -> str:
    """One random step of the program (all persistent globals are lists). A module-level
    dict's item is set before the first pause only: one set later is not a module-level
    place until the module is indexed again (docs/engine.md), for a local's list as well."""
    name, other = rng.choice(PERSISTENT), rng.choice(PERSISTENT)
    module_dict = [f'REG["r"] = {name}'] if turn == 0 else []
    return rng.choice(
        [
            *module_dict,
            f"{name}.append({rng.randint(2, 9)})",
            f"{name}.append(LST)",
            f"{name}.append(SENT)",
            f"{name}.append({other})",
            f"{name} = {other}",
            f"{name} = [{rng.randint(2, 9)}]",
            f'G["g"] = {name}',
            'G["g"] = LST',
            f"{local} = {name}",
            "LST.append(7)",
        ]
    )


def program(seed: int) -> str:
    """The source of generated program `seed`."""
    rng = random.Random(seed)
    lines = [PRELUDE, "with set_persistent_globals():"]
    lines += [f"    P{i} = {_binding(rng, i)}" for i in range(len(PERSISTENT))]
    lines.append(f'G["g"] = {rng.choice(["None", "[LST]", "[SENT]", "[]"])}')
    lines += ["", "@autograms_function()", "def chatbot():", f"    global {', '.join(PERSISTENT)}"]
    lines += ["    a = b = None"]
    for turn in range(3):
        for _ in range(rng.randint(1, 4)):
            lines.append("    " + _statement(rng, rng.choice("ab"), turn))
        ending = "return reply" if turn == 2 else "reply"
        lines.append(f"    {ending}(report(a, b))")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(40))
def test_generated_sharing_of_persistent_globals_matches_plain_python(tmp_path, seed):
    source = program(seed)
    results = harness.compare(tmp_path, source, ["", "u1", "u2", "u3"])
    plain = results["plain"]
    for mode, transcript in results.items():
        assert transcript == plain, f"seed {seed}, {mode} differs:\n{source}\n{transcript}\n{plain}"


USER_GLOBAL_DEFAULTS = """
LST = [1]
G = init_user_globals()
G["l"] = [LST]
G["a"] = []
G["b"] = G["a"]

@autograms_function()
def chatbot():
    G["a"].append(1)
    reply(repr([G["l"][0] is LST, G["b"] is G["a"], G["b"]]))
    LST.append(2)
    return reply(repr([G["l"][0] is LST, G["l"], G["b"] is G["a"]]))
"""


def test_user_global_defaults_keep_module_objects_and_sharing(tmp_path):
    """A module-level list inside a default of init_user_globals() is that list in every
    session (it was a copy), and two defaults bound to one list stay one list."""
    results = harness.compare(tmp_path, USER_GLOBAL_DEFAULTS, ["", "u1", "u2"])
    assert results["plain"] == ["[True, True, [1]]", "[True, [[1, 2]], True]", None]
    harness.assert_same(results)


GLOBALS_BOUND_TO_MODULE_OBJECTS = """
TABLE = {"n": 0}
ROWS = []
G = init_user_globals()
G["table"] = TABLE
with set_persistent_globals():
    P = ROWS

@autograms_function()
def chatbot():
    G["table"]["n"] += 1
    P.append(1)
    return reply(repr([G["table"], P, G["table"] is TABLE, P is ROWS]))
"""


def test_per_session_globals_bound_to_module_objects_are_each_sessions_own(tmp_path):
    """A persistent global or a user-global default bound to another module global (`P =
    ROWS`, `G["table"] = TABLE`) is each session's own copy: were it the module's object, one
    session's changes would reach every other session (by design; plain Python, one module
    per session, has `P is ROWS`)."""
    from autograms import Autogram

    name, _ = harness.write_bot(tmp_path, GLOBALS_BOUND_TO_MODULE_OBJECTS)
    bot = harness.import_bot(tmp_path, name)
    autogram = Autogram(root_function=bot.chatbot, test_mode=True)
    first, _ = autogram.reply("")
    second, _ = autogram.reply("")
    assert first == second == "[{'n': 1}, [1], False, False]", (first, second)
    assert bot.TABLE == {"n": 0} and bot.ROWS == [], (bot.TABLE, bot.ROWS)


GENERATORS_OVER_PERSISTENT_GLOBALS = """
with set_persistent_globals():
    N = 1
    ITEMS = [10, 20]

def evens():
    yield from (N * i for i in range(3) if i % 2 == 0)

@autograms_function()
def chatbot():
    global N
    done = (N + i for i in range(2))
    first = list(done)
    fresh = (x + N for x in ITEMS)
    helper = evens()
    reply(repr(first))
    N = 5
    again = (N for _ in range(1))
    reply(repr([list(fresh), list(helper), list(done)]))
    return reply(repr([list(again), list(fresh)]))
"""


def test_generators_over_persistent_globals_across_pauses_in_fresh_processes(tmp_path):
    """Generator expressions reading persistent globals, held across pauses not started yet or
    finished, and a plain helper's generator: the code a routed generator expression runs
    holds the routes' callbacks, so it is saved as where it is (it was refused)."""
    results = harness.compare(
        tmp_path,
        GENERATORS_OVER_PERSISTENT_GLOBALS,
        ["", "u1", "u2", "u3"],
        ("in_process", "serialized", "fresh_process"),
    )
    assert results["plain"] == ["[1, 2]", "[[15, 25], [0, 10], []]", "[[5], []]", None]
    harness.assert_same(results)


CONCURRENT_TURNS_WITH_A_WORKER = """
import threading, concurrent.futures
FIRST_IN = threading.Event()
RELEASE = threading.Event()
CALLS = []
with set_persistent_globals():
    N = 0

def in_worker(function):
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(function).result()

def bump():
    global N
    N += 1
    return N

@autograms_function()
def chatbot():
    CALLS.append(1)
    if len(CALLS) == 1:
        FIRST_IN.set()
        RELEASE.wait(120)
        return reply("first")
    try:
        counted = in_worker(bump)
    finally:
        RELEASE.set()
    return reply(repr(counted))
"""


def test_worker_thread_using_persistent_globals_while_two_sessions_run_is_refused(tmp_path):
    """A thread with no session of its own uses the session whose turn runs; while two
    sessions run turns, which one started it is unknown: the access raises (the turn fails and
    its session stays as it was) rather than change the module's values or another
    session's. Alone, the same session's next turn counts in its own value."""
    from autograms import Autogram

    name, _ = harness.write_bot(tmp_path, CONCURRENT_TURNS_WITH_A_WORKER)
    bot = harness.import_bot(tmp_path, name)
    autogram = Autogram(root_function=bot.chatbot, test_mode=True)
    first: list = []
    thread = threading.Thread(target=lambda: first.append(autogram.reply("")))
    thread.start()
    assert bot.FIRST_IN.wait(120), "the first session's turn never started"
    with pytest.raises(RuntimeError, match="several sessions run turns") as refused:
        autogram.reply("")
    thread.join(120)
    assert first and first[0][0] == "first", f"first session's turn: {first}"
    assert "'N' of" in str(refused.value), str(refused.value)
    text, _ = autogram.reply("")  # one turn running: the worker counts in the session's N
    assert text == "1", text
    assert bot.N == 0, "the module's own value changed"

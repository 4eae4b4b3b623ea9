"""Closures a program hands to a module (a list, a dict, a global, a `functools.partial` in a
list), generated at random and run by the engine against plain Python: in process, after
serialize/deserialize, and (for programs that call them only through their locals after a
pause) with a fresh process per turn, where the module holds what its import made.

The rule under test is docs/engine.md, 'Closures, functions and code'.
"""

from __future__ import annotations

import random

import pytest

from tests.outside import engine_s11_support as harness

PRELUDE = """
import functools
HANDLERS = []
REG = {}
CB = None

@autograms_function()
def chatbot():
    global CB
"""


def _registration(name: str, how: str, step: int, handlers: int) -> tuple[str, str | None]:
    """The statement handing closure `name` to the module, and how to call it from there."""
    if how == "list":
        return f"HANDLERS.append({name})", f"HANDLERS[{handlers}]()"
    if how == "partial":
        return f"HANDLERS.append(functools.partial({name}, {step * 10}))", f"HANDLERS[{handlers}]()"
    if how == "dict":
        return f"REG[{name!r}] = {name}", f"REG[{name!r}]()"
    if how == "global":
        return f"CB = {name}", "CB()"
    return "pass", None


def generate(seed: int) -> tuple[str, bool]:
    """A bot whose closures share counters with its frame; (its source, fresh-process safe)."""
    rng = random.Random(seed)
    fresh_safe = rng.random() < 0.5
    counters = [f"c{i}" for i in range(rng.randint(1, 3))]
    lines = [f"    {counter} = 0" for counter in counters]
    names, callers, handlers = [], [], 0
    for index in range(rng.randint(1, 4)):
        name, counter, step = f"f{index}", rng.choice(counters), rng.randint(1, 9)
        lines += [
            f"    def {name}(k={step}):",
            f"        nonlocal {counter}",
            f"        {counter} += k",
            f"        return {counter}",
        ]
        how = rng.choice(["list", "partial", "dict", "global", "none"])
        statement, caller = _registration(name, how, step, handlers)
        handlers += how in ("list", "partial")
        callers = [c for c in callers if not (how == "global" and c == "CB()")]
        lines.append(f"    {statement}")
        names.append(name)
        callers += [caller] if caller else []
    show = "repr([" + ", ".join(counters) + "])"
    paused = False
    for _ in range(rng.randint(3, 8)):
        kind = rng.random()
        if kind < 0.35:
            lines.append(f"    reply('at ' + {show})")
            paused = True
        elif kind < 0.6:
            lines.append(f"    {rng.choice(names)}()")
        elif kind < 0.85 and callers and not (fresh_safe and paused):
            lines.append(f"    {rng.choice(callers)}")
        else:
            lines.append(f"    {rng.choice(counters)} += 100")
    lines += [
        "    while True:  # never ends: a new conversation would meet the old registrations",
        f"        reply('end ' + {show})",
    ]
    return PRELUDE + "\n".join(lines) + "\n", fresh_safe


@pytest.mark.parametrize("first_seed", [0, 6])
def test_random_registered_closures_match_plain_python(tmp_path, first_seed):
    programs = {f"reg{seed}": generate(seed) for seed in range(first_seed, first_seed + 6)}
    messages = [""] + [f"m{i}" for i in range(1, 10)]
    found = harness.differential(tmp_path, programs, messages)
    sources = {name: programs[name][0] for name in found}
    assert not found, f"divergences (program: mode, turn, engine, plain): {found}\n{sources}"


CALLED_BETWEEN_TURNS = """
HANDLERS = []

@autograms_function()
def chatbot():
    count = 0
    def inc():
        nonlocal count
        count += 1
    HANDLERS.append(inc)
    while True:
        answer = reply(f"count={count}")
        count += 10
        if answer == "boom":
            raise ValueError("boom")
"""


def test_failed_turn_undoes_its_own_change_and_keeps_the_callbacks(tmp_path):
    """The host calls the registered callback between turns; a turn then fails: the retried
    turn starts from the cell as the callback left it, without the failed turn's change."""
    from autograms import Autogram

    name, _ = harness.write_bot(tmp_path, CALLED_BETWEEN_TURNS)
    bot = harness.import_bot(tmp_path, name)
    autogram = Autogram(root_function=bot.chatbot, test_mode=True)
    text, memory = autogram.reply("")
    assert text == "count=0"
    bot.HANDLERS[-1]()
    with pytest.raises(ValueError, match="boom"):
        autogram.reply("boom", memory_object=memory)
    bot.HANDLERS[-1]()
    text, memory = autogram.reply("b", memory_object=memory)
    assert text == "count=12", "the failed turn's += 10 should be undone, the callbacks' kept"


MODULE_LAMBDA_IN_A_LOCAL = """
F = lambda: 1
def make():
    return lambda: 2
G = make()

@autograms_function()
def chatbot():
    f, g = F, G
    reply("p")
    return reply(repr([f is F, g is G, f(), g()]))
"""


def test_module_level_lambdas_in_locals_stay_the_modules_in_a_fresh_process(tmp_path):
    """Functions the module's import made are found at their place in a new process."""
    modes = ("in_process", "serialized", "fresh_process")
    harness.assert_same(harness.compare(tmp_path, MODULE_LAMBDA_IN_A_LOCAL, ["", "a", "b"], modes))

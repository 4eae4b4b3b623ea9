"""Objects that callables handed to a module hold (a bound method's object, a partial's
argument, a registered closure's cell contents) and that the paused frame holds too, generated
at random and run by the engine against plain Python: in process, after serialize/deserialize,
and (for programs that call the callables only through their locals after a pause) with a
fresh process per turn.

The rule under test is docs/engine.md, 'Closures, functions and code': such an object comes
back as itself in the process that paused, else as a copy.
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
with set_persistent_globals():
    ITEMS = []

class Box:
    def __init__(self):
        self.n = 0
    def add(self, k=1):
        self.n += k
        return self.n

def record(box, k=1):
    box.n += k
    return box.n

@autograms_function()
def chatbot():
    global CB
"""


def _callable(rng: random.Random, boxes: list[str], lists: list[str]) -> str:
    """An expression making a callable that holds one of the frame's objects."""
    step = rng.randint(1, 9)
    kinds = ["method", "partial", "closure"] if boxes else []
    kind = rng.choice(kinds + ["list-closure", "append"])
    if kind == "method":
        return f"{rng.choice(boxes)}.add"
    if kind == "partial":
        return f"functools.partial(record, {rng.choice(boxes)}, {step})"
    if kind == "closure":
        return f"(lambda k={step}: {rng.choice(boxes)}.add(k))"
    target = rng.choice(lists)
    if kind == "list-closure":
        return f"(lambda k={step}: {target}.append(k) or len({target}))"
    return f"functools.partial({target}.append, {step})"


def _registration(name: str, rng: random.Random, handlers: int) -> tuple[str, str | None]:
    """The statement handing the callable `name` to the module, and how to call it there."""
    how = rng.choice(["list", "dict", "global", "none"])
    if how == "list":
        return f"HANDLERS.append({name})", f"HANDLERS[{handlers}]()"
    if how == "dict":
        return f"REG[{name!r}] = {name}", f"REG[{name!r}]()"
    if how == "global":
        return f"CB = {name}", "CB()"
    return "pass", None


def generate(seed: int) -> tuple[str, bool]:
    """A bot whose registered callables hold its objects; (its source, fresh-process safe)."""
    rng = random.Random(seed)
    fresh_safe = rng.random() < 0.4
    boxes = [f"b{i}" for i in range(rng.randint(0, 3))]
    lists = [f"l{i}" for i in range(rng.randint(1, 2))]
    lines = [f"    {box} = Box()" for box in boxes]
    lines += [f"    {name} = []" for name in lists]
    persistent = rng.random() < 0.4
    if persistent:  # a local aliasing a persistent global's list
        lines[-1] = f"    {lists[-1]} = ITEMS"
    aliases = [f"    a{i} = {name}" for i, name in enumerate(boxes + lists) if rng.random() < 0.5]
    if boxes and rng.random() < 0.5:  # reached from a held object: a box's own list
        lines += [f"    {boxes[0]}.log = []", f"    {lists[0]} = {boxes[0]}.log"]
        aliases.append(f"    a{len(aliases) + 9} = {boxes[0]}.log")
    if rng.random() < 0.4:  # a list holding a box, captured by a registered closure
        holder = boxes[-1] if boxes else "0"
        lines += [f"    shelf = [{holder}]", "    HANDLERS.append(lambda: shelf)"]
        aliases.append(f"    a{len(aliases) + 20} = shelf")
        shown_extra = [f"shelf[0] is {holder}"] if boxes else []
    else:
        shown_extra = []
    lines += aliases
    names, callers = [], []
    handlers = sum(line.startswith("    HANDLERS") for line in lines)
    for index in range(rng.randint(1, 4)):
        name = f"f{index}"
        lines.append(f"    {name} = {_callable(rng, boxes, lists)}")
        statement, caller = _registration(name, rng, handlers)
        handlers += statement.startswith("HANDLERS")
        callers = [c for c in callers if not (caller == "CB()" and c == "CB()")]
        lines.append(f"    {statement}")
        names.append(name)
        callers += [caller] if caller else []
    shown = [f"{box}.n" for box in boxes] + [f"list({name})" for name in lists]
    shown += [f"{line.split()[0]} is {line.split()[-1]}" for line in aliases] + shown_extra
    if persistent:
        shown.append(f"{lists[-1]} is ITEMS")
    show = "repr([" + ", ".join(shown) + "])"
    paused = False
    for _ in range(rng.randint(3, 8)):
        kind = rng.random()
        if kind < 0.35:
            lines.append(f"    reply('at ' + {show})")
            paused = True
        elif kind < 0.6:
            lines.append(f"    {rng.choice(names)}()")
        elif kind < 0.8 and callers and not (fresh_safe and paused):
            lines.append(f"    {rng.choice(callers)}")
        elif kind < 0.9 and boxes:
            lines.append(f"    {rng.choice(boxes)}.n += 100")
        else:
            lines.append(f"    {rng.choice(lists)}.append(0)")
    lines += [
        "    while True:  # never ends: a new conversation would meet the old registrations",
        f"        reply('end ' + {show})",
    ]
    return PRELUDE + "\n".join(lines) + "\n", fresh_safe


@pytest.mark.parametrize("first_seed", [0, 6])
def test_random_held_objects_match_plain_python(tmp_path, first_seed):
    programs = {f"heldobj{seed}": generate(seed) for seed in range(first_seed, first_seed + 6)}
    messages = [""] + [f"m{i}" for i in range(1, 10)]
    found = harness.differential(tmp_path, programs, messages)
    sources = {name: programs[name][0] for name in found}
    assert not found, f"divergences (program: mode, turn, engine, plain): {found}\n{sources}"


PARTIAL_BOUND_TO_A_GLOBAL = """
import functools
CB = None
class Box:
    def __init__(self):
        self.n = 0
    def add(self, k=1):
        self.n += k
        return self.n

def record(items, k=1):
    items.append(k)
    return len(items)

@autograms_function()
def chatbot():
    global CB
    items, box = [], Box()
    f = functools.partial(record, items, 3)
    CB = f
    m = box.add
    CB = m
    CB = f
    reply("p")
    f()
    m()
    return reply(repr([items, box.n, f.args[0] is items, m.__self__ is box]))
"""


def test_partial_or_method_bound_to_a_global_at_run_time_in_a_fresh_process(tmp_path):
    """A new process's global holds what its import made (None): the session's partial and
    method are copies there, not that None (every later turn raised TypeError: stuck)."""
    modes = ("in_process", "serialized", "fresh_process")
    harness.assert_same(harness.compare(tmp_path, PARTIAL_BOUND_TO_A_GLOBAL, ["", "a", "b"], modes))

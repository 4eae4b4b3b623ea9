"""Random bot programs whose frames share module-level data (test_engine_s11_outside.py).

Every program has the same prelude of module-level objects (a list, a dict of lists, a tuple of
containers, a class and an instance holding lists, a deque, a sentinel, a callback list and
persistent globals), and a few decorated functions that alias those objects in locals and in
local containers, change them through the aliases, register closures, keep sets, call each
other and pause. Each reply shows what the program can see (values and `is` checks), so a
resume that copies, reorders or drops something shows in the transcript. Programs end (loops
and calls are bounded) and depend on no address or string hash.

`fresh_safe` programs change no module-level object except the persistent globals (which belong
to the session), so a fresh process per turn must give plain Python's transcript too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

PRELUDE = """
import collections
SENT = object()
LST = [1, 2]
TABLE = {"a": [0], "b": [5]}
TUP = ([], {"t": 0})
class Box:
    shared = []
    def __init__(self):
        self.items = []
BOX = Box()
DQ = collections.deque([9])
HANDLERS = []
SWAP = {"x": [1], "y": [2]}
CURRENT = [0]

def swap_global(new):
    global CURRENT
    CURRENT = new

def ask_twice(tag, items):
    first = reply(tag + ":first")
    items.append(len(first))
    second = reply(tag + ":second " + repr(items[-3:]))
    return first + "/" + second

class Asker:
    def __init__(self):
        self.asked = []
    def ask(self, tag):
        answer = reply(tag + ":ask")
        self.asked.append(answer)
        return answer.upper()
ASKER = Asker()

with set_persistent_globals():
    PL = []
    PN = 0
    PD = {"k": 0}
"""

# name -> (expression giving the object, kind, changes a non-persistent module object)
SHARED = {
    "LST": ("LST", "list", True),
    "TABLE_a": ('TABLE["a"]', "list", True),
    "TUP0": ("TUP[0]", "list", True),
    "TUP1": ("TUP[1]", "dict", True),
    "BOXI": ("BOX.items", "list", True),
    "BOXS": ("Box.shared", "list", True),
    "DQ": ("DQ", "list", True),
    "PL": ("PL", "list", False),
    "PD": ("PD", "dict", False),
}


@dataclass
class _Function:
    name: str
    rng: random.Random
    fresh_safe: bool
    callees: list[str]
    avoid_known: bool = False
    lines: list[str] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)  # local -> SHARED key
    counter: int = 0
    pauses: int = 0

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"


def _shared_keys(fn: _Function) -> list[str]:
    return [k for k, (_, _, module) in SHARED.items() if not (fn.fresh_safe and module)]


def _observe(fn: _Function) -> str:
    """An expression showing what the frame sees now."""
    parts = []
    for local, key in list(fn.aliases.items())[:4]:
        expr, kind, _ = SHARED[key]
        parts.append(f"{local} is {expr}")
        parts.append(f"list({local})[-3:]" if kind == "list" else f"sorted({local}.items())")
    parts.append("PN")
    parts.append("len(PL)")
    return "[" + ", ".join(parts) + "]"


def _pause(fn: _Function, indent: str) -> list[str]:
    fn.pauses += 1
    var = fn.fresh("u")
    tag = f"{fn.name}.{fn.pauses}"
    form = fn.rng.randrange(4)
    if form == 0:
        return [f'{indent}{var} = reply("{tag}:" + repr({_observe(fn)}))']
    if form == 1:
        return [f'{indent}{var} = str(len(reply("{tag}:" + repr({_observe(fn)})))) + "!"']
    if form == 2:
        return [f'{indent}{var} = [PN, reply("{tag}:" + repr({_observe(fn)}))]']
    return [f"""{indent}{var} = f'{{PN}}-{{reply("{tag}:" + repr({_observe(fn)}))}}'"""]


def _mutate(fn: _Function, indent: str) -> list[str]:
    if not fn.aliases:
        return _alias(fn, indent)
    local = fn.rng.choice(list(fn.aliases))
    _, kind, _ = SHARED[fn.aliases[local]]
    value = fn.rng.randrange(100)
    if kind == "list":
        return [f"{indent}{local}.append({value})"]
    return [f'{indent}{local}["k{value % 3}"] = {local}.get("k{value % 3}", 0) + 1']


def _alias(fn: _Function, indent: str) -> list[str]:
    key = fn.rng.choice(_shared_keys(fn))
    local = fn.fresh("a")
    fn.aliases[local] = key
    return [f"{indent}{local} = {SHARED[key][0]}"]


def _nested_alias(fn: _Function, indent: str) -> list[str]:
    """Module objects inside a local's containers, checked (by a lambda) after a pause."""
    candidates = _shared_keys(fn)
    if fn.avoid_known:  # a module dict inside a local's container is copied (a known finding)
        candidates = [k for k in candidates if SHARED[k][1] != "dict"]
    keys = [fn.rng.choice(candidates) for _ in range(2)]
    local = fn.fresh("w")
    inner = ", ".join(SHARED[k][0] for k in keys)
    checks = ", ".join(f"{local}[1][{i}] is {SHARED[k][0]}" for i, k in enumerate(keys))
    checks = f'[{local}[0] is SENT, {checks}, {local}[2]["x"][0] is {SHARED[keys[0]][0]}]'
    lines = [f'{indent}{local} = [SENT, ({inner},), {{"x": [{SHARED[keys[0]][0]}]}}]']
    persistent = any(not SHARED[k][2] for k in keys)
    if fn.avoid_known and persistent:  # a lambda over a persistent global (a known finding)
        lines += _pause(fn, indent)
        return lines + _pause_showing(fn, indent, checks)
    show = fn.fresh("c")
    lines.append(f"{indent}{show} = lambda: {checks}")
    lines += _pause(fn, indent)
    return lines + _pause_showing(fn, indent, f"{show}()")


def _persistent(fn: _Function, indent: str) -> list[str]:
    choice = fn.rng.randrange(4)
    if choice == 0:
        return [f"{indent}PN += {fn.rng.randrange(1, 5)}"]
    if choice == 1:
        return [f"{indent}PL.append(PN)"]
    if choice == 2:
        return [f'{indent}PD["k"] += 1']
    return [f"{indent}PN = len(PL) + sum(x for x in PL if type(x) is int and x % 2 == 0) % 7"]


def _set_ops(fn: _Function, indent: str) -> list[str]:
    local = fn.fresh("s")
    values = [fn.rng.randrange(-20, 200) for _ in range(fn.rng.randrange(3, 12))]
    gone = fn.rng.sample(values, k=min(2, len(values)))
    lines = [f"{indent}{local} = set({values!r})"]
    lines += [f"{indent}{local}.discard({g})" for g in gone]
    lines.append(f"{indent}{local}.add({fn.rng.randrange(1000)})")
    lines += _pause_showing(fn, indent, f"list({local})")
    lines.append(f"{indent}{local}.add({fn.rng.randrange(1000)})")
    lines.append(f"{indent}PL.append(list({local})[:4])")
    return lines


def _pause_showing(fn: _Function, indent: str, expr: str) -> list[str]:
    fn.pauses += 1
    return [f'{indent}reply("{fn.name}.{fn.pauses}:" + repr({expr}))']


def _closure(fn: _Function, indent: str) -> list[str]:
    cell = fn.fresh("n")
    cb = fn.fresh("cb")
    lines = [
        f"{indent}{cell} = {fn.rng.randrange(10)}",
        f"{indent}def {cb}():",
        f"{indent}    nonlocal {cell}",
        f"{indent}    {cell} += 1",
        f"{indent}    return {cell}",
    ]
    if not fn.fresh_safe:
        lines.append(f"{indent}HANDLERS.append({cb})")
    lines += _pause(fn, indent)
    lines.append(f"{indent}{cell} += 10")
    target = (
        f"HANDLERS[-1]() if HANDLERS[-1] is {cb} else {cb}()" if not fn.fresh_safe else f"{cb}()"
    )
    lines += _pause_showing(fn, indent, f"[{target}, {cell}]")
    return lines


def _call(fn: _Function, indent: str) -> list[str]:
    if not fn.callees:
        return _pause(fn, indent)
    callee = fn.rng.choice(fn.callees)
    var = fn.fresh("r")
    return [f"{indent}{var} = {callee}({fn.rng.randrange(3)})", f"{indent}PL.append({var})"]


def _loop(fn: _Function, indent: str, depth: int) -> list[str]:
    var = fn.fresh("i")
    lines = [f"{indent}for {var} in range({fn.rng.randrange(1, 3)}):"]
    lines += _block(fn, indent + "    ", depth + 1, fn.rng.randrange(1, 3))
    return lines


def _try(fn: _Function, indent: str, depth: int) -> list[str]:
    lines = [f"{indent}try:"]
    lines += _block(fn, indent + "    ", depth + 1, 1)
    lines.append(f"{indent}    raise KeyError(PN)")
    lines.append(f"{indent}except KeyError as err:")
    lines += _block(fn, indent + "    ", depth + 1, 1)
    lines.append(f"{indent}    PL.append(str(err))")
    return lines


def _helper(fn: _Function, indent: str) -> list[str]:
    """Plain (undecorated) helpers that pause and change what they are given or hold."""
    var = fn.fresh("h")
    fn.pauses += 1
    tag = f"{fn.name}.{fn.pauses}"
    if fn.rng.random() < 0.5 or fn.fresh_safe:
        target = fn.rng.choice(list(fn.aliases) or ["PL"])
        if target != "PL" and SHARED[fn.aliases[target]][1] != "list":
            target = "PL"
        return [f'{indent}{var} = ask_twice("{tag}", {target})'] + _pause_showing(
            fn, indent, f"[{var}, list({target})[-3:]]"
        )
    return [f'{indent}{var} = ASKER.ask("{tag}")'] + _pause_showing(
        fn, indent, f"[{var}, ASKER.asked[-2:]]"
    )


def _rebind(fn: _Function, indent: str) -> list[str]:
    """The program rebinds module-level places while a local holds what they held."""
    old = fn.fresh("o")
    lines = [f"{indent}{old} = CURRENT", f"{indent}swap_global([{fn.rng.randrange(50)}])"]
    lines += [f'{indent}SWAP["x"], SWAP["y"] = SWAP["y"], SWAP["x"]']
    lines += _pause(fn, indent)
    lines.append(f"{indent}{old}.append(1)")
    return lines + _pause_showing(
        fn, indent, f'[{old} is CURRENT, {old}[-2:], CURRENT, SWAP["x"][:2], SWAP["y"][:2]]'
    )


def _block(fn: _Function, indent: str, depth: int, count: int) -> list[str]:
    lines: list[str] = []
    for _ in range(count):
        kinds = ["pause", "mutate", "alias", "persistent", "call", "nested", "sets", "closure"]
        kinds += ["helper"] + ([] if fn.fresh_safe else ["rebind"])
        if depth < 2:
            kinds += ["loop", "try"]
        kind = fn.rng.choice(kinds)
        if kind == "pause":
            lines += _pause(fn, indent)
        elif kind == "mutate":
            lines += _mutate(fn, indent)
        elif kind == "alias":
            lines += _alias(fn, indent)
        elif kind == "persistent":
            lines += _persistent(fn, indent)
        elif kind == "call":
            lines += _call(fn, indent)
        elif kind == "nested":
            lines += _nested_alias(fn, indent)
        elif kind == "sets":
            lines += _set_ops(fn, indent)
        elif kind == "helper":
            lines += _helper(fn, indent)
        elif kind == "rebind":
            lines += _rebind(fn, indent)
        elif kind == "closure":
            lines += _closure(fn, indent)
        elif kind == "loop":
            lines += _loop(fn, indent, depth)
        else:
            lines += _try(fn, indent, depth)
    return lines


def generate(seed: int, avoid_known: bool = False) -> tuple[str, bool]:
    """A program (module body defining `chatbot`) and whether it is fresh-process safe.

    `avoid_known` leaves out the constructs of this file's strict xfails, so a run shows
    only what is new.
    """
    rng = random.Random(seed)
    fresh_safe = rng.random() < 0.5
    count = rng.randrange(1, 4)
    names = [f"f{i}" for i in range(count - 1)] + ["chatbot"]
    names.reverse()  # chatbot first, then f0, f1 ... each calls only later ones
    body = [PRELUDE]
    for index in reversed(range(count)):
        name = names[index]
        fn = _Function(name, rng, fresh_safe, names[index + 1 :], avoid_known)
        lines = _block(fn, "    ", 0, rng.randrange(2, 6))
        lines += _pause_showing(fn, "    ", _observe(fn))
        params = "" if name == "chatbot" else "arg"
        body.append("@autograms_function()")
        body.append(f"def {name}({params}):")
        body.append("    global PN")
        body += lines
        body.append(f"    return {_observe(fn)}")
        body.append("")
    return "\n".join(body) + "\n", fresh_safe

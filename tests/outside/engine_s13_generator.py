"""Random bot programs for session 13's outside engine tests (engb), written from the docs.

``generate(seed)`` gives a ``Generated``: the bot's source for autograms and an equivalent one for
plain Python (GOTO and RETURNTO written as loops and an exception, since plain Python has no
jumps), the user's messages, and whether a fresh process per turn may be compared (not when the
program changes module-level state, which a new process does not have).

Every pause goes through ``ask``, a decorated function; the answer "zz" makes ``ask`` pause in a
way the engine refuses (inside a comprehension, holding a lock, through ``map``, holding a
started generator). Such a turn must leave the session as it was: the oracle is plain Python
given the same messages without the refused ones.

A program mixes loops (break, continue, else), while loops, try/except/finally (a finally that
pauses, a return passing it), class-based ``with`` blocks, match, nested decorated calls,
pauses inside partly evaluated expressions and under comprehensions and built-in calls,
closures (one registered in a module list the app fires between turns), module-level objects
in locals (a sentinel, a module dict's entry, a module list), per-session globals
(``init_user_globals`` and ``set_persistent_globals``) and GOTO/RETURNTO.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

ANSWERS = ["a", "b", "bb", "3", "x", "a", "b"]

PRELUDE = """\
import asyncio, enum, functools, threading
from dataclasses import dataclass, field
MISSING = object()
REG = {}

class Color(enum.Enum):
    RED = 1
    BLUE = 2

@dataclass
class Item:
    name: str
    seen: list = field(default_factory=list)

async def in_loop(n):
    await asyncio.sleep(0)
    PL.append(n)
    G["c"] = G.get("c", 0) + 1
    return len(PL)

CACHE = {"s": {"n": 0}, "rows": [1, 2, 3]}
ROWS = ["r0", "r1", "r2"]
HANDLERS = []
G = init_user_globals()
with set_persistent_globals():
    PL = []
    PN = 0

class Rec:
    def __init__(self, tr, name):
        self.tr = tr
        self.name = name
    def __enter__(self):
        self.tr.append("enter " + self.name)
        return self
    def __exit__(self, kind, value, tb):
        self.tr.append("exit " + self.name + ("" if kind is None else " exc"))
        return False

class ReturnTo(BaseException):
    def __init__(self, label):
        self.label = label

def app_between(turn):
    for handler in HANDLERS:
        handler()
    for handler in list(REG.values()):
        handler()

def started():
    yield 1
    yield 2

@autograms_function()
def ask(text, tr):
    answer = reply(f"{text} {tr[-4:]} {len(tr)} {G.get('c')} {PL[-2:]} {PN}")
    if answer == "zz":
        {refusal}
    return answer
"""

REFUSALS = [
    'got = [reply(q) for q in "ab"]',
    'lock = threading.Lock(); reply("lock")',
    'got = list(map(reply, ["m"]))',
    'gen = started(); next(gen); reply("gen")',
]


@dataclass
class Generated:
    seed: int
    engine_source: str
    plain_source: str
    messages: list[str]
    fresh_ok: bool


class _Writer:
    """Writes one program twice: the autograms flavour and the plain one."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.ag: list[str] = []
        self.plain: list[str] = []
        self.counter = 0
        self.pauses = 0
        self.module_changes = False
        self.helper_sources: list[tuple[list[str], list[str]]] = []
        self.helpers_with_returnto: dict[str, list[str]] = {}
        self.returnto_slots: dict[str, tuple[list[str], list[str], int, int]] = {}

    def both(self, indent: int, line: str) -> None:
        self.ag.append("    " * indent + line)
        self.plain.append("    " * indent + line)

    def only(self, ag_line: str | None, plain_line: str | None, indent: int) -> None:
        if ag_line is not None:
            self.ag.append("    " * indent + ag_line)
        if plain_line is not None:
            self.plain.append("    " * indent + plain_line)

    def new_id(self) -> int:
        self.counter += 1
        return self.counter


@dataclass
class _Ctx:
    in_loop: bool = False
    in_finally: bool = False
    in_except: bool = False
    in_with: bool = False
    in_try: bool = False
    depth: int = 0
    is_helper: bool = False
    level: int = 0  # helper nesting (a helper calls only deeper helpers)


def _cond(rng: random.Random, var: str) -> str:
    return rng.choice(
        [
            f'{var} == "b"',
            f"len({var}) > 1",
            f"{var}.isdigit()",
            f'{var} != "a"',
            f'{var}.startswith("x")',
        ]
    )


def _pause_expr(w: _Writer, ctx: _Ctx) -> tuple[str, str]:
    """A statement assigning a pausing expression to a new local; (statement, local)."""
    n = w.new_id()
    w.pauses += 1
    var = f"v{n}"
    call = f'ask("p{n}", tr)'
    form = w.rng.randrange(12)
    expr = [
        call,
        f'"p:" + {call}',
        f"str(len(tr)) + {call}",
        f"[len(tr), {call}][1]",
        f"{call}.upper().lower()",
        f'{{"k": {call}}}["k"]',
        f"f'{{len(tr)}}{{{call}}}'[len(str(len(tr))):]",
        f'max({call}, "")',
        f'"".join([c for c in {call}])',
        f'"".join(sorted({call}))',
        f'(tr[-1] if tr else "", {call})[1]',
        f"str(CACHE['rows'][0]) + {call}",
    ][form]
    return f"{var} = {expr}", var


def _block(w: _Writer, ctx: _Ctx, indent: int, size: int, last: list[str]) -> None:
    """Statements into both flavours; ``last`` holds the answers read so far (locals)."""
    for _ in range(size):
        _statement(w, ctx, indent, last)


def _statement(w: _Writer, ctx: _Ctx, indent: int, last: list[str]) -> None:
    rng = w.rng
    deep = ctx.depth >= 3
    kinds = ["trace", "pause", "pause", "pause", "session", "module"]
    if not deep:
        kinds += ["if", "for", "while", "try", "with", "match", "dictloop"]
        if not ctx.in_finally and not ctx.in_except:
            kinds += ["goto"]
    if ctx.level < 2:
        kinds += ["call", "call"]
    if ctx.in_loop:
        kinds += ["breakcont"]
    if ctx.is_helper and not ctx.in_finally:
        kinds += ["earlyreturn"]
    kind = rng.choice(kinds)
    n = w.new_id()
    var = last[-1] if last else '(str(tr[-1]) if tr else "")'
    _WRITERS[kind](w, ctx, indent, last, n, var)


def _write_trace(w: _Writer, ctx: _Ctx, indent: int, last: list[str], n: int, var: str) -> None:
    w.both(indent, f'tr.append("t{n}")')


def _write_pause(w: _Writer, ctx: _Ctx, indent: int, last: list[str], n: int, var: str) -> None:
    statement, new = _pause_expr(w, ctx)
    w.both(indent, statement)
    w.both(indent, f"tr.append({new})")
    last.append(new)


def _write_session(w: _Writer, ctx: _Ctx, indent: int, last: list[str], n: int, var: str) -> None:
    rng = w.rng
    choice = rng.randrange(5)
    if choice == 0:
        w.both(indent, 'G["c"] = G.get("c", 0) + 1')
    elif choice == 1:
        w.both(indent, f"PL.append({n})")
    elif choice == 2:
        w.both(indent, "tr.append(PN)")
    elif choice == 3:
        w.both(indent, f"th{n} = threading.Thread(target=PL.append, args=({n},))")
        w.both(indent, f"th{n}.start()")
        w.both(indent, f"th{n}.join()")
        w.both(indent, f"del th{n}")
    else:
        w.both(indent, f"tr.append(asyncio.run(in_loop({n})))")


def _write_module(w: _Writer, ctx: _Ctx, indent: int, last: list[str], n: int, var: str) -> None:
    rng = w.rng
    choice = rng.randrange(9)
    if choice >= 4:
        setup, check = [
            (f"o{n} = Color.RED", f"(o{n} is Color.RED, o{n}.name)"),
            (f'o{n} = Item("i{n}")', f"(o{n}.name, o{n}.seen)"),
            (f"o{n} = lambda s: s + str(len(tr))", f'o{n}("L")'),
            (f"o{n} = functools.partial(max, 0)", f"o{n}(1, 2)"),
            (f'o{n} = [w for w in ("ab", "cd") if w != {var}]', f"o{n}"),
        ][choice - 4]
        w.both(indent, setup)
        statement, new = _pause_expr(w, ctx)
        w.both(indent, statement)
        if choice == 5:
            w.both(indent, f"o{n}.seen.append({new})")
        w.both(indent, f"tr.append({check})")
        last.append(new)
    elif choice == 0:
        w.both(indent, f"s{n} = MISSING")
        statement, new = _pause_expr(w, ctx)
        w.both(indent, statement)
        w.both(indent, f"tr.append(s{n} is MISSING)")
        last.append(new)
    elif choice == 1:
        w.module_changes = True
        w.both(indent, f'm{n} = CACHE["s"]')
        statement, new = _pause_expr(w, ctx)
        w.both(indent, statement)
        w.both(indent, f'm{n}["n"] += 1')
        w.both(indent, f'tr.append(m{n} is CACHE["s"])')
        last.append(new)
    elif choice == 2:
        w.both(indent, f"rows{n} = ROWS")
        statement, new = _pause_expr(w, ctx)
        w.both(indent, statement)
        w.both(indent, f"tr.append((rows{n} is ROWS, len(rows{n})))")
        last.append(new)
    else:
        w.module_changes = True
        w.both(indent, f"box{n} = [0]")
        w.both(indent, f"def bump{n}():")
        w.both(indent + 1, f"box{n}[0] += 1")
        w.both(indent, rng.choice([f"HANDLERS.append(bump{n})", f'REG["b{n}"] = bump{n}']))
        statement, new = _pause_expr(w, ctx)
        w.both(indent, statement)
        w.both(indent, f"tr.append(box{n}[0])")
        last.append(new)


def _write_if(w: _Writer, ctx: _Ctx, indent: int, last: list[str], n: int, var: str) -> None:
    rng = w.rng
    w.both(indent, f"if {_cond(rng, var)}:")
    _block(w, _child(ctx), indent + 1, rng.randint(1, 2), list(last))
    w.both(indent, "else:")
    _block(w, _child(ctx), indent + 1, rng.randint(1, 2), list(last))


def _write_for(w: _Writer, ctx: _Ctx, indent: int, last: list[str], n: int, var: str) -> None:
    rng = w.rng
    source = rng.choice(["range(2)", "ROWS", '["u", "w"]', 'CACHE["rows"][:2]'])
    w.both(indent, f"for i{n} in {source}:")
    w.both(indent + 1, f"tr.append(i{n})")
    _block(w, _child(ctx, in_loop=True), indent + 1, rng.randint(1, 2), list(last))
    if rng.random() < 0.3:
        w.both(indent, "else:")
        w.both(indent + 1, f'tr.append("else{n}")')


def _write_dictloop(w: _Writer, ctx: _Ctx, indent: int, last: list[str], n: int, var: str) -> None:
    rng = w.rng
    w.both(indent, f'd{n} = {{"x": 1, "y": 2}}')
    w.both(indent, f"for k{n}, val{n} in d{n}.items():")
    w.both(indent + 1, f"tr.append((k{n}, val{n}))")
    _block(w, _child(ctx, in_loop=True), indent + 1, rng.randint(1, 2), list(last))
    w.both(indent + 1, f'd{n}["y"] = 20')


def _write_while(w: _Writer, ctx: _Ctx, indent: int, last: list[str], n: int, var: str) -> None:
    rng = w.rng
    w.both(indent, f"c{n} = 0")
    w.both(indent, f"while c{n} < 2:")
    w.both(indent + 1, f"c{n} += 1")
    _block(w, _child(ctx, in_loop=True), indent + 1, rng.randint(1, 2), list(last))


def _write_breakcont(w: _Writer, ctx: _Ctx, indent: int, last: list[str], n: int, var: str) -> None:
    rng = w.rng
    w.both(indent, f"if {_cond(rng, var)}:")
    w.both(indent + 1, rng.choice(["break", "continue"]))


def _write_try(w: _Writer, ctx: _Ctx, indent: int, last: list[str], n: int, var: str) -> None:
    rng = w.rng
    w.both(indent, "try:")
    inner = list(last)
    _block(w, _child(ctx, in_try=True), indent + 1, rng.randint(1, 2), inner)
    iv = inner[-1] if inner else '(str(tr[-1]) if tr else "")'
    cause = rng.choice(["", ' from KeyError("k")'])
    w.both(indent + 1, f"if {_cond(rng, iv)}:")
    w.both(indent + 2, f'raise ValueError("e{n}"){cause}')
    w.both(indent, f"except ValueError as e{n}:")
    w.both(indent + 1, f"tr.append(repr(e{n}))")
    _block(w, _child(ctx, in_except=True), indent + 1, rng.randint(0, 1), list(last))
    w.both(indent + 1, f"tr.append((repr(e{n}.__cause__), e{n}.__traceback__ is not None))")
    if rng.random() < 0.6:
        w.both(indent, "finally:")
        w.both(indent + 1, f'tr.append("fin{n}")')
        if rng.random() < 0.5:
            _block(w, _child(ctx, in_finally=True), indent + 1, 1, list(last))


def _write_with(w: _Writer, ctx: _Ctx, indent: int, last: list[str], n: int, var: str) -> None:
    rng = w.rng
    w.both(indent, f'with Rec(tr, "w{n}") as r{n}:')
    _block(w, _child(ctx, in_with=True), indent + 1, rng.randint(1, 2), list(last))
    w.both(indent + 1, f"tr.append(r{n}.name)")


def _write_match(w: _Writer, ctx: _Ctx, indent: int, last: list[str], n: int, var: str) -> None:
    w.both(indent, f"match {var}:")
    w.both(indent + 1, 'case "a" | "b":')
    _block(w, _child(ctx), indent + 2, 1, list(last))
    w.both(indent + 1, "case str() as other if len(other) > 1:")
    w.both(indent + 2, "tr.append(other)")
    w.both(indent + 1, "case _:")
    w.both(indent + 2, f'tr.append("m{n}")')


def _write_call(w: _Writer, ctx: _Ctx, indent: int, last: list[str], n: int, var: str) -> None:
    rng = w.rng
    name = _helper(w, ctx.level + 1)
    if rng.random() < 0.5 and not ctx.in_finally and not ctx.in_except:
        label = f"R{n}"
        w.helpers_with_returnto.setdefault(name, []).append(label)
        w.only(f'r{n} = {name}(tr, {var!s}, ADDRESS="{label}")', None, indent)
        w.only(None, "while True:", indent)
        w.only(None, "try:", indent + 1)
        w.only(None, f"r{n} = {name}(tr, {var!s})", indent + 2)
        w.only(None, "break", indent + 2)
        w.only(None, "except ReturnTo as jump:", indent + 1)
        w.only(None, f'if jump.label != "{label}":', indent + 2)
        w.only(None, "raise", indent + 3)
        w.both(indent, f"tr.append(r{n})")
    else:
        w.both(indent, f"r{n} = {name}(tr, {var!s})")
        w.both(indent, f"tr.append(r{n})")


def _write_earlyreturn(
    w: _Writer, ctx: _Ctx, indent: int, last: list[str], n: int, var: str
) -> None:
    rng = w.rng
    w.both(indent, f"if {_cond(rng, var)}:")
    w.both(indent + 1, f'return "early{n}"')


def _write_goto(w: _Writer, ctx: _Ctx, indent: int, last: list[str], n: int, var: str) -> None:
    rng = w.rng
    label = f"L{n}"
    w.both(indent, f"retries{n} = 0")
    w.only(None, "while True:", indent)
    inner_indent_plain = indent + 1
    ask_stmt = f'g{n} = ask("q{n}", tr)'
    w.pauses += 1
    w.only(f'g{n} = ask("q{n}", tr, ADDRESS="{label}")', None, indent)
    w.only(None, ask_stmt, inner_indent_plain)
    body_ag: list[str] = []
    body_plain: list[str] = []
    saved_ag, saved_plain = w.ag, w.plain
    w.ag, w.plain = body_ag, body_plain
    inner = list(last) + [f"g{n}"]
    w.both(0, f"tr.append(g{n})")
    _block(w, _child(ctx, in_loop=False), 0, rng.randint(0, 2), inner)
    w.ag, w.plain = saved_ag, saved_plain
    for line in body_ag:
        w.ag.append("    " * indent + line)
    for line in body_plain:
        w.plain.append("    " * inner_indent_plain + line)
    cond = _cond(rng, f"g{n}")
    w.only(f"if {cond} and retries{n} < 2:", None, indent)
    w.only(f"retries{n} += 1", None, indent + 1)
    w.only(f'tr.append("goto{n}")', None, indent + 1)
    w.only(f'GOTO("{label}")', None, indent + 1)
    w.only(None, f"if {cond} and retries{n} < 2:", inner_indent_plain)
    w.only(None, f"retries{n} += 1", inner_indent_plain + 1)
    w.only(None, f'tr.append("goto{n}")', inner_indent_plain + 1)
    w.only(None, "continue", inner_indent_plain + 1)
    w.only(None, "break", inner_indent_plain)
    last.append(f"g{n}")


_WRITERS = {
    "trace": _write_trace,
    "pause": _write_pause,
    "session": _write_session,
    "module": _write_module,
    "if": _write_if,
    "for": _write_for,
    "dictloop": _write_dictloop,
    "while": _write_while,
    "breakcont": _write_breakcont,
    "try": _write_try,
    "with": _write_with,
    "match": _write_match,
    "call": _write_call,
    "earlyreturn": _write_earlyreturn,
    "goto": _write_goto,
}


def _child(ctx: _Ctx, **changes) -> _Ctx:
    values = dict(ctx.__dict__)
    values.update(changes)
    values["depth"] = ctx.depth + 1
    return _Ctx(**values)


def _helper(w: _Writer, level: int) -> str:
    """A new decorated helper (its own body), returning its name."""
    name = f"helper{len(w.helper_sources) + 1}"
    saved = (w.ag, w.plain)
    w.ag, w.plain = [], []
    w.helper_sources.append((w.ag, w.plain))
    ctx = _Ctx(is_helper=True, level=level)
    w.both(0, "@autograms_function()")
    w.both(0, f"def {name}(tr, prev):")
    w.both(1, f'tr.append("in {name}")')
    if level <= 2:
        w.both(1, "global PN")
        w.both(1, "PN += 1")
    last = ["prev"]
    _block(w, ctx, 1, w.rng.randint(1, 3), last)
    marker_ag = len(w.ag)
    marker_plain = len(w.plain)
    w.both(1, f'return "ret:" + {last[-1]}')
    w.returnto_slots[name] = (w.ag, w.plain, marker_ag, marker_plain)
    w.ag, w.plain = saved
    return name


def generate(seed: int) -> Generated:
    rng = random.Random(seed)
    w = _Writer(rng)
    w.both(0, "@autograms_function()")
    w.both(0, "def chatbot():")
    w.both(1, "global PN")
    w.both(1, "tr = []")
    last: list[str] = []
    _block(w, _Ctx(), 1, rng.randint(3, 6), last)
    w.both(1, 'ask("done", tr)')
    # RETURNTO: a helper called under a label jumps back to it, at most twice per label
    for name, labels in w.helpers_with_returnto.items():
        ag, plain, at_ag, at_plain = w.returnto_slots[name]
        label = rng.choice(labels)
        check = f'tr.count("rt {label}") < 2 and {_cond(rng, "prev")}'
        ag[at_ag:at_ag] = [
            f"    if {check}:",
            f'        tr.append("rt {label}")',
            f'        RETURNTO("{label}")',
        ]
        plain[at_plain:at_plain] = [
            f"    if {check}:",
            f'        tr.append("rt {label}")',
            f'        raise ReturnTo("{label}")',
        ]
    refusal = rng.choice(REFUSALS)
    prelude = PRELUDE.replace("{refusal}", refusal)
    helper_ag = "\n".join("\n".join(ag) for ag, _ in w.helper_sources)
    helper_plain = "\n".join("\n".join(pl) for _, pl in w.helper_sources)
    engine_source = prelude + "\n" + helper_ag + "\n\n" + "\n".join(w.ag) + "\n"
    plain_source = prelude + "\n" + helper_plain + "\n\n" + "\n".join(w.plain) + "\n"
    count = min(4 + w.pauses * 2, 24)
    messages = [""] + [rng.choice(ANSWERS) for _ in range(count)]
    if rng.random() < 0.5:
        for _ in range(rng.randint(1, 2)):
            messages.insert(rng.randrange(2, len(messages) + 1), "zz")
    return Generated(seed, engine_source, plain_source, messages, not w.module_changes)

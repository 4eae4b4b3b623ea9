"""Shapes of code the other grammars never write, where a resume has the most to rebuild:
each family is a statement that pauses in the middle of something half done and shows, after
the resume, everything the half-done thing had already computed.

Families (names in `context.SHAPES`): pauses inside tuple, set, list and dict displays with
star-unpacking and inside f-string replacement fields (`displays`); inside chained comparisons,
conditional expressions, ``and``/``or`` chains and slices (`comparisons`); in the value of an
augmented or unpacking assignment to a subscript, an attribute or a starred target
(`targets`); among positional, ``*args``, keyword and ``**kwargs`` arguments of plain calls
(`call_shapes`); in ``try``/``except*`` handlers of an ``ExceptionGroup`` (`except_star`);
in a decorated helper that calls back a closure of its caller rebinding a ``nonlocal``
(`shared_cells`); at every depth of a recursion, on the way down and up, and in the
``finally`` of each depth while an exception unwinds (`recursion`); in decorated
``__call__``, class and static methods, ``super()`` inside a class method and a
``functools.wraps`` wrapper of a method (`method_kinds`); in functions that share one code
object with others, each with its own closure or instance (`shared_code`); and on user text that is empty,
very long, non-ASCII or looks like code (`odd_input`, which also draws the program's
messages from `ODD_MESSAGES`).

A ``Ticker`` local counts and prints every evaluation of the subexpressions around a pause,
so a resume that evaluates one of them again, or skips one, shows in the transcript.
"""

from __future__ import annotations

from collections.abc import Callable

from . import expressions as ex
from .context import Ctx
from .model import Node, Stmt

#: what a user may type that no bot author tries: empty, blank, long, non-ASCII (wide, combining,
#: right-to-left, a lone surrogate a JSON client can send), control characters, and text that
#: looks like code, a format string or a session
ODD_MESSAGES = [
    "",
    " ",
    "y" * 3000,
    "héllo wörld ß",
    "日本語 😀 \U0010ffff",
    "\u200f\u0301a\ufeff",
    "\r\n\t\x00",
    "\ud800",
    "{x} %s {{}} {0!r}",
    "__import__('os').getcwd()",
    'GOTO("q1") reply(ADDRESS="x")',
    '"""\\\' \\',
    '{"frames": [], "version": 1}',
]


def _pause(ctx: Ctx) -> str:
    """A str-valued pause no GOTO/RETURNTO leaves from (these statements are not regions)."""
    return ex.pause(ctx.no_jump())


def _print(ctx: Ctx, *parts: str) -> str:
    return f'print("{ctx.builder.fresh("p")}", {", ".join(parts)})'


def _lines(*lines: str) -> str:
    return "\n".join(line for line in lines if line)


def _pick(ctx: Ctx, options: list[Callable[[], str]], count: int) -> list[str]:
    """`count` of `options` (distinct, in a random order), each called once."""
    return [option() for option in ctx.rng.sample(options, min(count, len(options)))]


def displays(ctx: Ctx) -> list[Node] | None:
    """Displays and f-strings half built when the pause comes."""
    fresh = ctx.builder.fresh
    p = lambda: _pause(ctx)  # noqa: E731 - a new pause at every use
    tick = fresh("tick")
    s = ctx.pick("str") or '"s"'
    n = ctx.pick("int") or "2"
    options = [
        lambda: f"({tick}(1), {p()}, {tick}(2), *[{s}, {tick}(3)])",
        lambda: f"sorted({{{tick}('a'), {p()}, {s}, *{p()}.split()}})",
        lambda: f'[*{tick}("xy"), {p()}, *{p()}.split(), {tick}("z")]',
        lambda: f'{{**{{"k": {tick}(1)}}, {p()}: {n}, "v": {p()}, **{{"w": {tick}(2)}}}}',
        lambda: f"f'''<{{{tick}(1)}}|{{{p()}!r:>{{{n} + 4}}}}|{{len({p()}):03d}}|{{{tick}(2)}}>'''",
        lambda: f"[({tick}(1), [{p()}, {{{tick}(2): {p()}}}]), {tick}(3)]",
        lambda: f"({p()},) * 2 + tuple({p()}[:{tick}(2)])",
    ]
    shown = _pick(ctx, options, ctx.rng.randint(1, 2))
    return [Stmt(_lines(f"{tick} = Ticker()", _print(ctx, *shown)), tags=("displays",))]


def comparisons(ctx: Ctx) -> list[Node] | None:
    """Chained comparisons, conditional expressions, and/or chains and slices around a
    pause, some of whose parts plain Python never evaluates."""
    fresh = ctx.builder.fresh
    p = lambda: _pause(ctx)  # noqa: E731
    tick = fresh("tick")
    s = ctx.pick("str") or '"abcdef"'
    options = [
        lambda: f"{tick}(0) <= len({p()}) < {tick}(3) != len({p()})",
        lambda: f'{tick}("a") < {p()} <= {tick}("z")',
        lambda: f'({tick}("yes") if {p()} == "yes" else {p()} + {tick}("!"))',
        lambda: f'({p()} or {tick}("empty") or {p()})',
        lambda: f'({p()} and {p()} and {tick}("all"))',
        lambda: f'"abcdefgh"[{tick}(1):len({p()}) + 2:{tick}(1)]',
        lambda: f"{s}[::-1 if {p()} == {tick}('no') else 1]",
        lambda: f"{p()}[num({p()}) % 4:]",
        lambda: f"not ({tick}('m') < {p()}) is {tick}(True)",
        lambda: f"{p()} in [{tick}('yes'), 'no'] not in [True]",
    ]
    shown = _pick(ctx, options, ctx.rng.randint(1, 3))
    return [Stmt(_lines(f"{tick} = Ticker()", _print(ctx, *shown)), tags=("comparisons",))]


def targets(ctx: Ctx) -> list[Node] | None:
    """Augmented and unpacking assignments whose targets (a subscript, an attribute, a
    slice, starred names) were evaluated before the pause."""
    fresh = ctx.builder.fresh
    p = lambda: _pause(ctx)  # noqa: E731
    tick, box, acc = fresh("tick"), fresh("box"), fresh("items")
    first, rest, a, b = fresh("s"), fresh("items"), fresh("s"), fresh("n")
    options = [
        lambda: f"{acc}[{tick}(1)] += {p()}",
        lambda: f"{box}.text += {p()}",
        lambda: f"{box}.items[{tick}(0)] += {p()}",
        lambda: f'{box}.map[{tick}("k")] += {p()}',
        lambda: f"{tick}({box}).count += num({p()})",
        lambda: f"{acc}[{tick}(0):{tick}(2)] = {p()}.split() or ['e']",
        lambda: f'{first}, *{rest} = ({p()} + " w z").split()',
        lambda: f"({a}, {b}), *{rest} = [({p()}, {tick}(2)), 3, 4]",
        lambda: f"{box}.text, {acc}[{tick}(2)] = {p()}, {p()}",
        lambda: f"{first} = {acc}[{tick}(1)] = {p()}",
        lambda: f"{box}.total -= len({p()})",
    ]
    body = _pick(ctx, options, ctx.rng.randint(1, 3))
    text = _lines(
        f"{tick} = Ticker()",
        f"{box} = Holder()",
        f'{acc} = ["a", "b", "c"]',
        f"{first}, {rest}, {a}, {b} = '-', [], '-', 0",
        *body,
        _print(ctx, f"{box}.text", f"{box}.items", f"{box}.map", f"{box}.count", f"{box}.total"),
        _print(ctx, acc, first, rest, a, b),
    )
    ctx.vars[acc] = "list"
    return [Stmt(text, tags=("targets",))]


def call_shapes(ctx: Ctx) -> list[Node] | None:
    """Plain calls with positional, ``*args``, keyword and ``**kwargs`` arguments around a
    pause, each evaluated once and in order."""
    fresh = ctx.builder.fresh
    p = lambda: _pause(ctx)  # noqa: E731
    tick = fresh("tick")
    d = ctx.pick("dict")
    options = [
        lambda: f'args_of({tick}(1), *[{p()}, {tick}(2)], k={p()}, **{{"z": {tick}(3)}})',
        lambda: f"args_of(*{p()}.split(), {tick}(0), **dict(k={p()}))",
        lambda: f'args_of({tick}("a"), {p()}, sep={tick}("/"), *{tick}(["x"]))',
        lambda: f"max({p()}, {tick}('m'), {p()}, key=len)",
        lambda: f"sorted([{p()}, {tick}('b'), 'a'], key=str.lower, reverse={tick}(True))",
        lambda: f"{p()}.split(sep=None, maxsplit={tick}(1))",
        lambda: f'functools.partial(args_of, {tick}(1), k="p")({p()}, j={tick}(2))',
        lambda: f'dict({d or "{}"}, first={p()}, **{{"t": {tick}(1)}})',
        lambda: f'"-".join(map(str.upper, [{p()}, {tick}("s")]))',
    ]
    shown = _pick(ctx, options, ctx.rng.randint(1, 2))
    return [Stmt(_lines(f"{tick} = Ticker()", _print(ctx, *shown)), tags=("call-shapes",))]


def except_star(ctx: Ctx) -> list[Node] | None:
    """``except*`` handlers of an ExceptionGroup raised after a pause, pausing themselves,
    some raising again; what reaches the outer handlers is shown."""
    fresh = ctx.builder.fresh
    rng = ctx.rng
    log, g, e = fresh("items"), fresh("g"), fresh("e")
    p = lambda: _pause(ctx)  # noqa: E731
    members = rng.sample(['ValueError("v")', 'KeyError("k")', 'Oops("o")', "TypeError()"], 2)
    raised = rng.choice(
        [
            f"raise ExceptionGroup({p()} or 'eg', [ValueError({p()}), {', '.join(members)}])",
            f"raise ValueError({p()})",
            f'raise ExceptionGroup("outer", [ExceptionGroup("in", [{members[0]}]), {members[1]}])',
        ]
    )
    again = rng.choice(["", "raise", f'raise Oops("from-k") from {g}.exceptions[0]'])
    names = f"sorted(type({e}).__name__ for {e} in {g}.exceptions)"
    handled = f"sys.exc_info()[1] is {g}"
    cleanup = (
        ["    finally:", f'        {log}.append(("fin", {p()}))'] if rng.random() < 0.5 else []
    )
    text = _lines(
        f"{log} = []",
        "try:",
        "    try:",
        f"        {log}.append({p()})",
        f"        {raised}",
        f"    except* ValueError as {g}:",
        f'        {log}.append(("v", {g}.message, {names}, {p()}, {handled}))',
        f"    except* KeyError as {g}:",
        f'        {log}.append(("k", {names}, {p()}, {handled}))',
        f"        {again}" if again else "",
        *cleanup,
        f"except* (Oops, TypeError) as {g}:",
        f'    {log}.append(("o", {names}, show({g}), {p()}))',
        f"except* KeyError as {g}:",
        f'    {log}.append(("k2", {names}, kind(type({g}.__context__))))',
        _print(ctx, log),
    )
    return [Stmt(text, tags=("except-star",))]


def shared_cells(ctx: Ctx) -> list[Node] | None:
    """A closure rebinding a ``nonlocal`` of its maker, called back by a decorated helper
    after the helper's pause: the cell is shared by both paused frames and must stay one."""
    if ctx.fn.has_region and not ctx.builder.allows("goto-closure"):
        return None
    fresh = ctx.builder.fresh
    rng = ctx.rng
    cell, bump, peek, x, fns = fresh("n"), fresh("bump"), fresh("peek"), fresh("n"), fresh("fns")
    ctx.fn.has_closure = True
    q = [ctx.builder.question(ctx) for _ in range(3)]
    late = rng.choice(
        [
            f"{fns} = [lambda v, i=i: v + i + {cell} for i in range(3)]",
            f"{fns} = [lambda v: v + i + {cell} for i in range(3)]",
        ]
    )
    text = _lines(
        f"{cell} = {rng.randint(0, 5)}",
        f"def {bump}(v):",
        f"    nonlocal {cell}",
        f"    {cell} += v",
        f"    return {cell}",
        f"def {peek}():",
        f"    return {cell}",
        late,
        f"{x} = apply_after({bump}, {q[0]}) + apply_after({bump}, {q[1]})",
        _print(ctx, x, cell, f"{peek}()"),
        f"{cell} += 100",
        _print(
            ctx,
            f"apply_after({rng.choice([bump, fns + '[1]', f'lambda v: v * {cell}'])}, {q[2]})",
            f"{peek}()",
            f"[fn(0) for fn in {fns}]",
        ),
    )
    ctx.vars[x] = "int"
    return [Stmt(text, tags=("shared-cells",))]


def recursion(ctx: Ctx) -> list[Node] | None:
    """A recursion pausing at every depth (down and up, or in each depth's ``finally``
    while an exception unwinds); the depth is drawn or read from a reply."""
    fresh = ctx.builder.fresh
    rng = ctx.rng
    target, err = fresh("s"), fresh("e")
    depth = rng.choice([str(rng.randint(0, 3)), f"num({_pause(ctx)}) % 4"])
    kinds = ["descend", "ping", "unwind"]
    kind = rng.choice(kinds if ctx.builder.allows("pausing-finally") else kinds[:2])
    if kind == "descend":
        text = f'{target} = descend({depth}, "")\n{_print(ctx, target)}'
    elif kind == "ping":
        text = f"{target} = ping({depth})\n{_print(ctx, target)}"
    else:
        traced = f"tb_names({err})" if ctx.builder.allows("traceback") else "0"
        text = _lines(
            f'{target} = "-"',
            "try:",
            f"    {target} = unwind({depth})",
            f"except Oops as {err}:",
            f"    {_print(ctx, f'show({err})', traced)}",
        )
    ctx.vars[target] = "str"
    return [Stmt(text, tags=("recursion-pauses",))]


def method_kinds(ctx: Ctx) -> list[Node] | None:
    """Decorated ``__call__``, class and static methods of a class and its subclass, with
    ``super()`` in a class method and a ``functools.wraps`` wrapper of a method."""
    fresh = ctx.builder.fresh
    rng = ctx.rng
    obj = fresh("desk")
    q = ctx.builder.question
    cls = rng.choice(["Desk", "SubDesk"])
    made = rng.choice([f"{cls}.make({q(ctx)})", f'{cls}("{fresh("t")}")'])
    calls = [
        lambda: f"{obj}({q(ctx)})",
        lambda: f"{obj}.ask({q(ctx)})",
        lambda: f"{obj}.wrapped({q(ctx)})",
        lambda: f"type({obj}).make({q(ctx)}).tag",
        lambda: f"{obj}.norm({q(ctx)})",
        lambda: f"{cls}.norm({_pause(ctx)})",
    ]
    shown = _pick(ctx, calls, rng.randint(1, 3))
    text = _lines(
        f"{obj} = {made}",
        _print(ctx, f"{obj}.tag", *shown, f"type({obj}).__name__", f"{obj}.tag"),
    )
    return [Stmt(text, tags=("method-kinds",))]


def odd_input(ctx: Ctx) -> list[Node] | None:
    """The user's text looked at the ways a bot does: its length, ends, words, case, as a
    dict key, in an f-string and a %-format, and echoed in the next question."""
    fresh = ctx.builder.fresh
    ctx.builder.odd_input = True
    s, d = fresh("s"), fresh("d")
    views = [
        f"len({s})",
        f"ascii({s}[:12])",
        f"ascii({s}[-3:])",
        f"{s}.isdigit()",
        f"{s}.strip() == {s}",
        f"ascii({s}.upper()[:8])",
        f"ascii({s}.split()[:3])",
        f'ascii(f"{{{s}!r:.10}}")',
        f'ascii("%r" % ({s}[:8],))',
        f"{s} in {d}",
        f"num({s})",
        f'len({s}.encode("utf-8", "surrogatepass"))',
    ]
    text = _lines(
        f"{s} = {_pause(ctx)}",
        f"{d} = {{{s}: len({s}), 'x': 0}}",
        _print(ctx, *ctx.rng.sample(views, 4)),
        f'{s} = reply("echo " + {s}[:20]) + {s}[:1]' if ctx.rng.random() < 0.5 else "",
        _print(ctx, f"ascii({s}[:20])", f"sorted(len(k) for k in {d})"),
    )
    ctx.vars[s] = "str"
    return [Stmt(text, tags=("odd-input",))]


def walrus(ctx: Ctx) -> list[Node] | None:
    """Assignment expressions around a pause: in a condition, a ``while`` header, a call's
    argument and inside comprehensions over a reply (binding the function's local, a cell
    when a generator expression binds it)."""
    if ctx.fn.has_region and not ctx.builder.allows("goto-closure"):
        return None
    fresh = ctx.builder.fresh
    p = lambda: _pause(ctx)  # noqa: E731
    tick, w, n, k, hit = fresh("tick"), fresh("s"), fresh("n"), fresh("n"), fresh("s")
    options = [
        lambda: _lines(
            f"if ({n} := len({p()})) > {tick}(2):",
            f"    {w} = {p()}[:{n}]",
        ),
        lambda: _lines(
            f"{k} = 0",
            f"while ({w} := {p()}) != 'stop' and ({k} := {k} + 1) < {tick}(3):",
            f"    print('loop', {k}, ascii({w}[:8]))",
        ),
        lambda: f"print('w', {tick}({n} := num({p()}) + {tick}(1)), {n})",
        lambda: f"print('c', [({w} := x.upper()) for x in ({p()} + ' a b').split()], {w})",
        lambda: f"print('f', [y for x in {p()}.split() if (y := x[:2])], {w})",
        lambda: _lines(
            f"{hit} = '-'",
            f"print('g', any(({hit} := x) == 'yes' for x in [{p()}, {tick}('no')]), {hit})",
        ),
        lambda: f"print('d', {{({n} := len(x)): x for x in [{p()}, {tick}('zz')]}}, {n})",
    ]
    chosen = _pick(ctx, options, ctx.rng.randint(1, 3))
    if any(" for x in " in text and "any(" in text for text in chosen):
        ctx.fn.has_closure = True
    text = _lines(
        f"{tick} = Ticker()",
        f"{w}, {n}, {k} = '-', 0, 0",
        *chosen,
        _print(ctx, f"ascii({w}[:10])", n, k),
    )
    ctx.vars[n] = "int"
    return [Stmt(text, tags=("walrus",))]


def finally_flow(ctx: Ctx) -> list[Node] | None:
    """``break``, ``continue`` and ``return`` leaving nested ``try``/``finally`` blocks (and a
    ``with``) whose ``finally`` pauses while the jump, the return value or an exception is
    pending; a ``return`` in a ``finally`` that overrides them."""
    if not ctx.builder.allows("pausing-finally"):
        return None
    fresh = ctx.builder.fresh
    rng = ctx.rng
    log, i, out = fresh("items"), fresh("n"), fresh("s")
    p = lambda: _pause(ctx)  # noqa: E731
    mode = rng.choice(["return", "break", "continue", "raise", "override", "fall"])
    loop = _lines(
        f"{log} = []",
        f"for {i} in range(3):",
        "    try:",
        "        try:",
        f"            if {i} == {rng.randint(0, 2)}:",
        "                continue",
        f"            if {i} == {rng.randint(1, 3)}:",
        "                break",
        f"            {log}.append(({i}, {p()}))",
        "        finally:",
        f"            {log}.append(('in', {i}, {p()}))",
        "    finally:",
        f"        {log}.append(('out', {i}))",
        "else:",
        f"    {log}.append('else')",
    )
    call = f'{out} = settle("{mode}", {ctx.builder.question(ctx)})'
    if mode in ("raise", "override"):
        call = _lines(
            "try:",
            f"    {call}",
            f"except Oops as {fresh('e')}:",
            f"    {out} = 'caught'",
        )
    parts = rng.sample([loop, call], rng.randint(1, 2))
    text = _lines(
        f"{log}, {out} = [], '-'",
        *parts,
        _print(ctx, log, f"ascii({out}[:12])"),
    )
    ctx.vars[out] = "str"
    return [Stmt(text, tags=("finally-flow",))]


def pickle_hooks(ctx: Ctx) -> list[Node] | None:
    """Locals whose classes define how they are copied -- ``__reduce__``, ``__getstate__`` /
    ``__setstate__``, ``__getnewargs_ex__``, ``__slots__`` without ``__dict__``, a hash taken
    from state held in a cycle -- shared by two locals, changed before and after a pause."""
    fresh = ctx.builder.fresh
    rng = ctx.rng
    p = lambda: _pause(ctx)  # noqa: E731
    a, b, c, d, e = fresh("obj"), fresh("obj"), fresh("obj"), fresh("obj"), fresh("obj")
    made = {
        a: 'Reduced("r", [1, 2])',
        b: "Stated('s')",
        c: "KwNew(3, tag='k')",
        d: "Tight(1, 'two')",
        e: "Keyed('node')",
    }
    if not ctx.builder.allows("hash-cycle"):
        del made[e]
    names = rng.sample(list(made), rng.randint(2, 4))
    alias = fresh("obj")
    before = {
        a: f"{a}.items.append(len({p()}))",
        b: f"{b}.note({p()})",
        c: f"{c}.tag += {p()}[:3]",
        d: f"{d}.y = {p()}",
        e: f"{e}.index[{e}] = len({p()})",
    }
    after = {
        a: f"{a}.items.append(9)",
        b: f"{b}.note('late')",
        c: f"{c}.tag += '!'",
        d: f"{d}.x += 1",
        e: f"{e}.index[{e}] += 1",
    }
    text = _lines(
        *[f"{name} = {made[name]}" for name in names],
        f"{alias} = [{', '.join(names)}]",
        *[before[name] for name in names],
        _print(ctx, *[f"{name}.view()" for name in names]),
        f"{fresh('s')} = {p()}",
        *[after[name] for name in names],
        _print(
            ctx,
            *[f"{name}.view()" for name in names],
            f"[x is y for x, y in zip({alias}, [{', '.join(names)}])]",
        ),
    )
    tags = ("pickle-hooks", "hash-cycle") if e in names else ("pickle-hooks",)
    return [Stmt(text, tags=tags)]


def hashed_keys(ctx: Ctx) -> list[Node] | None:
    """Objects with their own ``__hash__``/``__eq__`` (and ``__getstate__``/``__setstate__``,
    ``__reduce__``, a frozen dataclass's hash) that are keys of dicts and members of sets
    their own state holds -- directly, in a tuple key, with colliding hashes -- held across a
    pause, then changed and looked up with equal new objects."""
    fresh = ctx.builder.fresh
    rng = ctx.rng
    p = lambda: _pause(ctx)  # noqa: E731
    peers, a, b, spot, shelf, shelved, group = (
        fresh("peers"), fresh("obj"), fresh("obj"), fresh("obj"), fresh("shelf"),
        fresh("obj"), fresh("obj"),
    )  # fmt: skip
    made = {
        "named": _lines(
            f"{peers} = set()",
            f"{a} = Named('ann', {peers})",
            f"{b} = Named('amy', {peers})",
            f"{a}.link({b}, len({p()}))",
        ),
        "spot": _lines(f"{spot} = Spot(1, 2)", f"{spot}.bag[{spot}] = {p()}[:3]"),
        "shelved": _lines(f"{shelf} = {{}}", f"{shelved} = Shelved('k', {shelf})"),
        "rebuilt": _lines(f"{group} = Rebuilt('r')", f"Rebuilt({p()}[:2] or 'z', {group}.group)"),
    }
    after = {
        "named": _lines(
            f"{b}.link({a}, 7)",
            f"Named('al', {peers})",
            f"{peers}.add(Named('ann', set()))",
        ),
        "spot": f"{spot}.bag[Spot(1, 2)] = 'same'",
        "shelved": f"{shelf}[Shelved('k', {{}})] = 'again'",
        "rebuilt": f"{group}.group.add(Rebuilt('r'))",
    }
    views = {
        "named": [f"{a}.view()", f"{b}.view()", f"len({peers})"],
        "spot": [f"{spot}.view()"],
        "shelved": [f"{shelved}.view()", f"len({shelf})"],
        "rebuilt": [f"{group}.view()"],
    }
    chosen = rng.sample(list(made), rng.randint(1, 3))
    seen = [view for name in chosen for view in views[name]]
    text = _lines(
        *[made[name] for name in chosen],
        _print(ctx, *seen),
        f"{fresh('s')} = {p()}",
        *[after[name] for name in chosen],
        _print(ctx, *seen),
    )
    return [Stmt(text, tags=("hashed-keys",))]


def method_recursion(ctx: Ctx) -> list[Node] | None:
    """Recursion through decorated methods: a tree walked by a method calling itself on its
    children and through a property, pausing at each node, and a method and a function
    calling each other."""
    fresh = ctx.builder.fresh
    rng = ctx.rng
    tree, out = fresh("tree"), fresh("s")
    depth = rng.choice([str(rng.randint(0, 2)), f"num({_pause(ctx)}) % 3"])
    call = rng.choice(
        [
            f"{tree}.walk({rng.randint(0, 2)})",
            f"{tree}.bounce({depth})",
            f"{tree}.walk(1) + {tree}.bounce(1)",
        ]
    )
    text = _lines(
        f"{tree} = Node.grow({depth}, 'n')",
        f"{out} = {call}",
        _print(ctx, f"ascii({out}[:40])", f"{tree}.seen", f"{tree}.size"),
    )
    ctx.vars[out] = "str"
    return [Stmt(text, tags=("method-recursion",))]


def held_iterators(ctx: Ctx) -> list[Node] | None:
    """Built-in iterators half used when the pause comes -- ``enumerate``, ``zip``,
    ``reversed``, ``map``, ``filter``, ``iter(callable, sentinel)``, a range or string
    iterator, a user iterator class -- walked by a ``for`` loop pausing in its body or held
    in a local and advanced after the resume."""
    fresh = ctx.builder.fresh
    rng = ctx.rng
    p = lambda: _pause(ctx)  # noqa: E731
    it, src, x, log = fresh("it"), fresh("items"), fresh("x"), fresh("items")
    made = rng.choice(
        [
            f"enumerate({src}, 1)",
            f"zip({src}, range(10, 20))",
            f"reversed({src})",
            f"map(str.upper, {src})",
            f"filter(None, {src})",
            "iter(Countdown(4).step, 0)",
            "iter(range(2, 9, 3))",
            "iter('wxyz')",
            "Countdown(3)",
            f"zip({src}, {src}[1:], strict=False)",
        ]
    )
    walk = rng.choice(
        [
            _lines(
                f"for {x} in {it}:",
                f"    {log}.append(({x}, {p()}[:2]))",
                f"    if len({log}) > 1:",
                "        break",
            ),
            _lines(
                f"{log}.append(next({it}, 'end'))",
                f"{log}.append({p()}[:2])",
                f"{log}.append(next({it}, 'end'))",
            ),
        ]
    )
    text = _lines(
        f"{src} = ['a', '', 'c', 'd']",
        f"{log} = []",
        f"{it} = {made}",
        walk,
        f"{src}.append({p()}[:3])",
        _print(ctx, log, f"list({it})"),
    )
    return [Stmt(text, tags=("held-iterators",))]


def typed_values(ctx: Ctx) -> list[Node] | None:
    """Values of typed classes held across a pause -- a ``typing.NamedTuple``, a frozen
    dataclass with slots, ``IntEnum`` and ``StrEnum`` members, an object whose
    ``cached_property`` was computed before the pause -- and a ``match`` on them pausing in a
    guard and in case bodies."""
    fresh = ctx.builder.fresh
    rng = ctx.rng
    p = lambda: _pause(ctx)  # noqa: E731
    v, out, a, b = fresh("val"), fresh("s"), fresh("x"), fresh("x")
    made = rng.choice(
        ["Reading('t', 3)", "Frozen(2, ('a',))", "Level.HIGH", "Shade.DARK", "Lazy('ab')"]
    )
    early = f"{v}.total" if made.startswith("Lazy") and rng.random() < 0.5 else "0"
    text = _lines(
        f"{v} = {made}",
        f"{out} = '-'",
        _print(ctx, f"typed_view({v})", early),
        f"match {v}:",
        f"    case Reading({a}, {b}) if {b} > len({p()}):",
        f'        {out} = f"reading {{{a}}} {{{b}}}"',
        f"    case Frozen(size={a}) if {a}:",
        f'        {out} = f"frozen {{{a}}} " + {p()}',
        f"    case Level.HIGH | Level.LOW as {a}:",
        f'        {out} = f"level {{{a}.name}} {{int({a}) + 1}} " + {p()}',
        "    case Shade():",
        f"        {out} = {v}.upper() + {p()}",
        "    case Lazy():",
        f"        {out} = str({v}.total) + {p()}",
        "    case _:",
        f'        {out} = "other"',
        _print(ctx, f"typed_view({v})", f"ascii({out}[:30])", f"{v} == {made}"),
    )
    ctx.vars[out] = "str"
    return [Stmt(text, tags=("typed-values",))]


def shared_code(ctx: Ctx) -> list[Node] | None:
    """Several functions running one code object, each with a closure (or an instance) of
    its own, paused at random points: wrappers of one decorator factory (``functools.wraps``;
    two stacked, both of one name; one over an undecorated helper), a class-based decorator's
    ``__call__``, a factory's decorated functions and decorated methods of classes a factory
    built. A resume of one must never run with another's closure."""
    fresh = ctx.builder.fresh
    rng = ctx.rng
    q = ctx.builder.question
    desk = fresh("desk")
    made = rng.choice(["DeskHi", "DeskYo"])

    def again() -> str:
        return ", again=True" if rng.random() < 0.5 else ""

    calls = [
        lambda: f"ask_a({q(ctx)}{again()})",
        lambda: f"ask_b({q(ctx)}{again()})",
        lambda: f"ask_xy({q(ctx)}{again()})",
        lambda: f"ask_p({q(ctx)}{again()})",
        lambda: f"ask_a({q(ctx)}) + ask_b({q(ctx)}{again()})",
        lambda: f"ask_f1({q(ctx)})",
        lambda: f"ask_f2({q(ctx)})",
        lambda: f"asker_hi({q(ctx)}) + asker_yo({q(ctx)})",
        lambda: f"{rng.choice(['asker_hi', 'asker_yo'])}({q(ctx)})",
        lambda: f"{desk}.ask({q(ctx)})",
        lambda: f"DeskHi().ask({q(ctx)}) + DeskYo().ask({q(ctx)})",
        lambda: f"(ask_xy.__name__, ask_xy.__wrapped__.__name__, {_pause(ctx)})",
    ]
    shown = _pick(ctx, calls, rng.randint(1, 3))
    text = _lines(f"{desk} = {made}()", _print(ctx, *shown), _print(ctx, f"type({desk}).__name__"))
    return [Stmt(text, tags=("shared-code",))]


#: family name -> statement writer (the names are `context.SHAPES`)
WRITERS: dict[str, Callable[[Ctx], list[Node] | None]] = {
    "displays": displays,
    "comparisons": comparisons,
    "targets": targets,
    "call-shapes": call_shapes,
    "except-star": except_star,
    "shared-cells": shared_cells,
    "recursion-pauses": recursion,
    "method-kinds": method_kinds,
    "odd-input": odd_input,
    "walrus": walrus,
    "finally-flow": finally_flow,
    "pickle-hooks": pickle_hooks,
    "method-recursion": method_recursion,
    "held-iterators": held_iterators,
    "typed-values": typed_values,
    "shared-code": shared_code,
    "hashed-keys": hashed_keys,
}

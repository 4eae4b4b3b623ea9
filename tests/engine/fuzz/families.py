"""What a user writing a real bot writes, beyond the engine's own constructs: each family is
a statement that builds values of one kind of library or language feature, pauses, changes
them and shows them, so a resume that copies, drops or rebuilds a value differently shows.

Families (names in `context.FAMILIES`): generators and ``yield from``; nested
try/except/else/finally pausing in every arm; ``match`` on mappings, classes and tuples;
dataclasses, ``__slots__``, properties, descriptors and ``super()`` in a class hierarchy;
``*args``/``**kwargs``/keyword-only/default parameters; exceptions raised through stacked
decorators and caught after a resume; closures made by a factory and mutated after a pause;
``sorted(key=lambda)``, ``functools.reduce``/``partial``; ``itertools`` objects; ``collections``
objects; ``enum``, ``datetime``, ``decimal``, ``fractions``, ``re``, ``random.Random`` and
``string.Template`` values.

A family's locals get a type ``fam:<kind>``, so later statements show them again after other
pauses (`observation`). Nothing here writes module state a later turn reads (the decimal
context is set back before the statement ends).
"""

from __future__ import annotations

from collections.abc import Callable

from . import expressions as ex
from .context import Ctx
from .model import Node, Stmt

#: local kind -> how to show it (``{}`` is the local's name); each may be shown any number of
#: times, in any order, and shows the same on every Python
_SHOWN = {
    "gen-done": '(type({}).__name__, next({}, "done"))',
    "order": "({}.size, {}.items, {}.count)",
    "slotted": '({}.a, getattr({}, "b", "-"))',
    "account": "{}.balance",
    "child": "({}.describe(), {}.tag, type({}).__mro__[1].__name__)",
    "counter-fn": "{}()",
    "key-fn": 'sorted(["bb", "a", "ccc", "ab"], key={})',
    "reducer": "{}([1, 2, 3])",
    "count": "next({})",
    "cycle": "next({})",
    "islice": 'next({}, "end")',
    "chain": 'next({}, "end")',
    "groupby": '(lambda kv: (kv[0], list(kv[1])) if kv else "end")(next({}, None))',
    "deque": "(list({}), {}.maxlen)",
    "counter": "sorted({}.items())",
    "defaultdict": '({}["missing"], sorted({}.items()))',
    "chainmap": '({}["a"], {}.get("b"), len({}))',
    "pair": "({}, {}.a)",
    "enum": "({} is Color.RED, {}.name, Color({}.value))",
    "flag": "(Flags.A in {}, {}.value)",
    "datetime": '({}.isoformat(), ({} + datetime.timedelta(days=1)).strftime("%a"))',
    "decimal": '(str({}), str({} * 3), {} == decimal.Decimal("1.10"))',
    "decimal-context": "({} is decimal.getcontext(), {}.prec)",
    "fraction": "({}, {} + 1)",
    "match": "({}.group(0), {}.groups(), {}.span(), {}.pos, {}.lastindex)",
    "random": "{}.randint(0, 1000)",
    "template": '{}.safe_substitute(name="n")',
}


def observation(name: str, kind: str) -> str | None:
    """An expression showing local `name` of a family's `kind`, or None for other kinds."""
    if not kind.startswith("fam:"):
        return None
    if kind.startswith("fam:local:"):
        cls = kind.rsplit(":", 1)[1]
        return f"({name}, {name}.total(), type({name}) is {cls}, {name} == {cls}({name}.name, {name}.qty))"
    return _SHOWN[kind[4:]].replace("{}", name)


#: local kind -> the family that writes it
_FAMILY = {
    "gen-done": "generator",
    **dict.fromkeys(["order", "slotted", "account", "child"], "classes"),
    "counter-fn": "closure-factory",
    **dict.fromkeys(["key-fn", "reducer"], "functional"),
    **dict.fromkeys(["count", "cycle", "islice", "chain", "groupby"], "itertools"),
    **dict.fromkeys(["deque", "counter", "defaultdict", "chainmap", "pair"], "collections"),
}


def family_of(kind: str) -> str:
    """The family whose local has type `kind` (``fam:<kind>``)."""
    if kind.startswith("fam:local:"):
        return "classes"
    return _FAMILY.get(kind[4:], "library-values")


def _keep(ctx: Ctx, name: str, kind: str) -> None:
    ctx.vars[name] = f"fam:{kind}"


def _print(ctx: Ctx, *parts: str) -> str:
    return f'print("{ctx.builder.fresh("p")}", {", ".join(parts)})'


def _show(ctx: Ctx, name: str) -> str:
    return observation(name, ctx.vars[name]) or name


def _pause(ctx: Ctx) -> str:
    """A pause inside a family's statement (no GOTO/RETURNTO may leave from it: most of them
    sit in a try, a loop or a with of their own)."""
    return ex.pause(ctx.no_jump())


def _lines(*lines: str) -> str:
    return "\n".join(line for line in lines if line)


def generators(ctx: Ctx) -> list[Node]:
    """A generator with ``yield from``, used up before a pause and kept: it stays used up."""
    fresh = ctx.builder.fresh
    gen, words, first = fresh("gen"), fresh("items"), fresh("s")
    source = ctx.rng.choice(['"a b c"', _pause(ctx)])
    _keep(ctx, gen, "gen-done")
    ctx.vars[words] = "list"
    text = _lines(
        f"{gen} = words({source})",
        f'{first} = next({gen}, "none")',
        f"{words} = [{first}, *{gen}]",
        _print(ctx, words, _pause(ctx), _show(ctx, gen)),
    )
    return [Stmt(text, tags=("generator",))]


def nested_try(ctx: Ctx) -> list[Node]:
    """try/except/else/finally inside another, pausing in each arm; the inner arms raise
    after a resume, the outer ones catch it with its cause."""
    fresh = ctx.builder.fresh
    log, err = fresh("items"), fresh("e")
    ctx.vars[log] = "list"
    pause = _pause
    text = _lines(
        f"{log} = []",
        "try:",
        "    try:",
        f"        {log}.append({pause(ctx)})",
        f'        if {log}[-1] in ("x", "no", ""):',
        f"            raise KeyError({log}[-1])",
        f"    except KeyError as {err}:",
        f'        {log}.append("k:" + {pause(ctx)})',
        f'        raise Oops("from-k") from {err}',
        "    else:",
        f'        {log}.append("else:" + {pause(ctx)})',
        "    finally:",
        f'        {log}.append("fin:" + {pause(ctx)})',
        f"except Oops as {err}:",
        f"    {log}.append(show({err}))",
        f"    {log}.append({pause(ctx)})",
        "finally:",
        f'    {log}.append("outer")',
        _print(ctx, log),
    )
    return [Stmt(text, tags=("nested-try",))]


def match_patterns(ctx: Ctx) -> list[Node]:
    """``match`` on mapping, class and sequence patterns, pausing in a guard and in cases."""
    fresh = ctx.builder.fresh
    cmd, rest, y, s, n = fresh("cmd"), fresh("d"), fresh("n"), fresh("s"), fresh("n")
    subjects = ctx.rng.sample(
        ['{"kind": "go", "n": 2}', "Point(0, 3)", "Point(1, 1)", '("a", 1)', "5", '{"kind": 1}'],
        3,
    )
    text = _lines(
        f"for {cmd} in [{', '.join(subjects)}]:",
        f"    match {cmd}:",
        f'        case {{"kind": "go", **{rest}}}:',
        f'            print("{fresh("p")}", {rest}, {_pause(ctx)})',
        f"        case Point(x=0, y={y}) if {y} > len({_pause(ctx)}):",
        f'            print("{fresh("p")}", {y}, {_pause(ctx)})',
        f"        case (str() as {s}, int({n})):",
        f'            print("{fresh("p")}", {s}, {n}, {_pause(ctx)}, {s})',
        "        case _:",
        f'            print("{fresh("p")}", {cmd})',
    )
    return [Stmt(text, tags=("match-patterns",))]


def classes(ctx: Ctx) -> list[Node]:
    """A dataclass with a property, a ``__slots__`` class, a descriptor-checked attribute and
    a subclass calling ``super()``: changed after a pause, shown after the next."""
    fresh = ctx.builder.fresh
    rng = ctx.rng
    kind = rng.choice(["order", "slotted", "account", "child", "local"])
    name = fresh("o")
    if kind == "local":
        return _local_class(ctx, name)
    made = {
        "order": f'Order("{fresh("t")}")',
        "slotted": "Slotted(1)",
        "account": "Account(5)",
        "child": f'Member("{fresh("t")}")',
    }[kind]
    change = {
        "order": f"{name}.items.append({_pause(ctx)})",
        "slotted": f"{name}.b = {_pause(ctx)}",
        "account": f"{name}.balance = num({_pause(ctx)})",
        "child": f"{name}.tag += {_pause(ctx)}",
    }[kind]
    _keep(ctx, name, kind)
    guarded = f'try:\n    {change}\nexcept ValueError as {fresh("e")}:\n    print("neg")'
    text = _lines(
        f"{name} = {made}",
        guarded if kind == "account" else change,
        _print(ctx, _show(ctx, name), _pause(ctx), _show(ctx, name)),
    )
    return [Stmt(text, tags=("classes",))]


def _local_class(ctx: Ctx, name: str) -> list[Node]:
    """A dataclass defined in the function (saved with dill): its instances, and the class
    itself, are still one class after a pause."""
    cls = ctx.builder.fresh("Item")
    _keep(ctx, name, f"local:{cls}")
    text = _lines(
        "@dataclass",
        f"class {cls}:",
        "    name: str",
        "    qty: int = 1",
        "",
        "    def total(self):",
        "        return self.qty * len(self.name)",
        "",
        "",
        f'{name} = {cls}("{ctx.builder.fresh("t")}")',
        f"{name}.qty += len({_pause(ctx)})",
        _print(ctx, _show(ctx, name), _pause(ctx), _show(ctx, name)),
    )
    return [Stmt(text, tags=("classes",))]


def signatures(ctx: Ctx) -> list[Node]:
    """Decorated functions with ``*args``, ``**kwargs``, keyword-only and default parameters,
    called with pausing arguments, unpacked arguments and defaults."""
    fresh = ctx.builder.fresh
    rng = ctx.rng
    target = fresh("s")
    ctx.vars[target] = "str"
    call = rng.choice(
        [
            f'ask_args("p", "a", {_pause(ctx)}, sep="-", k=1)',
            f'ask_args("p", *["x", "y"], **{{"z": {_pause(ctx)}}})',
            f'ask_args({_pause(ctx)}, "solo")',
            "ask_kwonly(1, c=3)",
            f"ask_kwonly(*[1, 2], **{{'c': len({_pause(ctx)}), 'd': 6}})",
            f"ask_kwonly(0, {rng.randint(0, 3)}, c={_pause(ctx)}, d=None)",
        ]
    )
    return [Stmt(f"{target} = {call}\n{_print(ctx, target)}", tags=("signatures",))]


def raised_through(ctx: Ctx) -> list[Node]:
    """An exception raised after a resume two decorated wrappers down, caught by the caller
    with its attributes and the functions its traceback passes through."""
    fresh = ctx.builder.fresh
    err = fresh("e")
    handler = ctx.rng.choice(["BadInput", "ValueError"])
    text = _lines(
        "try:",
        f'    {fresh("n")} = parse_twice("{fresh("t")}")',
        f"except {handler} as {err}:",
        f"    {_print(ctx, f'show({err})', f'{err}.code', f'tb_names({err})')}",
    )
    return [Stmt(text, tags=("raised-through",))]


def closures(ctx: Ctx) -> list[Node]:
    """A counter made by a closure factory, called before and after a pause."""
    name = ctx.builder.fresh("fn")
    _keep(ctx, name, "counter-fn")
    start = ctx.rng.randint(0, 3)
    text = _lines(
        f"{name} = make_counter({start})", f"{name}()", _print(ctx, _pause(ctx), name + "()")
    )
    return [Stmt(text, tags=("closure-factory",))]


def functional(ctx: Ctx) -> list[Node]:
    """A sort key lambda and a ``functools.partial`` of ``reduce`` kept across a pause."""
    fresh = ctx.builder.fresh
    if ctx.rng.random() < 0.5:
        name = fresh("key")
        _keep(ctx, name, "key-fn")
        made = f"{name} = lambda w: (len(w), w)"
    else:
        name = fresh("red")
        _keep(ctx, name, "reducer")
        made = f"{name} = functools.partial(functools.reduce, lambda a, b: a * 10 + b)"
    return [Stmt(_lines(made, _print(ctx, _pause(ctx), _show(ctx, name))), tags=("functional",))]


def iterators(ctx: Ctx) -> list[Node]:
    """An itertools object part used, kept across a pause, used again (over a list the
    program changes after the pause, for islice and chain)."""
    fresh = ctx.builder.fresh
    rng = ctx.rng
    kind = rng.choice(["count", "cycle", "islice", "chain", "groupby"])
    name, source = fresh("it"), fresh("items")
    made = {
        "count": f"itertools.count({rng.randint(0, 5)}, {rng.randint(1, 3)})",
        "cycle": f"itertools.cycle({source})",
        "islice": f"itertools.islice(iter({source}), 1, None)",
        "chain": f'itertools.chain({source}, ["z"])',
        "groupby": f"itertools.groupby(sorted({source}))",
    }[kind]
    _keep(ctx, name, kind)
    text = _lines(
        f'{source} = ["a", "b", "a"]',
        f"{name} = {made}",
        f"next({name})",
        f"{source}.append({_pause(ctx)})",
        _print(ctx, _show(ctx, name), _show(ctx, name)),
    )
    return [Stmt(text, tags=("itertools",))]


def containers(ctx: Ctx) -> list[Node]:
    """A deque (its iterator too), Counter, defaultdict with a lambda, ChainMap or namedtuple
    kept across a pause and changed after it."""
    fresh = ctx.builder.fresh
    rng = ctx.rng
    kind = rng.choice(["deque", "counter", "defaultdict", "chainmap", "pair"])
    name = fresh("c")
    made, change = {
        "deque": (f'deque("abc", maxlen={rng.choice(["None", "3"])})', f"{name}.append({{}})"),
        "counter": ('Counter("abracadabra")', f"{name}.update({{}})"),
        "defaultdict": ('defaultdict(lambda: "none")', f'{name}["k"] = {{}}'),
        "chainmap": ('ChainMap({"a": 1}, {"b": 2})', f'{name}["a"] = {{}}'),
        "pair": ("Pair(1, [2])", f"{name}.b.append({{}})"),
    }[kind]
    _keep(ctx, name, kind)
    walk = ""
    if kind == "deque" and rng.random() < 0.5:
        # a deque changed under its iterator (before or after the pause) makes it raise
        it = fresh("it")
        changed = rng.choice(["", f'{name}.append("m")', f"{name}.appendleft({name}.pop())"])
        walk = _lines(
            f"{it} = iter({name})",
            f"next({it})",
            changed,
            "try:",
            f"    {_print(ctx, _pause(ctx), f'list({it})')}",
            f"except RuntimeError as {fresh('e')}:",
            '    print("mutated")',
        )
    text = _lines(
        f"{name} = {made}",
        walk,
        change.format(_pause(ctx)),
        _print(ctx, _show(ctx, name)),
    )
    return [Stmt(text, tags=("collections",))]


def library_values(ctx: Ctx) -> list[Node]:
    """A value of a standard library type kept across a pause and used after it."""
    fresh = ctx.builder.fresh
    rng = ctx.rng
    kind = rng.choice(
        ["enum", "flag", "datetime", "decimal", "decimal-context", "fraction", "match"]
        + ["random", "template"]
    )
    name = fresh("v")
    made = {
        "enum": "Color.RED",
        "flag": "Flags.A | Flags.B",
        "datetime": "datetime.datetime(2024, 1, 2, 3, 4, tzinfo=datetime.timezone.utc)",
        "decimal": 'decimal.Decimal("1.10")',
        "decimal-context": "decimal.getcontext()",
        "fraction": "fractions.Fraction(3, 4)",
        "match": rng.choice(
            [
                r're.search(r"(\d+)-(\w+)", "ab 12-cd ef")',
                r're.match(r"(?P<w>\w)(\w)?", "xy z")',
                r'list(re.finditer(r"\d", "a1b2c3"))[1]',
                r're.fullmatch(r"a|ab", "ab")',
            ]
        ),
        "random": f"random.Random({rng.randint(0, 99)})",
        "template": 'string.Template("hi $name, $who")',
    }[kind]
    _keep(ctx, name, kind)
    # (the decimal context belongs to the thread, like module state: never changed here)
    use = f"{name}.random()" if kind == "random" else ""
    after = _print(ctx, _pause(ctx), _show(ctx, name))
    return [Stmt(_lines(f"{name} = {made}", use, after), tags=("library-values",))]


#: family name -> statement writer (the names are `context.FAMILIES`)
WRITERS: dict[str, Callable[[Ctx], list[Node] | None]] = {
    "generator": generators,
    "nested-try": nested_try,
    "match-patterns": match_patterns,
    "classes": classes,
    "signatures": signatures,
    "raised-through": raised_through,
    "closure-factory": closures,
    "functional": functional,
    "itertools": iterators,
    "collections": containers,
    "library-values": library_values,
}

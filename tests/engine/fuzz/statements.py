"""Statements: the grammar of a function body.

`block` writes a few statements at a point of a function (`Ctx`); each kind below returns
its nodes, or None when it does not fit there (no loop to break, no region to jump in ...).
Every loop is bounded (finite iterables, counted ``while``, counted GOTO retries, RETURNTO
only back to a reply), so every program ends -- or runs out of messages.
"""

from __future__ import annotations

from collections.abc import Callable

from . import expressions as ex
from . import families, functions, idioms, shapes
from .context import BASIC_TYPES, Builder, Ctx, Function, RegionScope
from .model import Clause, Compound, Node, Region, Stmt

_PREFIX = {"int": "n", "str": "s", "list": "items", "dict": "d"}
_MODULE_OBJECTS = ["SENTINEL", "CONFIG", "WORDS", "TOOL", "SCALE"]
_EXCEPTIONS = ["ValueError", "KeyError", "Oops", "(Oops, Other)", "Exception", "ZeroDivisionError"]


def function_body(
    builder: Builder, fn: Function, variables: dict[str, str], first: list, quiet: bool = False
) -> list:
    """The body of `fn`: `first`, random statements (with no pause if `quiet`), a final
    return of its type."""
    ctx = Ctx(builder, fn, dict(variables), quiet=quiet)
    body = list(first)
    body += block(ctx, ctx.rng.randint(4, 7) if fn.is_main else ctx.rng.randint(1, 4))
    body.append(Stmt(f"return {ex.value(ctx, fn.returns, 0.3)}"))
    if fn.rebinds:
        body.insert(0, Stmt(f"global {', '.join(sorted(fn.rebinds))}"))
    return body


def block(ctx: Ctx, count: int | None = None) -> list[Node]:
    """A few statements at `ctx` (fewer when the program's budget runs out)."""
    if count is None:
        count = ctx.rng.randint(1, 3 if ctx.depth < 2 else 2)
    nodes: list[Node] = []
    for _ in range(count):
        if not ctx.builder.spend():
            break
        nodes += statement(ctx)
    return nodes


def statement(ctx: Ctx) -> list[Node]:
    """One statement of a kind drawn by weight among those that fit at `ctx`."""
    kinds = [(weight, write) for weight, write in _kinds(ctx) if weight > 0]
    weights = [weight for weight, _ in kinds]
    for _ in range(20):
        ((_, write),) = ctx.rng.choices(kinds, weights)
        nodes = write(ctx)
        if nodes:
            return nodes
    return [Stmt(f'print("{ctx.builder.fresh("p")}")')]


def _kinds(ctx: Ctx) -> list[tuple[float, Callable[[Ctx], list[Node] | None]]]:
    nested = ctx.depth < 3
    region = ctx.region
    allows = ctx.builder.allows
    odds = ctx.builder.odds
    return [
        (10, assign),
        (5, mutate),
        (6, show),
        (6 if nested else 0, if_statement),
        (5 if nested else 0, for_loop),
        (10 * ctx.builder.odds("dict-iter", 0.1) if nested else 0, dict_walk),
        (2 if nested else 0, while_loop),
        (5 if nested else 0, try_statement),
        (4 if nested else 0, with_statement),
        (2 if nested else 0, match_statement),
        (3, call),
        (
            3 if ctx.depth < 2 and ctx.builder.budget > 4 and _may_label(ctx) else 0,
            region_statement,
        ),
        (8 if region is not None and region.jump_ok else 0, goto),
        (6 if ctx.fn.returnto and allows("returnto") else 0, returnto),
        (4 if ctx.in_try else 1, raise_statement),
        (3 if ctx.handled else 0, reraise),
        (3 if ctx.in_loop else 0, break_or_continue),
        (2 if ctx.depth > 0 else 0, early_return),
        (2 if not (ctx.fn.has_region and not allows("goto-closure")) else 0, closure),
        (20 * ctx.builder.odds("module-object", 0.1), module_object),
        (2, user_global),
        (1.5, persistent_global),
        (1.5, iterator),
        (1.5, instance),
        (0.5 if allows("locals") else 0, observe),
        (30 * ctx.builder.odds("super", 0.1) if ctx.fn.base and not ctx.quiet else 0, super_call),
        (6 if _refusal_pending(ctx) else 0, refusal),
        (
            10 * odds("global-before-pause", 0.04) if not ctx.quiet else 0,
            idioms.global_before_pause,
        ),
        (
            10 * odds("method-before-pause", 0.04) if not ctx.quiet else 0,
            idioms.method_before_pause,
        ),
        (10 * odds("module-reached", 0.04), idioms.module_reached),
        (10 * odds("weakref-local", 0.04), idioms.weakref_local),
        (10 * odds("delegating-proxy", 0.04), idioms.delegating_proxy),
        (10 * odds("stringio", 0.04), idioms.stringio),
        *_family_kinds(ctx),
        *_shape_kinds(ctx),
    ]


#: families that pause in a decorated helper even in a quiet block
_ALWAYS_PAUSE = frozenset({"signatures", "raised-through"})


def _family_kinds(ctx: Ctx) -> list[tuple[float, Callable[[Ctx], list[Node] | None]]]:
    odds = ctx.builder.odds
    return [
        (0 if ctx.quiet and name in _ALWAYS_PAUSE else 10 * odds(name, 0.025), write)
        for name, write in families.WRITERS.items()
    ]


def _shape_kinds(ctx: Ctx) -> list[tuple[float, Callable[[Ctx], list[Node] | None]]]:
    """Every shape pauses (through decorated helpers too): none in a quiet block; a shape of
    `context.FOCUS_ONLY` only in focus."""
    builder = ctx.builder
    return [
        (0 if ctx.quiet or builder.unfocused(name) else 10 * builder.odds(name, 0.025), write)
        for name, write in shapes.WRITERS.items()
    ]


def _refusal_pending(ctx: Ctx) -> bool:
    builder = ctx.builder
    return bool(builder.refusal) and not builder.refusal_done and ctx.fn.is_main and not ctx.quiet


def _may_label(ctx: Ctx) -> bool:
    allows = ctx.builder.allows
    if not allows("goto") or ctx.quiet or (ctx.in_finally and not allows("label-in-finally")):
        return False
    return not (ctx.fn.has_closure and not allows("goto-closure"))


def _fresh_var(ctx: Ctx, kind: str) -> str:
    return ctx.builder.fresh(_PREFIX[kind])


def _print(ctx: Ctx, *parts: str) -> Stmt:
    return Stmt(f'print("{ctx.builder.fresh("p")}", {", ".join(parts)})')


def observation(ctx: Ctx, name: str) -> str:
    """An expression showing the state of local `name`."""
    kind = ctx.vars[name]
    if kind in BASIC_TYPES:
        return name
    shown = idioms.observation(name, kind) or families.observation(name, kind)
    if shown is not None:
        return shown
    if kind == "iter":
        return f'next({name}, "end")'
    if kind == "fn":
        return f"{name}(2)"
    if kind == "err":
        return f"{name} and show({name})"
    if kind.startswith("obj:"):
        return f"({name}.tag, {name}.items)"
    module_object = kind.split(":", 1)[1]
    return {
        "SENTINEL": f"{name} is SENTINEL",
        "CONFIG": f'({name} is CONFIG, {name}["limit"])',
        "WORDS": f"({name} is WORDS, len({name}))",
        "TOOL": f'({name} is TOOL, {name}.label("v"))',
        "SCALE": f"{name}(2)",
        "weakref": f"{name}() is TOOL",
    }[module_object]


# -- simple statements --------------------------------------------------------------------------


def assign(ctx: Ctx) -> list[Node]:
    kind = ctx.rng.choice(BASIC_TYPES)
    existing = ctx.pick(kind)
    target = existing if existing and ctx.rng.random() < 0.3 else _fresh_var(ctx, kind)
    # a new value never holds the old one: in a loop it would double every time
    value = ex.value(_without(ctx, target) if target == existing else ctx, kind, 0.7)
    ctx.vars[target] = kind
    nodes: list[Node] = [Stmt(f"{target} = {value}")]
    if ctx.rng.random() < 0.5:
        nodes.append(_print(ctx, observation(ctx, target)))
    return nodes


def _without(ctx: Ctx, name: str) -> Ctx:
    """`ctx` where `name` cannot be read: a value added to a local must not contain the local
    itself, or a loop would double it on every turn (and fill the memory). (What is added is
    also cut short: it may hold another local made from this one.)"""
    hidden = ctx.child(depth=ctx.depth)
    del hidden.vars[name]
    return hidden


def mutate(ctx: Ctx) -> list[Node] | None:
    rng = ctx.rng
    options: list[Callable[[], str | None]] = []
    for name in ctx.names("list"):
        if name not in ctx.frozen:
            options += [
                lambda name=name: f"{name}.append({ex.value(ctx, 'str')})",
                lambda name=name: (
                    f"{name}.extend({ex.value(_without(ctx, name), 'list', 0.3)}[:2])"
                ),
                lambda name=name: f"{name}.insert(0, {ex.value(ctx, 'str')})",
            ]
        options += [
            lambda name=name: f"{name}[0] = {ex.value(ctx, 'str')}",
            lambda name=name: f"{name}.sort()",
            lambda name=name: f"if len({name}) > 1:\n    {name}.pop()",
        ]
    for name in ctx.names("dict"):
        options += [
            lambda name=name: f"{name}[{ex.value(ctx, 'str')}] = {ex.plain(ctx, 'int')}",
            lambda name=name: f'{name}["a"] = {name}.get("a", 0) + {ex.value(ctx, "int")}',
            lambda name=name: f'{name}["b"] = {ex.value(ctx, "int")}',
        ]
    for name in ctx.names("int"):
        options.append(lambda name=name: f"{name} += {ex.value(ctx, 'int')}")
    for name in ctx.names("str"):
        options.append(lambda name=name: f"{name} += ({ex.value(_without(ctx, name), 'str')})[:4]")
    for name in ctx.names(*[kind for kind in set(ctx.vars.values()) if kind.startswith("obj:")]):
        options.append(lambda name=name: f"{name}.items.append({ex.value(ctx, 'str')})")
    if not options:
        return None
    return [Stmt(rng.choice(options)())]


def show(ctx: Ctx) -> list[Node] | None:
    names = list(ctx.vars)
    if not names:
        return None
    chosen = ctx.rng.sample(names, min(len(names), ctx.rng.randint(1, 3)))
    parts = [observation(ctx, name) for name in chosen]
    if ctx.rng.random() < 0.3:
        parts.insert(ctx.rng.randint(0, len(parts)), ex.pausing(ctx, "str"))
    kinds = [ctx.vars[name] for name in chosen]
    tags = [_OBSERVED_TAGS[kind] for kind in kinds if kind in _OBSERVED_TAGS]
    tags += ["module-object" for kind in kinds if kind.startswith("mod:")]
    tags += [families.family_of(kind) for kind in kinds if kind.startswith("fam:")]
    printed = _print(ctx, *parts)
    printed.tags = tuple(dict.fromkeys(tags))
    return [printed]


#: what an observation of a local of this type checks
_OBSERVED_TAGS = {"err": "exc-chain", "iter": "iterator", "fn": "closure"}


def call(ctx: Ctx) -> list[Node] | None:
    kind = ctx.rng.choice(["int", "str", "list"])
    expression = functions.call_helper(ctx, kind)
    if expression is None:
        return None
    if ctx.rng.random() < 0.3:
        return [Stmt(expression)]
    target = _fresh_var(ctx, kind)
    ctx.vars[target] = kind
    return [Stmt(f"{target} = {expression}"), _print(ctx, target)]


def raise_statement(ctx: Ctx) -> list[Node]:
    exc = ctx.rng.choice(["Oops", "Oops", "Other", "ValueError", "KeyError"])
    stmt = Stmt(f"raise {exc}({ex.value(ctx, 'str', 0.3)})", tags=("raise",))
    if ctx.rng.random() < 0.7:
        return [Compound([Clause(f"if {ex.condition(ctx)}:", [stmt])])]
    return [stmt]


def reraise(ctx: Ctx) -> list[Node]:
    handled = ctx.handled
    options = [
        lambda: "raise",
        lambda: f"raise Other({ex.value(ctx, 'str', 0.3)}) from {handled}",
        lambda: f"raise Other({ex.plain(ctx, 'str')})",
        lambda: f"raise {handled}",
        lambda: f"raise Oops({ex.plain(ctx, 'str')}) from None",
    ]
    stmt = Stmt(ctx.rng.choice(options)(), tags=("reraise",))
    if ctx.rng.random() < 0.7:
        return [Compound([Clause(f"if {ex.condition(ctx)}:", [stmt])])]
    return [stmt]


def break_or_continue(ctx: Ctx) -> list[Node]:
    word = ctx.rng.choice(["break", "continue"])
    return [Compound([Clause(f"if {ex.condition(ctx)}:", [Stmt(word)])])]


def early_return(ctx: Ctx) -> list[Node]:
    value = ex.value(ctx, ctx.fn.returns, 0.4)
    stmt = Stmt(f"return {value}", tags=("return",))
    if ctx.rng.random() < 0.6:
        return [Compound([Clause(f"if {ex.condition(ctx)}:", [stmt])])]
    return [stmt]


def closure(ctx: Ctx) -> list[Node] | None:
    """A nested function or lambda over a local: the cell must stay shared after a resume."""
    ints = [name for name in ctx.names("int") if "." not in name]
    if not ints:
        return None
    target = ctx.rng.choice(ints)
    name = ctx.builder.fresh("fn")
    style = ctx.rng.choice(["nonlocal", "reader", "lambda"])
    if style == "nonlocal":
        text = f"def {name}(v):\n    nonlocal {target}\n    {target} += v\n    return {target}"
    elif style == "reader":
        text = f"def {name}(v):\n    return v * 2 + {target}"
    else:
        text = f"{name} = lambda v: v + {target}"
    ctx.vars[name] = "fn"
    ctx.fn.has_closure = True
    nodes: list[Node] = [Stmt(text, tags=("closure",))]
    if ctx.rng.random() < 0.5:
        nodes.append(_print(ctx, f"{name}(1)", target))
    return nodes


def module_object(ctx: Ctx) -> list[Node]:
    """A module-level object held in a local: after a resume it must be the same object."""
    name = ctx.builder.fresh("m")
    if ctx.rng.random() < 0.1:
        ctx.vars[name] = "mod:weakref"
        return [Stmt(f"{name} = weakref.ref(TOOL)", tags=("module-object", "weakref"))]
    obj = ctx.rng.choice(_MODULE_OBJECTS)
    ctx.vars[name] = f"mod:{obj}"
    return [Stmt(f"{name} = {obj}", tags=("module-object",))]


def user_global(ctx: Ctx) -> list[Node]:
    """``G = init_user_globals()``: per-session values changed across pauses."""
    builder = ctx.builder
    builder.user_globals.setdefault("count", "int")
    builder.user_globals.setdefault("seen", "list")
    options = [
        lambda: f'G["count"] += {ex.value(ctx, "int", 0.3)}',
        lambda: f'G["seen"].append({ex.value(ctx, "str", 0.3)})',
        lambda: f'print("{builder.fresh("p")}", G["count"], G["seen"])',
    ]
    return [Stmt(ctx.rng.choice(options)(), tags=("user-globals",))]


def persistent_global(ctx: Ctx) -> list[Node]:
    """Names from ``with set_persistent_globals():``, per session, read and rebound."""
    builder = ctx.builder
    builder.persistent.setdefault("total", "0")
    builder.persistent.setdefault("names", "[]")
    roll = ctx.rng.random()
    if roll < 0.4:
        ctx.fn.rebinds.add("total")
        text = f"total += {ex.value(ctx, 'int', 0.3)}"
    elif roll < 0.7:
        text = f"names.append({ex.value(ctx, 'str', 0.3)})"
    else:
        text = f'print("{builder.fresh("p")}", total, names)'
    return [Stmt(text, tags=("persistent-globals",))]


def iterator(ctx: Ctx) -> list[Node] | None:
    """An iterator over a list the program keeps changing: it must stay over that list."""
    source = ctx.pick("list")
    if source is None or "." in source:
        return None
    name = ctx.builder.fresh("it")
    ctx.vars[name] = "iter"
    ctx.builder.iterator_sources[name] = source
    return [Stmt(f"{name} = iter({source})", tags=("iterator",))]


def instance(ctx: Ctx) -> list[Node] | None:
    classes = list(ctx.builder.classes)
    if not classes:
        return None
    cls = ctx.rng.choice(classes)
    name = ctx.builder.fresh("o")
    ctx.vars[name] = f"obj:{cls}"
    return [Stmt(f'{name} = {cls}("{ctx.builder.fresh("t")}")')]


def observe(ctx: Ctx) -> list[Node]:
    """What a debugging user looks at: locals(), a traceback, sys.exc_info()."""
    handled = ctx.handled
    if handled and ctx.rng.random() < 0.6:
        if ctx.rng.random() < 0.5 and ctx.builder.allows("traceback"):
            return [
                Stmt(f'print("{ctx.builder.fresh("p")}", tb_names({handled}))', tags=("traceback",))
            ]
        return [
            Stmt(f'print("{ctx.builder.fresh("p")}", kind(sys.exc_info()[0]))', tags=("exc-info",))
        ]
    return [Stmt(f'print("{ctx.builder.fresh("p")}", sorted(locals()))', tags=("locals",))]


def super_call(ctx: Ctx) -> list[Node] | None:
    expression = functions.super_call(ctx)
    if expression is None:
        return None
    target = _fresh_var(ctx, ctx.fn.returns)
    ctx.vars[target] = ctx.fn.returns
    return [Stmt(f"{target} = {expression}", tags=("super",)), _print(ctx, target)]


def refusal(ctx: Ctx) -> list[Node]:
    from .refusals import refused_statement

    ctx.builder.refusal_done = True
    return refused_statement(ctx)


# -- compound statements ------------------------------------------------------------------------


def if_statement(ctx: Ctx) -> list[Node]:
    clauses = [Clause(f"if {ex.condition(ctx)}:", block(ctx.child()))]
    if ctx.rng.random() < 0.25:
        clauses.append(Clause(f"elif {ex.condition(ctx, 0.1)}:", block(ctx.child()), optional=True))
    if ctx.rng.random() < 0.4:
        clauses.append(Clause("else:", block(ctx.child()), optional=True))
    return [Compound(clauses)]


def _iterable(ctx: Ctx) -> tuple[str, dict[str, str], str | None, tuple[str, ...]]:
    """A for-loop's iterable: (iterable, its target names and types, frozen list, tags)."""
    rng = ctx.rng
    fresh = ctx.builder.fresh
    lists = [name for name in ctx.names("list")]
    dicts = ctx.names("dict")
    iterators = ctx.names("iter")
    options: list[Callable[[], tuple | None]] = [
        lambda: (f"range({rng.randint(1, 3)})", {fresh("i"): "int"}, None, ()),
        lambda: (f"{ex.pause(ctx)}.split()", {fresh("w"): "str"}, None, ("pause-iterable",)),
    ]
    if lists:
        lst = rng.choice(lists)
        options += [
            lambda: (lst, {fresh("w"): "str"}, lst, ("list-iter",)),
            lambda: (
                f"enumerate({lst})",
                {fresh("i"): "int", fresh("w"): "str"},
                lst,
                ("list-iter",),
            ),
            lambda: (f"reversed({lst})", {fresh("w"): "str"}, lst, ("list-iter",)),
            lambda: (f"zip({lst}, range(3))", {fresh("w"): "str", fresh("i"): "int"}, lst, ()),
        ]
    if dicts and rng.random() < ctx.builder.odds("dict-iter", 0.15):
        d = rng.choice(dicts)
        return rng.choice(
            [
                (f"{d}.items()", {fresh("k"): "str", fresh("v"): "int"}, None, ("dict-iter",)),
                (d, {fresh("k"): "str"}, None, ("dict-iter",)),
            ]
        )
    if dicts and ctx.builder.allows("dict-iter"):
        d = rng.choice(dicts)
        options += [
            lambda: (f"{d}.items()", {fresh("k"): "str", fresh("v"): "int"}, None, ("dict-iter",)),
            lambda: (d, {fresh("k"): "str"}, None, ("dict-iter",)),
            lambda: (f"sorted({d})", {fresh("k"): "str"}, None, ()),
        ]
    if iterators:
        it = rng.choice(iterators)
        source = ctx.builder.iterator_sources.get(it)
        options.append(lambda: (it, {fresh("w"): "str"}, source, ("iterator",)))
    return rng.choice(options)()


def for_loop(ctx: Ctx) -> list[Node]:
    iterable, targets, frozen, tags = _iterable(ctx)
    frozen_set = ctx.frozen | {frozen} if frozen else ctx.frozen
    body_ctx = ctx.child(in_loop=True, frozen=frozen_set)
    body_ctx.vars.update(targets)
    header = f"for {', '.join(targets)} in {iterable}:"
    clauses = [Clause(header, block(body_ctx))]
    if ctx.rng.random() < 0.3:
        clauses.append(Clause("else:", block(ctx.child()), optional=True))
    return [Compound(clauses, tags=("for", *tags))]


def dict_walk(ctx: Ctx) -> list[Node] | None:
    """A loop over a dict's items that pauses and then changes the dict: the loop must go on
    over the very dict (and raise, as plain Python does, if its size changed)."""
    d = ctx.pick("dict")
    if d is None:
        return None
    key, value = ctx.builder.fresh("k"), ctx.builder.fresh("v")
    body_ctx = ctx.child(in_loop=True)
    body_ctx.vars.update({key: "str", value: "int"})
    change = ctx.rng.choice(
        [f'{d}["b"] = {value} + 10', f"{d}[{key}] = {value} + 1", f'{d}["c"] = 3']
    )
    body = [_print(body_ctx, key, value, ex.pause(body_ctx)), Stmt(change), *block(body_ctx, 1)]
    return [Compound([Clause(f"for {key}, {value} in {d}.items():", body)], tags=("dict-iter",))]


def while_loop(ctx: Ctx) -> list[Node]:
    counter = ctx.builder.fresh("w")
    limit = ctx.rng.randint(1, 3)
    condition = f"{counter} < {limit}"
    if ctx.rng.random() < 0.3:
        condition += f" and {ex.condition(ctx, 0.5)}"
    body = [Stmt(f"{counter} += 1"), *block(ctx.child(in_loop=True))]
    clauses = [Clause(f"while {condition}:", body)]
    if ctx.rng.random() < 0.2:
        clauses.append(Clause("else:", block(ctx.child()), optional=True))
    return [Stmt(f"{counter} = 0"), Compound(clauses, tags=("while",))]


def _raising(ctx: Ctx) -> tuple[Node, str]:
    """A statement that raises (sometimes only for some messages), and what it raises."""
    options = [
        lambda: (Stmt(f"raise Oops({ex.value(ctx, 'str', 0.4)})", tags=("raise",)), "Oops"),
        lambda: (Stmt(f"{_fresh_var(ctx, 'int')} = int({ex.pause(ctx)})"), "ValueError"),
        lambda: (
            Compound(
                [
                    Clause(
                        f"if {ex.condition(ctx, 0.4)}:",
                        [Stmt(f"raise Other({ex.plain(ctx, 'str')})")],
                    )
                ]
            ),
            "(Oops, Other)",
        ),
        lambda: (Stmt(f"{_fresh_var(ctx, 'int')} = {{'a': 1}}[{ex.pause(ctx)}]"), "KeyError"),
        lambda: (
            Stmt(f"{_fresh_var(ctx, 'int')} = 1 // (len({ex.pause(ctx)}) % 2)"),
            "ZeroDivisionError",
        ),
    ]
    return ctx.rng.choice(options)()


def try_statement(ctx: Ctx) -> list[Node]:
    rng = ctx.rng
    has_finally = rng.random() < max(0.35, ctx.builder.odds("pausing-finally", 0.12))
    handlers = 0 if has_finally and rng.random() < 0.4 else rng.randint(1, 2)
    keep_error = handlers and rng.random() < ctx.builder.odds("exc-chain", 0.3)
    error_var = ctx.builder.fresh("err") if keep_error else None
    # A try with a finally: no jump may leave any of its clauses (the finally would be skipped).
    outer = ctx.no_jump() if has_finally else ctx
    body_ctx = outer.child(in_try=True)
    # Written before the body, so it reads only locals bound wherever it lands in it.
    raising, raised = _raising(body_ctx.child()) if rng.random() < 0.6 else (None, "Oops")
    body = block(body_ctx)
    if raising is not None:
        body.insert(rng.randint(0, len(body)), raising)
    clauses = [Clause("try:", body)]
    for index in range(handlers):
        name = ctx.builder.fresh("e")
        handler_ctx = outer.child(handled=name)
        handler: list[Node] = []
        if rng.random() < 0.6:
            handler.append(_print(handler_ctx, f"show({name})"))
        if error_var:
            handler.append(Stmt(f"{error_var} = {name}"))
        handler += block(handler_ctx)
        # A program with a refused pause never catches Exception: the refusal's message is
        # the engine's own, so the program must not print it.
        kinds = [k for k in _EXCEPTIONS if not (ctx.builder.refusal and k == "Exception")]
        kind = raised if index == 0 and rng.random() < 0.7 else rng.choice(kinds)
        clauses.append(Clause(f"except {kind} as {name}:", handler, optional=index > 0))
    if handlers and rng.random() < 0.2:
        clauses.append(Clause("else:", block(outer.child()), optional=True))
    if has_finally:
        final_ctx = ctx.no_jump()
        final_ctx.in_finally = True
        final_ctx.quiet = ctx.quiet or not ctx.builder.allows("pausing-finally")
        clauses.append(Clause("finally:", block(final_ctx), optional=handlers > 0))
    nodes: list[Node] = []
    tags = ("try", "finally") if has_finally else ("try",)
    if error_var:
        nodes.append(Stmt(f"{error_var} = None"))
    nodes.append(Compound(clauses, tags=tags))
    if error_var:
        ctx.vars[error_var] = "err"
        if rng.random() < 0.6:
            nodes.append(Stmt(f"{_fresh_var(ctx, 'str')} = {ex.pause(ctx)}"))
        nodes.append(
            Stmt(
                f'print("{ctx.builder.fresh("p")}", {error_var} and show({error_var}))',
                tags=("exc-chain",),
            )
        )
    return nodes


def with_statement(ctx: Ctx) -> list[Node]:
    rng = ctx.rng
    fresh = ctx.builder.fresh
    items = []
    tags = ["with"]
    for _ in range(rng.choice([1, 1, 1, 2])):
        roll = rng.random()
        if roll < 0.15:
            items.append("suppress(KeyError, Oops)")
            tags.append("swallow")
        elif roll < 0.35:
            items.append(f'CM("{fresh("cm")}", (Oops, ValueError))')
            tags.append("swallow")
        elif roll < 0.5:
            items.append(f"CM({ex.pause(ctx)})")
        else:
            items.append(f'CM("{fresh("cm")}")')
    body_ctx = ctx.no_jump()
    header_items = []
    for item in items:
        if item.startswith("CM(") and rng.random() < 0.4:
            alias = fresh("c")
            body_ctx.vars[alias] = "str"
            header_items.append(f"{item} as {alias}")
        else:
            header_items.append(item)
    raising = _raising(body_ctx.child())[0] if "swallow" in tags and rng.random() < 0.5 else None
    body = block(body_ctx)
    if raising is not None:
        body.insert(rng.randint(0, len(body)), raising)
    return [Compound([Clause(f"with {', '.join(header_items)}:", body)], tags=tuple(tags))]


def match_statement(ctx: Ctx) -> list[Node]:
    rng = ctx.rng
    fresh = ctx.builder.fresh
    clauses = []
    if rng.random() < 0.6:
        subject = ctx.pick("str") if rng.random() < 0.4 else None
        subject = subject or ex.pause(ctx)
        bound = fresh("s")
        patterns = [
            ('case "yes" | "ok":', {}),
            ('case "no":', {}),
            (f"case str() as {bound} if {bound}.isdigit():", {bound: "str"}),
            ("case _:", {}),
        ]
    else:
        subject = f"{ex.pause(ctx)}.split()" if rng.random() < 0.7 else (ctx.pick("list") or "[]")
        first, rest = fresh("s"), fresh("items")
        patterns = [
            ("case []:", {}),
            (f"case [{first}]:", {first: "str"}),
            (f"case [{first}, *{rest}]:", {first: "str", rest: "list"}),
        ]
    chosen = [pattern for pattern in patterns if rng.random() < 0.7] or patterns[-1:]
    for pattern, bound_vars in chosen:
        case_ctx = ctx.child()
        case_ctx.vars.update(bound_vars)
        clauses.append(Clause(pattern, block(case_ctx), optional=len(chosen) > 1))
    return [
        Compound(
            [Clause(f"match {subject}:", [Compound(clauses, unwrappable=False)])], tags=("match",)
        )
    ]


# -- jumps --------------------------------------------------------------------------------------


def region_statement(ctx: Ctx) -> list[Node] | None:
    """A labelled call and the statements after it that may jump back to it."""
    builder = ctx.builder
    label = builder.fresh("L")
    counter = builder.fresh("tries")
    pauses = ctx.rng.random() < 0.75
    tags: tuple[str, ...] = ("label",)
    if pauses:
        target = _fresh_var(ctx, "str")
        call = f'reply(f"{builder.fresh("q")} {{{counter}}}", ADDRESS="{label}")'
        if ctx.rng.random() < builder.odds("goto-expression", 0.3):
            # re-running the call re-runs the whole statement (what the reference loop does)
            call = ctx.rng.choice(
                [
                    f'"p:" + {call}',
                    f"{call}.strip()",
                    f'f"{{{counter}}}:" + {call}',
                    f"str(num({call}))",
                ]
            )
            tags += ("goto-expression",)
        labelled = f"{target} = {call}"
        kind = "str"
    else:
        kind = ctx.rng.choice(["int", "str", "list"])
        call_text = functions.call_helper(ctx, kind)
        if call_text is None or not call_text.endswith(")"):
            return None
        if any(call_text.startswith(f"{name}(") for name in builder.wrapped):
            return None  # no ADDRESS through a @logged wrapper
        target = _fresh_var(ctx, kind)
        separator = "" if call_text.endswith("()") else ", "
        labelled = f'{target} = {call_text[:-1]}{separator}ADDRESS="{label}")'
    ctx.fn.has_region = True
    scope = RegionScope(label, counter, pauses)
    region_ctx = ctx.child(region=scope, in_loop=False)
    region_ctx.vars[target] = kind
    builder.jumps[label] = 0
    body: list[Node] = [Stmt(labelled, tags=tags)]
    body += block(region_ctx, ctx.rng.randint(1, 3))
    if builder.jumps[label] == 0:
        body += goto(region_ctx)
    ctx.vars[target] = kind
    return [Stmt(f"{counter} = 0"), Region(label, body)]


def goto(ctx: Ctx) -> list[Node]:
    region = ctx.region
    ctx.builder.jumps[region.label] += 1
    condition = ex.condition(ctx, 0.2)
    body: list[Node] = [Stmt(f"{region.counter} += 1")]
    if ctx.rng.random() < 0.3:
        body.append(_print(ctx, region.counter))
    body.append(Stmt(f'GOTO("{region.label}")', tags=("goto",)))
    return [Compound([Clause(f"if {condition} and {region.counter} < 2:", body)])]


def returnto(ctx: Ctx) -> list[Node]:
    label = ctx.rng.choice(ctx.fn.returnto)
    word = ctx.pick("str")
    condition = f'{word} in ("back", "x", "no")' if word else ex.condition(ctx, 0.6)
    body = [Stmt(f'RETURNTO("{label}")', tags=("returnto",))]
    return [Compound([Clause(f"if {condition}:", body)])]

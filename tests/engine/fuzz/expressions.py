"""Expressions of a known type, with or without a pause inside.

`plain(ctx, type)` never pauses; `pausing(ctx, type)` holds exactly one pause -- a ``reply``,
an undecorated helper that replies, or a call of a decorated function (which may pause) --
inside a partial expression around it: operands before and after it, f-strings, calls with
other arguments, displays, method calls on its result, comprehensions over it.
"""

from __future__ import annotations

from collections.abc import Callable

from . import functions, idioms
from .context import Ctx


def _choose(ctx: Ctx, options: list[Callable[[], str | None]]) -> str:
    """The first result among `options`, tried in a random order, that is not empty (an
    option gives None or another false value when it does not apply here)."""
    order = list(options)
    ctx.rng.shuffle(order)
    for option in order:
        value = option()
        if value:
            return value
    raise AssertionError("no option applies")  # the literal options always do


def _var(ctx: Ctx, kind: str) -> str | None:
    return ctx.pick(kind)


def plain(ctx: Ctx, kind: str) -> str:
    """A non-pausing expression of type `kind` (int, str, list, dict)."""
    return {"int": plain_int, "str": plain_str, "list": plain_list, "dict": plain_dict}[kind](ctx)


def plain_int(ctx: Ctx) -> str:
    rng = ctx.rng
    s, n, lst, d = _var(ctx, "str"), _var(ctx, "int"), _var(ctx, "list"), _var(ctx, "dict")
    fn = ctx.pick("fn")
    options = [
        lambda: str(rng.randint(0, 4)),
        lambda: n,
        lambda: n and f"{n} + {rng.randint(1, 3)}",
        lambda: s and f"len({s})",
        lambda: s and f"num({s})",
        lambda: lst and f"len({lst})",
        lambda: d and s and f"{d}.get({s}, 0)",
        lambda: d and f"sum({d}.values())",
        lambda: s and f"len([c for c in {s} if c.isalnum()])",
        lambda: n and f"max({n}, 2) % 5",
        lambda: fn and n and f"{fn}({n})",
        lambda: ctx.builder.user_globals and _user_global(ctx, "int"),
    ]
    return _choose(ctx, options)


def plain_str(ctx: Ctx) -> str:
    rng = ctx.rng
    s, n, lst = _var(ctx, "str"), _var(ctx, "int"), _var(ctx, "list")
    it = ctx.pick("iter")
    options = [
        lambda: repr(rng.choice(["alpha", "yes", "3", "x y", ""])),
        lambda: s,
        lambda: s and n and f'f"{{{s}}}-{{{n}}}"',
        lambda: s and f"{s}.upper()",
        lambda: n and f"str({n})",
        lambda: lst and f'"+".join({lst})',
        lambda: s and f"{s}[:3]",
        lambda: s and n and f"fmt({s}, {n})",
        lambda: it and f'next({it}, "end")',
    ]
    return _choose(ctx, options)


def plain_list(ctx: Ctx) -> str:
    s, lst, d = _var(ctx, "str"), _var(ctx, "list"), _var(ctx, "dict")
    options = [
        lambda: '["a", "b"]',
        lambda: s and f'[{s}, "x"]',
        lambda: lst and f"list({lst})",
        lambda: s and f"{s}.split()",
        lambda: d and f"sorted({d})",
        lambda: lst and s and f"{lst} + [{s}]",
        lambda: lst and f"[w.upper() for w in {lst}]",
    ]
    return _choose(ctx, options)


def plain_dict(ctx: Ctx) -> str:
    n, lst, d = _var(ctx, "int"), _var(ctx, "list"), _var(ctx, "dict")
    options = [
        lambda: '{"a": 1, "b": 2}',
        lambda: n and f'{{"a": {n}, "b": 2}}',
        lambda: d and f"dict({d})",
        lambda: lst and f"{{w: len(w) for w in {lst}}}",
        lambda: d and n and f'{{**{d}, "c": {n}}}',
        lambda: (
            ctx.builder.chance(ctx.builder.odds("ordered-dict", 0.5))
            and f"OrderedDict(a={n or 1}, b=2)"
        ),
    ]
    return _choose(ctx, options)


def _user_global(ctx: Ctx, kind: str) -> str | None:
    keys = [key for key, value in ctx.builder.user_globals.items() if value == kind]
    return f'G["{ctx.rng.choice(keys)}"]' if keys else None


# -- pauses -------------------------------------------------------------------------------------


def pause(ctx: Ctx) -> str:
    """A str-valued call that pauses (or a decorated call that may); in a quiet block, a
    plain string instead."""
    if ctx.quiet:
        return plain_str(ctx)
    builder = ctx.builder
    roll = ctx.rng.random()
    if roll < 0.12:
        call = functions.call_helper(ctx, "str")  # (never in a quiet block: returned above)
        if call is not None:
            return call
    if roll < 0.17:
        return f"ask_plain({builder.question(ctx)})"
    question = builder.question(ctx)
    return idioms.pause(ctx, question) or f"reply({question})"


def pausing(ctx: Ctx, kind: str) -> str:
    """An expression of type `kind` with one pause inside."""
    return {"int": pausing_int, "str": pausing_str, "list": pausing_list, "dict": pausing_dict}[
        kind
    ](ctx)


def pausing_int(ctx: Ctx) -> str:
    rng = ctx.rng
    if rng.random() < 0.15 and not ctx.quiet:
        call = functions.call_helper(ctx, "int")
        if call is not None:
            return call
    p = pause(ctx)
    n, d = _var(ctx, "int"), _var(ctx, "dict")
    options = [
        lambda: f"len({p})",
        lambda: f"num({p})",
        lambda: n and f"{n} + num({p})",
        lambda: n and f"len({p}) * 2 + {n}",
        lambda: f"int({p})" if ctx.in_try or rng.random() < 0.2 else None,
        lambda: f"sum(len(w) for w in {p}.split())",
        lambda: f'{p}.count("a")',
        lambda: d and n and f"{d}.get({p}, {n})",
        lambda: n and f"({n} if {p} == 'yes' else {n} + 1)",
        lambda: f"max(len({p}), {rng.randint(0, 3)})",
    ]
    return _choose(ctx, options)


def pausing_str(ctx: Ctx) -> str:
    p = pause(ctx)
    s, n, lst = _var(ctx, "str"), _var(ctx, "int"), _var(ctx, "list")
    options = [
        lambda: p,
        lambda: s and f"{s} + {p}",
        lambda: s and n and f'str({n}) + ":" + {p} + ":" + {s}',
        lambda: f"{p}.strip().lower()",
        lambda: s and f'"-".join([{s}, {p}])',
        lambda: s and f"fmt({s}, {p}, sep={s}[:1] or '/')",
        lambda: f'{p} or "empty"',
        lambda: s and n and f"({p} if {n} > 1 else {s})",
        lambda: s and f"({s} or {p})",
        lambda: lst and f"fmt(*{lst}, {p})",
        lambda: n and f"fmt({n}, {p}.upper(), sep='|')",
    ]
    return _choose(ctx, options)


def pausing_list(ctx: Ctx) -> str:
    if ctx.rng.random() < 0.15 and not ctx.quiet:
        call = functions.call_helper(ctx, "list")
        if call is not None:
            return call
    p = pause(ctx)
    s, n, lst = _var(ctx, "str"), _var(ctx, "int"), _var(ctx, "list")
    options = [
        lambda: s and n and f"[{s}, {p}, str({n})]",
        lambda: f"{p}.split()",
        lambda: f"sorted(set({p}))",
        lambda: f'[c for c in {p} if c != " "]',
        lambda: lst and f"{lst} + [{p}]",
        lambda: f"list(reversed({p}.split()))",
    ]
    return _choose(ctx, options)


def pausing_dict(ctx: Ctx) -> str:
    p = pause(ctx)
    n, d = _var(ctx, "int"), _var(ctx, "dict")
    options = [
        lambda: f'{{"q": len({p})}}',
        lambda: n and f'{{"a": {n}, "b": len({p})}}',
        lambda: n and f"{{{p}: {n}}}",
        lambda: d and f"dict({d}, extra=len({p}))",
        lambda: d and f'{{**{d}, "k": num({p})}}',
    ]
    return _choose(ctx, options)


def value(ctx: Ctx, kind: str, pause_chance: float = 0.5) -> str:
    """An expression of type `kind`, pausing with probability `pause_chance`."""
    if ctx.rng.random() < pause_chance:
        return pausing(ctx, kind)
    return plain(ctx, kind)


def condition(ctx: Ctx, pause_chance: float = 0.35) -> str:
    """A boolean expression, pausing with probability `pause_chance`."""
    rng = ctx.rng
    if rng.random() < pause_chance:
        p = pause(ctx)
        return rng.choice(
            [
                f'{p} == "yes"',
                f"num({p}) > 2",
                f'{p} in ("back", "no", "x")',
                f"len({p}) % 2 == 0",
                f"not {p}",
            ]
        )
    s, n, lst, d = _var(ctx, "str"), _var(ctx, "int"), _var(ctx, "list"), _var(ctx, "dict")
    options = [
        lambda: s and f'{s} == "yes"',
        lambda: s and f'{s} in ("no", "x", "back")',
        lambda: s and f"{s}.isdigit()",
        lambda: s and f"not {s}",
        lambda: n and f"{n} > {rng.randint(0, 4)}",
        lambda: n and f"0 < {n} < {rng.randint(2, 9)}",
        lambda: lst and f"len({lst}) < {rng.randint(1, 4)}",
        lambda: d and f'"a" in {d}',
        lambda: rng.choice(["True", "False"]),
    ]
    return _choose(ctx, options)

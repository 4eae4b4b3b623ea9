"""What users write that the first grammar missed: the families an engineer new to the code
found silent or stuck (tests/outside/test_engine_resume_outside.py), written at random like
the rest of a program.

Statements here: a global loaded before a call that rebinds it and pauses, a method looked
up before an argument that replaces it and pauses, objects reached through module objects,
weak references, delegating proxies and in-memory buffers held in locals. Pauses (in
`pause`): undecorated helpers that reply and post-process, a mutable default across a
pause, calls through ``handlers[k]()``, ``obj()`` and a factory table. Elsewhere:
``@logged`` (a decorated ``functools.wraps`` wrapper) and ``functools.partial`` /
dispatch-table calls of helpers (`functions`), GOTO to a labelled call inside an expression
(`statements.region_statement`), ``OrderedDict`` values (`expressions.plain_dict`).

None of them writes module state a later turn reads: a global is set again right before
the statement that loads it, so every mode (a fresh interpreter included) has one answer.
"""

from __future__ import annotations

from .context import Ctx
from .model import Node, Stmt

#: objects reached through module-level objects: (kind, expression)
_REACHED = [("TABLE", 'TABLE["row"]'), ("Registry", "Registry.items"), ("BOT", "BOT.seen")]


def observation(name: str, kind: str) -> str | None:
    """An expression showing local `name` of an idiom's `kind`, or None for other kinds."""
    shown = {
        "proxy": f"(type({name}).__name__, {name}.name)",
        "finalize": f"{name}.alive",
        "delegate": f'({name}.count("a"), len({name}.target))',
        "io:str": f"{name}.readline()",
        "io:bytes": f"{name}.read(1)",
        "mod:TABLE": f'({name} is TABLE["row"], len({name}))',
        "mod:Registry": f"({name} is Registry.items, len({name}))",
        "mod:BOT": f"({name} is BOT.seen, len({name}))",
    }
    return shown.get(kind)


def _then_observed(ctx: Ctx, name: str, text: str) -> str:
    """`text`, mostly followed by a print of a pause and then of local `name` (so the local
    is looked at right after it crossed a pause)."""
    if ctx.quiet or ctx.rng.random() < 0.3:
        return text
    from .expressions import pause as any_pause

    shown = observation(name, ctx.vars[name])
    return f'{text}\nprint("{ctx.builder.fresh("p")}", {any_pause(ctx)}, {shown})'


def pause(ctx: Ctx, question: str) -> str | None:
    """A pause of one of the idioms (a str), or None (most of the time)."""
    odds = ctx.builder.odds
    rng = ctx.rng
    roll = rng.random()
    if roll < odds("plain-helper", 0.02):
        helpers = ["ask_clean", "ask_twice", "ask_each", "ask_framed", "ask_both", 'Pad("n").ask']
        return f"{rng.choice(helpers)}({question})"
    roll -= odds("plain-helper", 0.02)
    if roll < odds("mutable-default", 0.015):
        return f"collect({question})"
    roll -= odds("mutable-default", 0.015)
    if roll < odds("indirect-call", 0.015):
        return rng.choice(
            [
                f'Asker("A:")({question})',
                f'{{"ask": Asker("B:")}}["ask"]({question})',
                f'FACTORIES["greeter"]({question}).answer',
            ]
        )
    return None


def global_before_pause(ctx: Ctx) -> list[Node]:
    """A module global loaded (or loaded and rebound by a walrus) before a call that pauses
    and rebinds it: the expression must see the value it loaded."""
    builder = ctx.builder
    name = builder.fresh("PX")
    ctx.fn.rebinds.add(name)
    target = builder.fresh("s")
    value = builder.fresh("v")
    question = builder.question(ctx)
    if ctx.rng.random() < 0.5:
        expression = f'fmt({name}, rebind_and_ask("{name}", {question}))'
    else:
        expression = f'fmt({name}, ({name} := "{value}w"), reply({question}))'
    ctx.vars[target] = "str"
    text = f'{name} = "{value}"\n{target} = {expression}\nprint("{builder.fresh("p")}", {target})'
    return [Stmt(text, tags=("global-before-pause",))]


def method_before_pause(ctx: Ctx) -> list[Node]:
    """``speaker.say(swap_and_ask(speaker, ...))``: the method looked up first is called."""
    builder = ctx.builder
    speaker, target = builder.fresh("spk"), builder.fresh("s")
    ctx.vars[target] = "str"
    text = (
        f"{speaker} = Speaker()\n"
        f"{target} = {speaker}.say(swap_and_ask({speaker}, {builder.question(ctx)}))\n"
        f'print("{builder.fresh("p")}", {target}, {speaker}.say("again"))'
    )
    return [Stmt(text, tags=("method-before-pause",))]


def module_reached(ctx: Ctx) -> list[Node]:
    """A list reached through a module object, held in a local: the same list after a pause."""
    kind, expression = ctx.rng.choice(_REACHED)
    name = ctx.builder.fresh("m")
    ctx.vars[name] = f"mod:{kind}"
    text = _then_observed(ctx, name, f"{name} = {expression}")
    return [Stmt(text, tags=("module-reached",))]


def weakref_local(ctx: Ctx) -> list[Node]:
    """A weakref.proxy or weakref.finalize of a local object: still one after a pause."""
    builder = ctx.builder
    target, name = builder.fresh("obj"), builder.fresh("wr")
    made = f'{target} = Tool("{builder.fresh("t")}")'
    if ctx.rng.random() < 0.5:
        ctx.vars[name] = "proxy"
        text = f"{made}\n{name} = weakref.proxy({target})"
    else:
        ctx.vars[name] = "finalize"
        text = f'{made}\n{name} = weakref.finalize({target}, len, "")'
    return [Stmt(_then_observed(ctx, name, text), tags=("weakref-local",))]


def delegating_proxy(ctx: Ctx) -> list[Node]:
    """An object forwarding attributes through ``__getattr__``, held in a local."""
    name = ctx.builder.fresh("dp")
    word = ctx.pick("str") or '"z"'
    ctx.vars[name] = "delegate"
    text = _then_observed(ctx, name, f'{name} = Delegate(["a", {word}])')
    return [Stmt(text, tags=("delegating-proxy",))]


def stringio(ctx: Ctx) -> list[Node]:
    """An in-memory text or bytes buffer part read: the rest is read after a pause."""
    name = ctx.builder.fresh("buf")
    if ctx.rng.random() < 0.6:
        ctx.vars[name] = "io:str"
        text = f'{name} = io.StringIO("l1\\nl2\\nl3\\n")\n{name}.readline()'
    else:
        ctx.vars[name] = "io:bytes"
        text = f'{name} = io.BytesIO(b"xyz")\n{name}.read(1)'
    return [Stmt(_then_observed(ctx, name, text), tags=("stringio",))]

"""Random well-formed bot programs: `generate(seed, index)` is the same program on every
Python and every run.

A program is a module: support code (`prelude`), per-session globals, decorated helpers and
classes written as calls need them (`functions`), ``main`` (random statements, `statements`)
and the root ``chatbot``, which calls ``main`` and prints what it returns -- so the final
value is part of the transcript. About one program in ten also reaches a pause the engine
must refuse (`refusals`).
"""

from __future__ import annotations

import random

from . import refusals, shapes
from .context import FOCUS_ONLY, MESSAGES, Builder, Ctx, Function
from .model import Clause, Compound, Node, Program, Stmt
from .statements import function_body

ROOT = Compound(
    [
        Clause(
            "@autograms_function()\ndef chatbot():",
            [Stmt('result = main()\nprint("result", repr(result))\nreturn result')],
        )
    ],
    unwrappable=False,
    removable=False,
)

#: chance that a program also tests a refusal
REFUSAL_RATE = 0.1


def generate(
    seed: int,
    index: int,
    exclude: frozenset[str] = frozenset(),
    focus: frozenset[str] = frozenset(),
) -> Program:
    """Program `index` of run `seed`, without the constructs named in `exclude` and with
    those in `focus` much more often (names from `context.FEATURES`)."""
    rng = random.Random(f"autograms-fuzz:{seed}:{index}")
    kinds = [
        kind
        for kind in refusals.KINDS
        if f"refuse-{kind}" not in exclude
        and (f"refuse-{kind}" not in FOCUS_ONLY or f"refuse-{kind}" in focus)
    ]
    chance = REFUSAL_RATE if "refusal" not in focus else 1.0
    refusal = rng.choice(kinds) if rng.random() < chance and kinds else None
    if "refusal" in exclude:
        refusal = None
    builder = Builder(rng, rng.randint(15, 45), refusal, exclude, focus)
    main = Function("main", rng.choice(["int", "str", "list"]), is_main=True)
    first, variables = _initial_locals(builder)
    body = function_body(builder, main, variables, first)
    if refusal and not builder.refusal_done:
        ctx = Ctx(builder, main, dict(variables))
        body[-1:-1] = refusals.refused_statement(ctx)
    main_node = Compound(
        [Clause("@autograms_function()\ndef main():", body)], unwrappable=False, removable=False
    )
    module: list[Node] = [*_module_state(builder), *builder.definitions, main_node, ROOT]
    messages = MESSAGES + shapes.ODD_MESSAGES if builder.odd_input else MESSAGES
    script = [rng.choice(messages) for _ in range(rng.randint(8, 16))]
    tags = ("refusal", f"refuse-{refusal}") if refusal else ()
    origin = f"seed {seed}, program {index}"
    if exclude:
        origin += f" --exclude {','.join(sorted(exclude))}"
    if focus:
        origin += f" --focus {','.join(sorted(focus))}"
    return Program(module, script, origin=origin, refusal=refusal, tags=tags)


def _initial_locals(builder: Builder) -> tuple[list[Node], dict[str, str]]:
    """A few locals for main's first statements to work with."""
    options = [
        ("n0", "int", "n0 = 1"),
        ("s0", "str", 's0 = "start"'),
        ("items0", "list", 'items0 = ["a", "b"]'),
        ("d0", "dict", 'd0 = {"a": 1, "b": 2}'),
    ]
    if builder.chance(builder.odds("ordered-dict", 0.1)):
        options[-1] = ("d0", "dict", "d0 = OrderedDict(a=1, b=2)")
    chosen = [option for option in options if builder.chance(0.6)]
    return [Stmt(text) for _, _, text in chosen], {name: kind for name, kind, _ in chosen}


def _module_state(builder: Builder) -> list[Node]:
    nodes: list[Node] = []
    if builder.user_globals:
        nodes.append(Stmt('G = init_user_globals()\nG["count"] = 0\nG["seen"] = []'))
    if builder.persistent:
        values = [Stmt(f"{name} = {value}") for name, value in builder.persistent.items()]
        nodes.append(
            Compound([Clause("with set_persistent_globals():", values)], unwrappable=False)
        )
    return nodes

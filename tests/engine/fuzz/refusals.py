"""Pauses the engine must refuse with a ContinuationError at the pause, never resume to a
wrong value: inside a comprehension, a lambda, a generator expression or a generator,
through a built-in call (``sorted(key=...)``, ``map``), an undecorated ``__init__``, a class
body, an undecorated function between two decorated ones, a decorated ``__exit__``, a
coroutine (``asyncio.run``), a frame holding a local Enum class (it cannot be saved), or a
decorated wrapper made while the program runs (a new process could not find it by its name).

Each is written with ``__refused__reply(...)``: the engine program says ``reply(...)``, the
reference says ``refused_reply(...)``, which ends the run where the pause is, as the engine's
refusal does (the program's handlers do not see it).
"""

from __future__ import annotations

from .context import REFUSAL_KINDS as KINDS
from .context import Ctx
from .model import Clause, Compound, Node, Stmt

__all__ = ["KINDS", "refused_statement"]


def refused_statement(ctx: Ctx) -> list[Node]:
    """Statements that reach a refused pause of the program's refusal kind."""
    kind = ctx.builder.refusal
    fresh = ctx.builder.fresh
    show = f'print("{fresh("p")}", {{}})'
    tags = ("refusal", f"refuse-{kind}")
    if kind == "comprehension":
        name = fresh("items")
        text = f'{name} = [__refused__reply(f"c{{i}}") for i in range(2)]'
    elif kind == "lambda":
        name, ask = fresh("s"), fresh("ask")
        text = f'{ask} = lambda q: __refused__reply(q)\n{name} = {ask}("in a lambda")'
    elif kind == "generator-expression":
        name = fresh("items")
        text = f"{name} = list(__refused__reply(str(i)) for i in range(2))"
    elif kind == "generator":
        name = fresh("items")
        text = f"{name} = [answer for answer in gen_answers()]"
    elif kind in _CALLBACKS:
        params, asked = _CALLBACK_PARAMS.get(kind, ("text", "text"))
        name, key = fresh("items"), _decorated_asker(ctx, params, asked)
        text = f"{name} = {_CALLBACKS[kind].format(key)}"
    elif kind in _DUNDERS:
        name, cls = fresh("s"), _dunder_class(ctx, kind)
        text = f'{name} = "<" + {_DUNDERS[kind].replace("{}", cls)} + ">"'
    elif kind == "constructor":
        name, cls = fresh("o"), _asking_class(ctx)
        text = f"{name} = {cls}().answer"
    elif kind == "class-body":
        name, cls = fresh("s"), fresh("Local")
        node = Compound(
            [Clause(f"class {cls}:", [Stmt('answer = __refused__reply("class body")', tags)])],
            tags=tags,
            unwrappable=False,
        )
        return [node, Stmt(f"{name} = {cls}.answer", tags=tags), Stmt(show.format(name))]
    elif kind == "exit":
        name = fresh("s")
        node = Compound(
            [Clause(f"with AskingExit() as {name}:", [Stmt(show.format(name))])],
            tags=tags,
            unwrappable=False,
        )
        return [node, Stmt(show.format(name))]
    elif kind == "held-generator":
        # a for loop holds the running generator across the pause: it cannot be saved
        name = fresh("s")
        text = (
            f'{name} = ""\nfor {fresh("w")} in words("a b"):\n    {name} += __refused__reply("g")'
        )
    elif kind == "coroutine":
        name, coroutine = fresh("s"), _coroutine(ctx)
        text = f"{name} = asyncio.run({coroutine}())"
    elif kind == "local-enum":
        # one statement: a pause written between the class and the refused one would be
        # refused already, and so would one after it (an except clause that goes on after the
        # refusal) while the class is bound: it is deleted as the refusal leaves
        name, enum_class, mode = fresh("s"), fresh("Mode"), fresh("mode")
        text = (
            f"class {enum_class}(enum.Enum):\n    A = 1\n\n\n{mode} = {enum_class}.A\n"
            f'try:\n    {name} = __refused__reply("local enum")\n'
            f"finally:\n    del {mode}, {enum_class}"
        )
    elif kind == "unnamed-wrapper":
        # a decorated wrapper made at run time has the name of the function it wraps, which
        # leads a new process to that function, not to the wrapper
        name = fresh("s")
        text = f'{name} = wrapped_now({_decorated_asker(ctx)})("unnamed")'
    else:
        name, middle = fresh("s"), _middle(ctx)
        text = f"{name} = {middle}()"
    return [Stmt(text, tags=tags), Stmt(show.format(name))]


#: refusal kind -> a library call of a decorated function ``{}`` that pauses (a callback)
_CALLBACKS = {
    "sorted-key": 'sorted(["b", "a"], key={})',
    "map": 'list(map({}, ["a", "b"]))',
    "re-sub": 're.sub(r"\\w", repl={}, string="ab")',
    "min-key": 'min(["b", "a"], key={})',
    "filter": 'list(filter({}, ["a", "b"]))',
    "reduce": 'functools.reduce({}, ["a", "b", "c"])',
}
#: refusal kind -> the parameters of its callback and what it asks
_CALLBACK_PARAMS = {
    "re-sub": ("match", "match.group(0)"),
    "reduce": ("left, right", 'left + right + "?"'),
}
#: refusal kind -> an expression reaching a decorated dunder method of class ``{}`` that
#: pauses, through an operator, a subscript or a property (not a call)
_DUNDERS = {
    "property": '{}("p").name',
    "operator": '({}("a") + {}("b")).name',
    "subscript": '{}("s")[0]',
}


def _decorated_asker(ctx: Ctx, params: str = "text", text: str = "text") -> str:
    """A decorated function of `params` that pauses, asking `text`."""
    name = ctx.builder.fresh("key")
    ctx.builder.definitions.append(
        Compound(
            [
                Clause(
                    f"@autograms_function()\ndef {name}({params}):",
                    [Stmt(f"return __refused__reply({text})")],
                )
            ],
            unwrappable=False,
        )
    )
    return name


def _dunder_class(ctx: Ctx, kind: str) -> str:
    """A class whose decorated ``name`` property, ``__add__`` or ``__getitem__`` pauses."""
    name = ctx.builder.fresh("Shape")
    method = {
        "property": '@property\n@autograms_function()\ndef name(self):\n    return __refused__reply("prop " + self.tag)',
        "operator": '@autograms_function()\ndef __add__(self, other):\n    return type(self)(self.tag + __refused__reply("add " + other.tag))',
        "subscript": '@autograms_function()\ndef __getitem__(self, key):\n    return __refused__reply(f"item {key}")',
    }[kind]
    init = (
        "def __init__(self, tag):\n    self.tag = tag\n    self.name = tag"
        if kind == "operator"
        else "def __init__(self, tag):\n    self.tag = tag"
    )
    ctx.builder.definitions.append(
        Compound([Clause(f"class {name}:", [Stmt(init), Stmt(method)])], unwrappable=False)
    )
    return name


def _asking_class(ctx: Ctx) -> str:
    """A class whose undecorated __init__ calls a decorated function that pauses (a
    decorated __init__ resumes: not a refusal)."""
    name, key = ctx.builder.fresh("Asking"), _decorated_asker(ctx)
    init = Compound(
        [Clause("def __init__(self):", [Stmt(f'self.answer = {key}("constructor")')])],
        unwrappable=False,
    )
    ctx.builder.definitions.append(Compound([Clause(f"class {name}:", [init])], unwrappable=False))
    return name


def _coroutine(ctx: Ctx) -> str:
    """A coroutine calling a decorated function that pauses."""
    name, key = ctx.builder.fresh("coro"), _decorated_asker(ctx)
    body = [Stmt(f'await asyncio.sleep(0)\nreturn {key}("in a coroutine")')]
    ctx.builder.definitions.append(
        Compound([Clause(f"async def {name}():", body)], unwrappable=False)
    )
    return name


def _middle(ctx: Ctx) -> str:
    """An undecorated function calling a decorated one that pauses."""
    middle, inner = ctx.builder.fresh("middle"), ctx.builder.fresh("inner")
    ctx.builder.definitions += [
        Compound(
            [
                Clause(
                    f"@autograms_function()\ndef {inner}():",
                    [Stmt('return __refused__reply("inner")')],
                )
            ],
            unwrappable=False,
        ),
        Compound(
            [Clause(f"def {middle}():", [Stmt(f'return {inner}() + "!"')])], unwrappable=False
        ),
    ]
    return middle

"""Decorated functions a program calls: plain functions, methods (instance, static, class),
a subclass method that calls ``super()``, and recursion. Each is written the first time a
call needs it, with a random body of its own (`statements.function_body`)."""

from __future__ import annotations

from .context import Ctx, Function, Helper
from .model import Clause, Compound, Stmt

_PARAM_PREFIX = {"int": "a", "str": "t", "list": "xs"}
#: chance that a call site gets a new helper rather than reusing one
_NEW_HELPER = 0.5


def call_helper(ctx: Ctx, returns: str) -> str | None:
    """A call expression of a decorated function returning `returns`, or None if the
    program has no room for another one and none fits."""
    builder = ctx.builder
    if ctx.quiet:
        return None
    labels = _returnto_labels(ctx)
    room = len(builder.helpers) < builder.max_helpers and builder.budget > 3
    if labels and room and ctx.rng.random() < 0.6:
        return _call(ctx, new_helper(ctx, returns, labels))
    fits = [h for h in builder.helpers if h.complete and h.reusable and h.returns == returns]
    if room and (not fits or ctx.rng.random() < _NEW_HELPER):
        return _call(ctx, new_helper(ctx, returns, ()))
    if fits:
        return _call(ctx, ctx.rng.choice(fits))
    return None


def _returnto_labels(ctx: Ctx) -> tuple[str, ...]:
    """Labels a function called from here may RETURNTO (see `reference`)."""
    labels = ctx.fn.returnto
    region = ctx.region
    if not ctx.builder.allows("returnto"):
        return ()
    if region is not None and region.jump_ok and region.pauses:
        labels = (*labels, region.label)
    return labels


def _call(ctx: Ctx, helper: Helper) -> str:
    from . import expressions

    rng = ctx.rng
    args = []
    pausing_at = rng.randrange(len(helper.params)) if helper.params and rng.random() < 0.25 else -1
    for index, kind in enumerate(helper.params):
        if kind in ("depth", "deep"):
            deep = kind == "deep" and rng.random() < ctx.builder.odds("deep-recursion", 0.1)
            args.append(str(400 if deep else rng.randint(0, 3)))
        elif index == pausing_at:
            args.append(expressions.pausing(ctx, kind))
        else:
            arg = expressions.plain(ctx, kind)
            args.append(f"list({arg})" if arg in ctx.frozen else arg)
    target = ""
    if helper.instance_of is not None:
        instances = ctx.names(f"obj:{helper.instance_of}")
        made = f'{helper.instance_of}("{ctx.builder.fresh("t")}")'
        target = rng.choice(instances) if instances and rng.random() < 0.7 else made
    call = helper.call
    plain_function = call == f"{helper.name}({{args}})"
    if plain_function and rng.random() < ctx.builder.odds("indirect-call", 0.05):
        call = rng.choice(
            [
                f'{{{{"go": {helper.name}}}}}["go"]({{args}})',
                f"functools.partial({helper.name})({{args}})",
            ]
        )
    return call.format(target=target, args=", ".join(args))


def new_helper(ctx: Ctx, returns: str, returnto: tuple[str, ...]) -> Helper:
    """Write a new decorated function (or method) returning `returns` and register it."""
    builder = ctx.builder
    roll = ctx.rng.random()
    if not returnto and returns == "str" and roll < builder.odds("deep-recursion", 0.1):
        return _recursive(ctx)
    if roll < max(0.35, builder.odds("super", 0.1)):
        return _method(ctx, returns, returnto)
    return _function(ctx, returns, returnto, builder.fresh("h"))


def _params(ctx: Ctx) -> list[str]:
    return [ctx.rng.choice(["int", "str", "list"]) for _ in range(ctx.rng.randint(0, 2))]


def _param_names(ctx: Ctx, kinds: list[str]) -> list[str]:
    return [ctx.builder.fresh(_PARAM_PREFIX[kind]) for kind in kinds]


def _decorator(ctx: Ctx) -> str:
    if ctx.rng.random() < 0.1:
        return '@autograms_function(conv_scope="normal")'
    return "@autograms_function()"


def _write_body(
    ctx: Ctx, fn: Function, variables: dict[str, str], first: list | None = None, quiet=False
) -> list:
    from .statements import function_body

    return function_body(ctx.builder, fn, variables, first or [], quiet)


def _function(ctx: Ctx, returns: str, returnto: tuple[str, ...], name: str) -> Helper:
    builder = ctx.builder
    kinds = _params(ctx)
    names = _param_names(ctx, kinds)
    helper = Helper(name, f"{name}({{args}})", kinds, returns, reusable=not returnto)
    builder.helpers.append(helper)
    fn = Function(name, returns, returnto)
    body = _write_body(ctx, fn, dict(zip(names, kinds, strict=True)))
    header = f"{_decorator(ctx)}\ndef {name}({', '.join(names)}):"
    tags: tuple[str, ...] = ("returnto-target",) if returnto else ()
    if returns == "str" and not returnto and ctx.rng.random() < builder.odds("wraps", 0.15):
        header = f"@logged\n{header}"
        tags += ("wraps",)
        builder.wrapped.add(name)
    builder.definitions.append(Compound([Clause(header, body)], tags=tags, unwrappable=False))
    helper.complete = True
    return helper


def _base_class(ctx: Ctx) -> str:
    builder = ctx.builder
    for name, node in builder.classes.items():
        if "(" not in node.clauses[0].header:
            return name
    name = builder.fresh("Box")
    builder.add_class(name, None)
    return name


def _method(ctx: Ctx, returns: str, returnto: tuple[str, ...]) -> Helper:
    builder = ctx.builder
    rng = ctx.rng
    base = _base_class(ctx)
    overridable = [
        h for h in builder.helpers if h.complete and h.reusable and h.instance_of == base
    ]
    if overridable and not returnto and rng.random() < builder.odds("super", 0.4):
        return _override(ctx, rng.choice(overridable), base)
    kinds = _params(ctx)
    names = _param_names(ctx, kinds)
    name = builder.fresh("m")
    style = rng.choice(["instance", "instance", "static", "class"])
    variables = dict(zip(names, kinds, strict=True))
    instance_of = None
    if style == "instance":
        call = f"{{target}}.{name}({{args}})"
        instance_of = base
        signature = ", ".join(["self", *names])
        variables.update({"self.tag": "str", "self.items": "list"})
        decorators = _decorator(ctx)
    else:
        call = f"{base}.{name}({{args}})"
        signature = ", ".join(["cls", *names] if style == "class" else names)
        pair = ["@staticmethod" if style == "static" else "@classmethod", _decorator(ctx)]
        if rng.random() < 0.5:
            pair.reverse()  # autograms_function accepts the function or the method object
        decorators = "\n".join(pair)
    helper = Helper(name, call, kinds, returns, reusable=not returnto, instance_of=instance_of)
    builder.helpers.append(helper)
    fn = Function(name, returns, returnto, owner=base)
    first_stmts = []
    if style == "class":
        made = builder.fresh("o")
        first_stmts.append(Stmt(f'{made} = cls("{builder.fresh("t")}")'))
        variables[made] = f"obj:{base}"
    body = _write_body(ctx, fn, variables, first_stmts)
    method = Compound(
        [Clause(f"{decorators}\ndef {name}({signature}):", body)],
        tags=(f"{style}-method",),
        unwrappable=False,
    )
    builder.classes[base].clauses[0].body.append(method)
    helper.complete = True
    return helper


def _override(ctx: Ctx, method: Helper, base: str) -> Helper:
    """A subclass overriding `method`, calling the base method through zero-argument
    ``super()`` (after a pause, when the body pauses first)."""
    builder = ctx.builder
    sub = builder.fresh("Sub")
    builder.add_class(sub, base)
    names = _param_names(ctx, method.params)
    variables = dict(zip(names, method.params, strict=True))
    variables.update({"self.tag": "str", "self.items": "list"})
    fn = Function(method.name, method.returns, owner=sub, base=base)
    helper = Helper(method.name, method.call, method.params, method.returns, instance_of=sub)
    builder.helpers.append(helper)
    first: list = []
    if ctx.rng.random() < builder.odds("super", 0.3):
        # a pause first, so that this super() call runs in a resumed frame
        answer = builder.fresh("s")
        call = f"super().{method.name}({', '.join(names)})"
        first += [
            Stmt(f'{answer} = reply("{builder.fresh("q")}")'),
            Stmt(f'print("{builder.fresh("p")}", {answer}, {call})', tags=("super",)),
        ]
        variables[answer] = "str"
    body = _write_body(ctx, fn, variables, first)
    signature = ", ".join(["self", *names])
    node = Compound(
        [Clause(f"{_decorator(ctx)}\ndef {method.name}({signature}):", body)],
        tags=("override",),
        unwrappable=False,
    )
    builder.classes[sub].clauses[0].body.append(node)
    helper.complete = True
    return helper


def super_call(ctx: Ctx) -> str | None:
    """``super().method(args)`` inside an overriding method, or None elsewhere."""
    fn = ctx.fn
    if fn.base is None:
        return None
    from . import expressions

    method = next(h for h in ctx.builder.helpers if h.instance_of == fn.base and h.name == fn.name)
    args = ", ".join(expressions.plain(ctx, kind) for kind in method.params)
    return f"super().{fn.name}({args})"


def _recursive(ctx: Ctx) -> Helper:
    """``r(depth, text)``: recurses `depth` times, then replies at the bottom."""
    builder = ctx.builder
    name = builder.fresh("rec")
    depth, text = builder.fresh("depth"), builder.fresh("t")
    call = f"{name}({{args}})"
    # Only a recursion that pauses at the bottom alone may go deep: pauses on the way down
    # would use up the messages long before.
    deep = ctx.rng.random() < 0.5
    helper = Helper(name, call, ["deep" if deep else "depth", "str"], "str")
    builder.helpers.append(helper)
    fn = Function(name, "str")
    bottom = Compound(
        [
            Clause(
                f"if {depth} <= 0:",
                [Stmt(f'return {text} + reply(f"{builder.fresh("q")} {{{text}}}")')],
            )
        ]
    )
    body = _write_body(ctx, fn, {text: "str"}, [bottom], quiet=deep)
    body = [node for node in body if not _is_final_return(node)]
    body.append(Stmt(f'return {name}({depth} - 1, {text} + "x")'))
    header = f"{_decorator(ctx)}\ndef {name}({depth}, {text}):"
    builder.definitions.append(
        Compound([Clause(header, body)], tags=("recursion",), unwrappable=False)
    )
    helper.complete = True
    return helper


def _is_final_return(node: object) -> bool:
    return isinstance(node, Stmt) and node.text.startswith("return ")

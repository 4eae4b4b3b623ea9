"""Routing chosen global names of an instrumented function to callbacks.

A module may declare globals whose value belongs to the running session rather than to the
process. Inside instrumented code, each LOAD_GLOBAL, STORE_GLOBAL and DELETE_GLOBAL of such a
name (and a class body's LOAD_NAME of it) becomes a call to the `GlobalRoutes` callbacks; the
module's own dictionary is never written, so concurrent sessions cannot see each other's
values.

The rewrite happens before the analysis, so the call sites it adds are ordinary sites.
`route_function` applies the same rewrite, alone, to a function that is not instrumented (a
plain helper of such a module), so that it sees the same values.
"""

from __future__ import annotations

from collections.abc import Callable
from types import CodeType, FunctionType
from typing import TYPE_CHECKING, Any

from .._record import Record
from .versions import NULL_BELOW_CALLABLE

if TYPE_CHECKING:
    from bytecode import Instr

#: stack slots a routed access may need beyond the original instruction's
_ROUTING_STACK = 4


class GlobalRoutes(Record):
    """Where reads and writes of `names` go instead of the module's globals."""

    __slots__ = ("names", "load", "store", "delete")

    names: frozenset[str]
    #: load(name) -> value; raises NameError if the name has no value
    load: Callable[[str], Any]
    #: store(value, name)
    store: Callable[[Any, str], None]
    #: delete(name); raises NameError if the name has no value
    delete: Callable[[str], None]

    def __init__(
        self,
        names: frozenset[str],
        load: Callable[[str], Any],
        store: Callable[[Any, str], None],
        delete: Callable[[str], None],
    ) -> None:
        self.names = names
        self.load = load
        self.store = store
        self.delete = delete


def routed_names(items: list, routes: GlobalRoutes | None) -> list[str]:
    """The routed names `items` actually uses (part of the code identity)."""
    if routes is None:
        return []
    from bytecode import Instr  # the rewrite's tools: loaded only when a function is rewritten

    used = {_global_name(item) for item in items if isinstance(item, Instr)}
    return sorted(used & routes.names)


def route_globals(items: list, routes: GlobalRoutes) -> list:
    """`items` with every access to a routed global replaced by a callback call, in the
    code of the functions, lambdas, comprehensions and generator expressions they create
    too."""
    from bytecode import Instr

    result: list = []
    for item in items:
        name = _global_name(item) if isinstance(item, Instr) else None
        if name is None and isinstance(item, Instr) and isinstance(item.arg, CodeType):
            nested = route_code(item.arg, routes)  # a LOAD_CONST of a nested function's code
            result.append(item if nested is item.arg else _with_arg(item, nested))
        elif name is None or name not in routes.names:
            result.append(item)
        elif item.name == "LOAD_GLOBAL":
            result += _load(item, routes)
        elif item.name == "LOAD_NAME":
            result += _load_name(item, routes)
        elif item.name == "STORE_GLOBAL":
            result += _store(item, routes)
        else:
            result += _delete(item, routes)
    return result


def _with_arg(instr: Instr, arg: Any) -> Instr:
    from bytecode import Instr

    return Instr(instr.name, arg, location=instr.location)


def _global_name(instr: Instr) -> str | None:
    if instr.name == "LOAD_GLOBAL":
        return instr.arg[1] if isinstance(instr.arg, tuple) else instr.arg
    if instr.name in ("STORE_GLOBAL", "DELETE_GLOBAL", "LOAD_NAME"):
        return instr.arg
    return None


def _load(instr: Instr, routes: GlobalRoutes) -> list[Instr]:
    from . import emit

    location = instr.location
    name = _global_name(instr)
    value = emit.call(routes.load, [emit.instr("LOAD_CONST", name, location)], 1, location)
    if not (isinstance(instr.arg, tuple) and instr.arg[0]):
        return value
    null = emit.instr("PUSH_NULL", location=location)  # the callable pair of a call
    return [null, *value] if NULL_BELOW_CALLABLE else [*value, null]


def _load_name(instr: Instr, routes: GlobalRoutes) -> list[Instr]:
    """A class body's read of a name (the only LOAD_NAME a function's code holds): its own
    namespace first, as LOAD_NAME looks, then the routed value instead of the module's."""
    from . import emit

    location = instr.location
    namespace = emit.call(locals, [], 0, location)  # called from the class body: its namespace
    arguments = [
        *namespace,
        emit.instr("LOAD_CONST", instr.arg, location),
        emit.instr("LOAD_CONST", routes.load, location),
    ]
    return emit.call(_class_body_value, arguments, 3, location)


def _class_body_value(namespace: dict[str, Any], name: str, load: Callable[[str], Any]) -> Any:
    try:
        return namespace[name]
    except KeyError:
        return load(name)


def _store(instr: Instr, routes: GlobalRoutes) -> list[Instr]:
    from . import emit

    location = instr.location
    # [value] -> [callable pair, value]: push the pair, then bring the value back on top
    if NULL_BELOW_CALLABLE:
        pair = [
            emit.instr("PUSH_NULL", location=location),
            emit.instr("SWAP", 2, location),
            emit.instr("LOAD_CONST", routes.store, location),
            emit.instr("SWAP", 2, location),
        ]
    else:
        pair = [
            emit.instr("LOAD_CONST", routes.store, location),
            emit.instr("SWAP", 2, location),
            emit.instr("PUSH_NULL", location=location),
            emit.instr("SWAP", 2, location),
        ]
    return [
        *pair,
        emit.instr("LOAD_CONST", instr.arg, location),
        *emit.call_only(2, location),
        emit.instr("POP_TOP", location=location),
    ]


def _delete(instr: Instr, routes: GlobalRoutes) -> list[Instr]:
    from . import emit

    location = instr.location
    call = emit.call(routes.delete, [emit.instr("LOAD_CONST", instr.arg, location)], 1, location)
    return [*call, emit.instr("POP_TOP", location=location)]


def route_function(function: FunctionType, routes: GlobalRoutes) -> bool:
    """Route the globals `function` (not instrumented) uses, nested functions included;
    returns whether its code changed."""
    code = route_code(function.__code__, routes)
    if code is function.__code__:
        return False
    function.__code__ = code
    return True


def route_code(code: CodeType, routes: GlobalRoutes) -> CodeType:
    """`code` with every access to a routed global replaced by a callback call (the same
    object if it has none)."""
    if not _uses_routed(code, routes.names):
        return code
    from . import codec

    template = codec.decode(code)
    items = route_globals(list(template), routes)
    shape = codec.Shape.of(template)
    return codec.assemble(items, shape, stacksize=code.co_stacksize + _ROUTING_STACK, fuse=True)


def _uses_routed(code: CodeType, names: frozenset[str]) -> bool:
    if not names.isdisjoint(code.co_names):
        return True
    return any(
        isinstance(const, CodeType) and _uses_routed(const, names) for const in code.co_consts
    )

"""What the generator knows while it writes a program: the program so far (`Builder`) and,
at each point of a function, what may be written there (`Ctx`)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from .model import Clause, Compound, Node, Stmt

#: value types the generator tracks for locals; others: "iter" (iterator over strings),
#: "fn" (int -> int callable), "obj:<Class>", "mod:<NAME>", "err" (an exception or None)
BASIC_TYPES = ("int", "str", "list", "dict")
#: pauses the engine must refuse (see `refusals`)
REFUSAL_KINDS = (
    "comprehension",
    "lambda",
    "generator-expression",
    "generator",
    "sorted-key",
    "map",
    "constructor",
    "class-body",
    "undecorated-between",
    "exit",
    "coroutine",
    "local-enum",
    "held-generator",
    "re-sub",
    "min-key",
    "filter",
    "reduce",
    "property",
    "operator",
    "subscript",
    "unnamed-wrapper",
)
#: what users write that the first grammar missed (found from outside, `idioms`)
IDIOMS = (
    "plain-helper",
    "global-before-pause",
    "method-before-pause",
    "mutable-default",
    "ordered-dict",
    "module-reached",
    "weakref-local",
    "delegating-proxy",
    "wraps",
    "goto-expression",
    "indirect-call",
    "stringio",
)
#: what users writing real bots write (`families`)
FAMILIES = (
    "generator",
    "nested-try",
    "match-patterns",
    "classes",
    "signatures",
    "raised-through",
    "closure-factory",
    "functional",
    "itertools",
    "collections",
    "library-values",
)
#: shapes of code the other grammars never write (`shapes`)
SHAPES = (
    "displays",
    "comparisons",
    "targets",
    "call-shapes",
    "except-star",
    "shared-cells",
    "recursion-pauses",
    "method-kinds",
    "odd-input",
    "walrus",
    "finally-flow",
    "pickle-hooks",
    "method-recursion",
    "held-iterators",
    "typed-values",
    "shared-code",
    "hashed-keys",
)
#: shapes written only with ``--focus`` (and by their own test in `test_fuzz`): drawn in
#: every program, typed-values moved the bounded run onto programs where a refused pause (a
#: local Enum class, a for loop over a generator) comes before a pausing ``finally``: the
#: oracle lets that finally pause, the engine refuses it again (a generator weakness to fix);
#: shared-code and the unnamed-wrapper refusal (issue 10) moved it the same way;
#: hashed-keys is new, and kept out of the bounded run's programs so they stay those of main
FOCUS_ONLY = frozenset({"typed-values", "shared-code", "refuse-unnamed-wrapper", "hashed-keys"})
#: constructs a run can leave out (``--exclude``) or write more often (``--focus``); each is
#: the trigger of a divergence found once ("refusal" is every refused pause, "refuse-<kind>"
#: one of them)
FEATURES = (
    "locals",
    "traceback",
    "module-object",
    "super",
    "dict-iter",
    "exc-chain",
    "deep-recursion",
    "goto",
    "returnto",
    "refusal",
    *(f"refuse-{kind}" for kind in REFUSAL_KINDS),
    "pausing-finally",
    "label-in-finally",
    "goto-closure",
    "hash-cycle",
    *IDIOMS,
    *FAMILIES,
    *SHAPES,
)
#: the user's messages are drawn from these (numbers, words that steer branches, the empty one)
MESSAGES = ["yes", "no", "3", "12", "-2", "x", "", "back", "stop", "a b", "7", "ok", "0"]


@dataclass
class Helper:
    """A decorated function or method the program can call."""

    name: str
    #: how to call it, with ``{args}`` for the arguments and ``{target}`` for the instance
    #: of an instance method, e.g. ``{target}.m4({args})``
    call: str
    #: parameter types ("depth": a small recursion depth; "deep": small or 400)
    params: list[str]
    returns: str
    #: the class an instance method is called on
    instance_of: str | None = None
    #: may be called from anywhere (False: written for one call site, e.g. it RETURNTOs)
    reusable: bool = True
    #: its body is complete (only complete helpers are reused, so calls never form a cycle)
    complete: bool = False


@dataclass
class Function:
    """The function whose body is being written."""

    name: str
    returns: str
    #: labels a RETURNTO may target from here (regions of the callers, see `reference`)
    returnto: tuple[str, ...] = ()
    #: persistent globals this function rebinds (declared ``global`` at its top)
    rebinds: set[str] = field(default_factory=set)
    #: it has a closure (cell variables) / a GOTO region
    has_closure: bool = False
    has_region: bool = False
    #: the class whose method this is, and its base class if it overrides one
    owner: str | None = None
    base: str | None = None
    is_main: bool = False


@dataclass
class RegionScope:
    """Inside a GOTO/RETURNTO region: its label and retry counter, and whether a jump out of
    this point is allowed (not from inside a with/finally within the region)."""

    label: str
    counter: str
    #: the labelled call is a reply, so every RETURNTO to it costs a message (and ends)
    pauses: bool
    jump_ok: bool = True


class Builder:
    """The program being generated: randomness, names, helpers, module-level pieces, budget."""

    def __init__(
        self,
        rng: random.Random,
        statements: int,
        refusal: str | None,
        exclude: frozenset[str] = frozenset(),
        focus: frozenset[str] = frozenset(),
    ) -> None:
        self.rng = rng
        #: constructs not to write (see `FEATURES`), to look past known divergences
        self.exclude = exclude
        #: constructs to write much more often, to reproduce a known divergence
        self.focus = focus
        self.budget = statements
        self.refusal = refusal
        self.refusal_done = False
        self.counter = 0
        self.helpers: list[Helper] = []
        self.definitions: list[Node] = []
        self.classes: dict[str, Compound] = {}
        self.user_globals: dict[str, str] = {}
        self.persistent: dict[str, str] = {}
        self.max_helpers = rng.randint(1, 5)
        #: GOTO statements written per region label
        self.jumps: dict[str, int] = {}
        #: the list each iterator variable walks (frozen while a loop walks the iterator)
        self.iterator_sources: dict[str, str] = {}
        #: helpers wrapped by ``@logged`` (no ADDRESS through their wrapper)
        self.wrapped: set[str] = set()
        #: the program looks at odd user text: its messages include `shapes.ODD_MESSAGES`
        self.odd_input = False

    def allows(self, feature: str) -> bool:
        return feature not in self.exclude

    def odds(self, feature: str, probability: float) -> float:
        """`probability`, raised when `feature` is in focus (zero when it is excluded)."""
        if feature in self.exclude:
            return 0.0
        return min(0.9, probability * 6) if feature in self.focus else probability

    def unfocused(self, feature: str) -> bool:
        """`feature` is written only in focus (`FOCUS_ONLY`) and is not in focus now."""
        return feature in FOCUS_ONLY and feature not in self.focus

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def spend(self, count: int = 1) -> bool:
        """Take `count` statements from the budget; False when it is spent."""
        if self.budget < count:
            return False
        self.budget -= count
        return True

    def question(self, ctx: Ctx) -> str:
        """The text of a new reply: a unique tag, sometimes with a local's value."""
        tag = self.fresh("q")
        shown = [name for name, kind in ctx.vars.items() if kind in ("int", "str")]
        if shown and self.chance(0.6):
            return f'f"{tag} {{{self.rng.choice(shown)}}}"'
        return f'"{tag}"'

    def add_class(self, name: str, base: str | None) -> Compound:
        header = f"class {name}({base}):" if base else f"class {name}:"
        body: list[Node] = []
        if base is None:
            body.append(
                Compound(
                    [
                        Clause(
                            "def __init__(self, tag):",
                            [Stmt("self.tag = tag\nself.items = []")],
                        )
                    ],
                    unwrappable=False,
                )
            )
        node = Compound([Clause(header, body)], tags=("class",), unwrappable=False)
        self.classes[name] = node
        self.definitions.append(node)
        return node


@dataclass
class Ctx:
    """A point in a function body: the locals bound here and what may be written."""

    builder: Builder
    fn: Function
    #: locals definitely bound here, name -> type ("self.tag" etc. for a method's attributes)
    vars: dict[str, str]
    depth: int = 0
    #: break/continue would leave a loop of this function that is inside the current region
    in_loop: bool = False
    #: lists being iterated here: no append/insert/extend (the loop would never end)
    frozen: frozenset[str] = frozenset()
    region: RegionScope | None = None
    #: the handled exception's name inside an except body
    handled: str | None = None
    in_try: bool = False
    in_finally: bool = False
    #: no pause may be written here (a finally block, when "pausing-finally" is excluded)
    quiet: bool = False

    @property
    def rng(self) -> random.Random:
        return self.builder.rng

    def child(self, **changes: object) -> Ctx:
        """The context of a nested block (its new locals are forgotten after it)."""
        changes.setdefault("depth", self.depth + 1)
        return replace(self, vars=dict(self.vars), **changes)

    def names(self, *kinds: str) -> list[str]:
        return [name for name, kind in self.vars.items() if kind in kinds]

    def pick(self, *kinds: str) -> str | None:
        names = self.names(*kinds)
        return self.rng.choice(names) if names else None

    def no_jump(self) -> Ctx:
        """A nested block a GOTO/RETURNTO may not leave (a with or finally in the region)."""
        ctx = self.child()
        if ctx.region is not None:
            ctx.region = replace(ctx.region, jump_ok=False)
        return ctx

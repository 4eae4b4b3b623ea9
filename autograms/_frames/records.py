"""Plain records the engine passes between its phases. They hold data and never format it
(`listing.py` does that).

Instruction *positions* index the analysed instruction list of the original code
(`analysis.Flow.instrs`); they never leave the process.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from .._record import Record
from .errors import Reason


class RecipeKind(Enum):
    """How a stub puts one value-stack item (or a pair) back."""

    #: Load the value saved in a hidden local right after its producer ran.
    SPILL = "spill"
    #: Re-execute a side-effect-free load (constant, global, unchanged local, method lookup).
    REEXECUTE = "reexecute"
    #: Re-enter an `except` body: push the saved exception with PUSH_EXC_INFO.
    EXCEPT_STATE = "except"
    #: Push a NULL (one a pair load pushed under a callable that is no longer there).
    NULL = "null"
    #: A load a resume must not run again (a global, a module attribute chain, a method
    #: lookup: the paused call may rebind what it reads): its value is read from the value
    #: stack at the pause into a hidden local, and a resume pushes it back (a method pair as
    #: NULL and the callable the pair calls). A GOTO re-executes the load, as re-running the
    #: statement would.
    CAPTURE = "capture"


class Recipe(Record):
    """Re-creates the value-stack item at `slot` (two items for a method/NULL pair)."""

    __slots__ = ("kind", "slot", "width", "name", "load", "inputs", "source")

    #: What kind of re-creation this is.
    kind: RecipeKind
    #: Absolute index of the (lowest) item on the value stack.
    slot: int
    #: Items this recipe re-creates: 2 for a callable+NULL/self pair, else 1.
    width: int
    #: Hidden local read by SPILL, EXCEPT_STATE and (on resume) CAPTURE.
    name: str
    #: Position of the load to re-execute (REEXECUTE, CAPTURE).
    load: int
    #: Recipes for the load's own inputs, bottom first (the object of a method lookup).
    inputs: tuple[Recipe, ...]
    #: Position of (one of) the instructions that produced a spilled item, for messages.
    source: int

    def __init__(
        self,
        kind: RecipeKind,
        slot: int,
        width: int = 1,
        name: str = "",
        load: int = -1,
        inputs: tuple[Recipe, ...] = (),
        source: int = -1,
    ) -> None:
        self.kind = kind
        self.slot = slot
        self.width = width
        self.name = name
        self.load = load
        self.inputs = inputs
        self.source = source


class Spill(Record):
    """An instruction after which a value must be copied into a hidden local."""

    __slots__ = ("after", "distance", "name")

    #: Position of the producing instruction in the original code.
    after: int
    #: COPY distance of the value right after the producer ran.
    distance: int
    #: The hidden local receiving it.
    name: str

    def __init__(self, after: int, distance: int, name: str) -> None:
        self.after = after
        self.distance = distance
        self.name = name


class HandlerRef(Record):
    """One exception handler an exception at a call site would pass through."""

    __slots__ = ("position", "kind")

    #: Position of the handler's first instruction.
    position: int
    #: "except", "finally", "with" or "cleanup" (see analysis.HANDLER_*).
    kind: str

    def __init__(self, position: int, kind: str) -> None:
        self.position = position
        self.kind = kind


class Refusal(Record):
    """Why a pause or a jump cannot be done at a call site (raised only if one happens)."""

    __slots__ = ("reason", "problem")

    #: The code a ContinuationError raised for it carries.
    reason: Reason
    #: What is wrong, as a clause of that error's message.
    problem: str

    def __init__(self, reason: Reason, problem: str) -> None:
        self.reason = reason
        self.problem = problem


class CallSite(Record):
    """One call instruction of a function, and everything needed to pause or jump there."""

    __slots__ = (
        "index",
        "position",
        "lineno",
        "label",
        "depth",
        "recipes",
        "hidden",
        "stack_keys",
        "handlers",
        "refusal",
        "goto_start",
        "goto_refusal",
        "statement_start",
        "statement_depth",
    )

    #: Index among the function's call sites (stable for a given code fingerprint).
    index: int
    #: Position of the CALL instruction in the original code.
    position: int
    #: Source line of the call.
    lineno: int
    #: ADDRESS label carried by the call, if any.
    label: str | None
    #: Number of value-stack items under the call's result.
    depth: int
    #: Recipes re-creating those items, bottom first.
    recipes: tuple[Recipe, ...]
    #: Hidden locals the recipes read (must be in a snapshot paused here).
    hidden: frozenset[str]
    #: Producers of each item under the call, for GOTO/RETURNTO prefix checks.
    stack_keys: tuple[frozenset[int], ...]
    #: Handlers an exception here passes through, innermost first.
    handlers: tuple[HandlerRef, ...]
    #: Why a pause at this call cannot be resumed; None if it can.
    refusal: Refusal | None
    #: Position where re-executing the labelled call starts (GOTO target), or -1.
    goto_start: int
    #: Why GOTO/RETURNTO cannot target this call; None if it can.
    goto_refusal: Refusal | None
    #: Where re-running the labelled call's whole statement starts (past the partly evaluated
    #: expression around the call, `int(reply(...))`), or -1 when that is `goto_start`.
    statement_start: int
    #: Value-stack items under the statement (the enclosing blocks' items), when
    #: `statement_start` is set.
    statement_depth: int

    def __init__(
        self,
        index: int,
        position: int,
        lineno: int,
        label: str | None,
        depth: int,
        recipes: tuple[Recipe, ...],
        hidden: frozenset[str],
        stack_keys: tuple[frozenset[int], ...],
        handlers: tuple[HandlerRef, ...],
        refusal: Refusal | None,
        goto_start: int,
        goto_refusal: Refusal | None,
        statement_start: int = -1,
        statement_depth: int = -1,
    ) -> None:
        self.index = index
        self.position = position
        self.lineno = lineno
        self.label = label
        self.depth = depth
        self.recipes = recipes
        self.hidden = hidden
        self.stack_keys = stack_keys
        self.handlers = handlers
        self.refusal = refusal
        self.goto_start = goto_start
        self.goto_refusal = goto_refusal
        self.statement_start = statement_start
        self.statement_depth = statement_depth


class FrameState(Record):
    """One paused frame as a snapshot holds it (see wire.py for the byte layout)."""

    __slots__ = (
        "module",
        "qualname",
        "fingerprint",
        "python",
        "site",
        "lineno",
        "label",
        "values",
        "hidden",
        "saved",
        "constructs",
        "cells",
    )

    module: str
    qualname: str
    fingerprint: str
    python: tuple[int, int]
    site: int
    lineno: int
    label: str | None
    #: The saved values by name; None while only the header has been read.
    values: dict[str, Any] | None
    #: Names of the saved hidden values (known from the header, before unpickling).
    hidden: tuple[str, ...]
    #: Names of the saved user locals (known from the header, before unpickling); None for a
    #: snapshot written before headers named them.
    saved: tuple[str, ...] | None
    #: Whether the paused call constructs an instance (``K()``) whose ``__init__`` is the next
    #: frame: the call returns that frame's first argument, not what it returns.
    constructs: bool
    #: Names of the cell variables whose cells the saved cell tuple holds, in its order (known
    #: from the header); None for a snapshot written before headers named them.
    cells: tuple[str, ...] | None

    def __init__(
        self,
        module: str,
        qualname: str,
        fingerprint: str,
        python: tuple[int, int],
        site: int,
        lineno: int,
        label: str | None,
        values: dict[str, Any] | None,
        hidden: tuple[str, ...] = (),
        saved: tuple[str, ...] | None = None,
        constructs: bool = False,
        cells: tuple[str, ...] | None = None,
    ) -> None:
        self.module = module
        self.qualname = qualname
        self.fingerprint = fingerprint
        self.python = python
        self.site = site
        self.lineno = lineno
        self.label = label
        self.values = values
        self.hidden = hidden
        self.saved = saved
        self.constructs = constructs
        self.cells = cells

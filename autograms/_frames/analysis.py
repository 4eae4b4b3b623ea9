"""Abstract interpretation of a function's bytecode.

For every instruction the analysis computes the value stack as a tuple of *items*, each a pair
``(producers, nullness)``: the set of instructions that may have pushed it and whether it may be
NULL. A producer is encoded as ``position << 8 | output`` (the output index counts from the
deepest item an instruction pushes). Two negative producers stand for items pushed by exception
unwinding: the saved instruction offset (`LASTI`) and the exception (`UNWOUND_EXCEPTION`).

Edges follow fall-through, jumps and the exception table (a handler starts with
``stack[:depth] + [lasti] + [exception]``). The results feed the call-site planner
(`sites.py`) and the safety check that no local the compiler believes bound is missing after
a resume or a jump (`Flow.unbound_reads`).
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any, Final

from bytecode import CellVar, Instr, Label, TryBegin, TryEnd
from bytecode.instr import UNSET

from .._record import Record
from .codec import ARG_FLAGGED_NAME, ARG_INT, ARG_KINDS, ARG_TWO_FLAGS_NAME
from .effects import OBJECT, net_effect, output_count, output_nullness
from .producers import (  # noqa: F401 - re-exported: the analysis's vocabulary
    HANDLER_CLEANUP,
    HANDLER_EXCEPT,
    HANDLER_FINALLY,
    HANDLER_WITH,
    AnalysisError,
    producer,
    producer_output,
    producer_position,
)
from .versions import (
    FAST_LOADS,
    KW_NAMES_ON_STACK,
    NULL_BELOW_CALLABLE,
    FAST_WRITES,
    TERMINAL_OPS,
    UNCHECKED_LOAD_OPS,
    UNCONDITIONAL_JUMP_OPS,
)

#: Producer of the instruction offset a `lasti` handler entry pushes.
LASTI: Final = -1
#: Producer of the exception a handler entry pushes.
UNWOUND_EXCEPTION: Final = -2

Item = tuple[frozenset[int], int]
Stack = tuple[Item, ...]

_LASTI_ITEM: Final[Item] = (frozenset({LASTI}), OBJECT)
_EXCEPTION_ITEM: Final[Item] = (frozenset({UNWOUND_EXCEPTION}), OBJECT)

_EXCEPT_TYPE_OPS: Final = frozenset(
    {
        "LOAD_GLOBAL",
        "LOAD_NAME",
        "LOAD_ATTR",
        "LOAD_FAST",
        "LOAD_FAST_CHECK",
        "LOAD_DEREF",
        "LOAD_CONST",
        "BUILD_TUPLE",
        "COPY",
        "SWAP",
        "BUILD_LIST",
    }
)


#: Instructions that bind a local or a cell variable.
ASSIGNING_OPS: Final = frozenset({"STORE_FAST", "STORE_DEREF"})
#: Instructions that bind a cell variable's contents.
CELL_STORE_OPS: Final = frozenset({"STORE_DEREF"})
#: Instructions that name a cell variable without reading it (3.11+: made at entry).
CELL_SETUP_OPS: Final = frozenset({"MAKE_CELL", "COPY_FREE_VARS"})


def local_name(arg: Any) -> str:
    """The name of the local or cell variable an instruction's argument names."""
    return arg.name if isinstance(arg, CellVar) else arg


class Flow:
    """The analysed instruction list of one code object."""

    __slots__ = (
        "items",
        "instrs",
        "item_index",
        "label_pos",
        "regions",
        "stacks",
        "successors",
        "normal_successors",
        "writes",
    )

    #: Abstract items as `bytecode` gives them (Instr, Label, TryBegin, TryEnd).
    items: list
    #: The instructions, in layout order; "positions" index this list.
    instrs: list[Instr]
    #: Index in `items` of each instruction.
    item_index: list[int]
    #: Position of the instruction each label precedes.
    label_pos: dict[Label, int]
    #: Exception-table entry covering each instruction, or None.
    regions: list[TryBegin | None]
    #: Value stack before each instruction; None where unreachable.
    stacks: list[Stack | None]
    #: Successor positions of each instruction (fall-through, jump, exception handler).
    successors: list[tuple[int, ...]]
    #: Successors along fall-through and jump edges only (no exception edges).
    normal_successors: list[tuple[int, ...]]
    #: Positions where each fast local is written (stored, deleted or cleared), sorted.
    writes: dict[str, list[int]]

    def __init__(
        self,
        items: list,
        instrs: list[Instr],
        item_index: list[int],
        label_pos: dict[Label, int],
        regions: list[TryBegin | None],
        stacks: list[Stack | None],
        successors: list[tuple[int, ...]],
        normal_successors: list[tuple[int, ...]] | None = None,
        writes: dict[str, list[int]] | None = None,
    ) -> None:
        self.items = items
        self.instrs = instrs
        self.item_index = item_index
        self.label_pos = label_pos
        self.regions = regions
        self.stacks = stacks
        self.successors = successors
        self.normal_successors = [] if normal_successors is None else normal_successors
        self.writes = {} if writes is None else writes

    def handler_position(self, region: TryBegin) -> int:
        return self.label_pos[region.target]

    def written_between(self, name: str, start: int, stop: int) -> bool:
        """Whether local `name` is written at a position strictly between start and stop."""
        positions = self.writes.get(name, ())
        index = bisect_right(positions, start)
        return index < len(positions) and positions[index] < stop

    def is_group_collector(self, position: int) -> bool:
        """Whether the handler at `position` collects an ``except*`` body's exception into
        the group being rebuilt (it would wrap an engine signal into an ExceptionGroup)."""
        names = [instr.name for instr in self.instrs[position : position + 4]]
        if names[:3] == ["LOAD_CONST", "STORE_FAST", "DELETE_FAST"]:
            names = names[3:]
        return names[:1] == ["LIST_APPEND"]

    def is_bypassed(self, position: int) -> bool:
        """Whether engine signals skip the handler at `position` (re-raised at its entry)."""
        return self.instrs[position].name == "PUSH_EXC_INFO" or self.is_group_collector(position)

    def handler_kind(self, position: int) -> str:
        """Classify the handler starting at `position` by what leaving it would skip."""
        if self.is_group_collector(position):
            return HANDLER_EXCEPT
        if self.instrs[position].name != "PUSH_EXC_INFO":
            return HANDLER_CLEANUP
        following = position + 1
        if self.instrs[following].name == "WITH_EXCEPT_START":
            return HANDLER_WITH
        if self.instrs[following].name == "POP_TOP":
            return HANDLER_EXCEPT  # bare `except:`
        while self.instrs[following].name in _EXCEPT_TYPE_OPS:
            following += 1
        if self.instrs[following].name in ("CHECK_EXC_MATCH", "CHECK_EG_MATCH"):
            return HANDLER_EXCEPT
        return HANDLER_FINALLY

    def handler_chain(self, position: int) -> tuple[tuple[int, str], ...]:
        """Handlers an exception at `position` passes through in this frame, innermost first.

        Bypassed handlers (`is_bypassed`) re-raise engine signals at their entry; cleanup
        handlers run and re-raise at their RERAISE.
        """
        chain: list[tuple[int, str]] = []
        seen: set[int] = set()
        while self.regions[position] is not None and position not in seen:
            seen.add(position)
            handler = self.handler_position(self.regions[position])
            chain.append((handler, self.handler_kind(handler)))
            position = handler if self.is_bypassed(handler) else self._reraise_position(handler)
        return tuple(chain)

    def _reraise_position(self, handler: int) -> int:
        position = handler
        while self.instrs[position].name != "RERAISE":
            position += 1
        return position

    def unbound_reads(
        self, starts: tuple[int, ...], missing: frozenset[str], *, checked: bool
    ) -> list[int]:
        """Positions of loads reachable from `starts` while a local of `missing` may still
        be unbound.

        With ``checked=False`` only loads that do not check for NULL count: on 3.12+ such a
        load of a missing local crashes the interpreter (3.11 checks every load). A checked
        load either raises UnboundLocalError or proves the local bound from there on. With
        ``checked=True`` every read counts: a load, a ``del``, and any use of a cell variable
        (a closure made over an empty cell would read it later); the code would read the
        local before assigning it.
        """
        loads = FAST_LOADS if checked else UNCHECKED_LOAD_OPS
        if not loads or not missing:
            return []
        found: list[int] = []
        seen: dict[int, frozenset[str]] = {}
        work = [(start, missing) for start in starts]
        while work:
            position, unbound = work.pop()
            known = seen.get(position)
            if known is not None and unbound <= known:
                continue
            unbound = seen[position] = unbound if known is None else known | unbound
            instr = self.instrs[position]
            after = unbound
            if isinstance(instr.arg, CellVar):
                after = self._cell_use(position, unbound, found, checked)
            elif type(instr.arg) is not str:
                pass
            elif instr.name in FAST_LOADS and instr.arg in unbound:
                if instr.name in loads:
                    found.append(position)
                # Past the load the local is bound (a checked load raised otherwise; the
                # first unchecked one is reported, the reads after it follow from it).
                after = unbound - {instr.arg}
            elif instr.name == "STORE_FAST" and self._stores_object(position):
                after = unbound - {instr.arg}
            elif instr.name == "DELETE_FAST" and instr.arg in missing:
                if checked and instr.arg in unbound:
                    found.append(position)  # `del` of an unbound local raises
                after = unbound | {instr.arg}
            successors = self.successors[position]
            if self.regions[position] is not None:
                # The exception edge comes first; an exception leaves the locals as they were.
                work.append((successors[0], unbound))
                successors = successors[1:]
            work.extend((successor, after) for successor in successors)
        return sorted(set(found))

    def _cell_use(
        self, position: int, unbound: frozenset[str], found: list[int], checked: bool
    ) -> frozenset[str]:
        """`unbound_reads` at an instruction naming a cell variable: a store binds it, any
        other use reads it (reported when `checked`)."""
        instr = self.instrs[position]
        name = instr.arg.name
        if name not in unbound:
            return unbound
        if instr.name in CELL_STORE_OPS:
            return unbound - {name}
        if checked and instr.name not in CELL_SETUP_OPS:
            found.append(position)
        return unbound

    def assigned_before(self, position: int) -> frozenset[str]:
        """Locals (and cell variables) some path from the function's entry to `position`
        assigns: the ones a fresh run may have bound there (parameters aside)."""
        predecessors: dict[int, list[int]] = {}
        for source, targets in enumerate(self.successors):
            for target in targets:
                predecessors.setdefault(target, []).append(source)
        names: set[str] = set()
        seen = {position}
        work = list(predecessors.get(position, ()))
        while work:
            source = work.pop()
            if source in seen:
                continue
            seen.add(source)
            instr = self.instrs[source]
            if instr.name in ASSIGNING_OPS:
                names.add(local_name(instr.arg))
            work.extend(predecessors.get(source, ()))
        return frozenset(names)

    def _stores_object(self, position: int) -> bool:
        stack = self.stacks[position]
        return stack is not None and stack[-1][1] == OBJECT


def linearize(items: list) -> tuple[list[Instr], list[int], dict[Label, int], list]:
    """Split abstract items into instructions, label positions and covering regions."""
    instrs: list[Instr] = []
    item_index: list[int] = []
    label_pos: dict[Label, int] = {}
    regions: list[TryBegin | None] = []
    current: TryBegin | None = None
    for index, item in enumerate(items):
        if isinstance(item, Instr):
            instrs.append(item)
            item_index.append(index)
            regions.append(current)
        elif isinstance(item, Label):
            label_pos[item] = len(instrs)
        elif isinstance(item, TryBegin):
            if current is not None:
                raise AnalysisError("nested exception-table regions")
            current = item
        elif isinstance(item, TryEnd):
            if item.entry is not current:
                raise AnalysisError("exception-table region ends out of order")
            current = None
    return instrs, item_index, label_pos, regions


def analyze(items: list) -> Flow:
    """Run the abstract interpretation over `items` (abstract `bytecode` instructions)."""
    instrs, item_index, label_pos, regions = linearize(items)
    flow = Flow(
        items=items,
        instrs=instrs,
        item_index=item_index,
        label_pos=label_pos,
        regions=regions,
        stacks=[None] * len(instrs),
        successors=[()] * len(instrs),
        normal_successors=[()] * len(instrs),
    )
    _record_writes(flow)
    _propagate(flow)
    return flow


def _record_writes(flow: Flow) -> None:
    for position, instr in enumerate(flow.instrs):
        if instr.name in FAST_WRITES and type(instr.arg) is str:  # 3.13: not a CellVar
            flow.writes.setdefault(instr.arg, []).append(position)


def _propagate(flow: Flow) -> None:
    stacks = flow.stacks
    regions = flow.regions
    stacks[0] = ()
    work = [0]
    while work:
        position = work.pop()
        edges = _edges(flow, position, stacks[position])
        targets = tuple([target for target, _ in edges])
        flow.successors[position] = targets
        flow.normal_successors[position] = targets if regions[position] is None else targets[1:]
        for target, new_stack in edges:
            old = stacks[target]
            if old is None:
                stacks[target] = new_stack
                work.append(target)
                continue
            joined = _join(old, new_stack, target)
            if joined != old:
                stacks[target] = joined
                work.append(target)


Edge = tuple[int, Stack]

_HANDLER_ENTRY: Final = {True: (_LASTI_ITEM, _EXCEPTION_ITEM), False: (_EXCEPTION_ITEM,)}


def _edges(flow: Flow, position: int, stack: Stack) -> list[Edge]:
    """The exception edge (if covered) first, then the jump and fall-through edges."""
    instr = flow.instrs[position]
    edges: list[Edge] = []
    region = flow.regions[position]
    if region is not None:
        handler_stack = stack[: region.stack_depth] + _HANDLER_ENTRY[region.push_lasti]
        edges.append((flow.label_pos[region.target], handler_stack))
    name = instr.name
    if name in TERMINAL_OPS:
        return edges
    if instr.has_jump():
        edges.append((flow.label_pos[instr.arg], apply(position, instr, stack, jump=True)))
        if name in UNCONDITIONAL_JUMP_OPS:
            return edges
    if position + 1 >= len(flow.instrs):
        raise AnalysisError(f"control falls off the end after {name}")
    edges.append((position + 1, apply(position, instr, stack, jump=False)))
    return edges


def apply(position: int, instr: Instr, stack: Stack, *, jump: bool) -> Stack:
    """The stack after `instr` (at `position`) runs on the given edge."""
    name = instr.name
    if name == "COPY":
        source = stack[-instr.arg]
        return stack + ((frozenset((producer(position, 0),)), source[1]),)
    if name == "SWAP":
        depth = instr.arg
        items = list(stack)
        top, other = items[-1], items[-depth]
        items[-1] = (frozenset((producer(position, 0),)), other[1])
        items[-depth] = (frozenset((producer(position, 1),)), top[1])
        return tuple(items)
    consumed, outputs, nullness = transfer(instr, jump)
    if consumed < 0 or consumed > len(stack):
        raise AnalysisError(f"{name} consumes {consumed} of {len(stack)} stack items")
    kept = stack[: len(stack) - consumed] if consumed else stack
    if not outputs:
        return kept
    first = producer(position, 0)
    if outputs == 1:
        return kept + ((frozenset((first,)), nullness[0]),)
    return kept + tuple(
        [(frozenset((first + output,)), nullness[output]) for output in range(outputs)]
    )


Transfer = tuple[int, int, tuple[int, ...]]

#: (opcode, the argument as far as stack effects see it, jump) -> `transfer`. The effects
#: (effects.py) depend on nothing else, so one table serves every function.
_transfers: dict[tuple[int, Any, bool], Transfer] = {}


def transfer(instr: Instr, jump: bool) -> Transfer:
    """(items consumed, items pushed, nullness of each pushed item) of `instr` on an edge."""
    key = (instr.opcode, _effect_argument(instr), jump)
    known = _transfers.get(key)
    if known is None:
        outputs = output_count(instr, jump)
        consumed = outputs - net_effect(instr, jump)
        known = _transfers[key] = (consumed, outputs, output_nullness(instr, outputs))
    return known


def _effect_argument(instr: Instr) -> Any:
    """The part of `instr`'s argument that stack effects depend on: a count or flags (plain
    integer arguments), or the flag of a NULL-pushing load; names, constants, locals, jump
    targets and operator enums change nothing."""
    kind = ARG_KINDS[instr.opcode]
    if kind == ARG_INT:
        return None if instr.arg is UNSET else instr.arg
    if kind == ARG_FLAGGED_NAME or kind == ARG_TWO_FLAGS_NAME:
        return bool(instr.arg[0])
    return None


def _join(old: Stack, new: Stack, target: int) -> Stack:
    if len(old) != len(new):
        raise AnalysisError(f"stack depth {len(old)} vs. {len(new)} at instruction {target}")
    if old == new:
        return old
    return tuple((a[0] | b[0], a[1] | b[1]) if a != b else a for a, b in zip(old, new, strict=True))


def source_item(flow: Flow, key: int) -> Item | None:
    """For an item produced by COPY or SWAP, the item it was copied or moved from."""
    position = producer_position(key)
    instr = flow.instrs[position]
    stack = flow.stacks[position]
    if instr.name == "COPY":
        return stack[-instr.arg]
    if instr.name == "SWAP":
        return stack[-instr.arg] if producer_output(key) == 0 else stack[-1]
    return None


def copy_distance(flow: Flow, key: int) -> int:
    """How deep (COPY n) the item `key` sits right after its producer ran."""
    position = producer_position(key)
    output = producer_output(key)
    instr = flow.instrs[position]
    if instr.name == "COPY":
        return 1
    if instr.name == "SWAP":
        return 1 if output == 0 else instr.arg
    return transfer(instr, jump=False)[1] - output


class CallOperands(Record):
    """The callable pair under a call's arguments, as the analysis sees them."""

    __slots__ = ("low", "high", "arguments")

    #: The deeper item of the pair, and the one above it.
    low: Item
    high: Item
    #: How many items (arguments, keyword names) sit above the pair.
    arguments: int

    def __init__(self, low: Item, high: Item, arguments: int) -> None:
        self.low = low
        self.high = high
        self.arguments = arguments

    @property
    def callable(self) -> Item:
        return self.high if NULL_BELOW_CALLABLE else self.low

    @property
    def null_or_self(self) -> Item:
        return self.low if NULL_BELOW_CALLABLE else self.high


def call_operands(instr: Instr, stack: Stack) -> CallOperands:
    """The operands of the call `instr` (CALL, CALL_KW or CALL_FUNCTION_EX) on `stack`."""
    if instr.name == "CALL_FUNCTION_EX":
        arguments = 1 + (instr.arg & 1)  # the positional tuple, and the keyword dict if flagged
    else:
        arguments = instr.arg + (1 if KW_NAMES_ON_STACK and instr.name == "CALL_KW" else 0)
    return CallOperands(stack[-(arguments + 2)], stack[-(arguments + 1)], arguments)


def callable_distance(arguments: int) -> int:
    """How deep (COPY n) the callable of a call with `arguments` items above its pair sits."""
    return arguments + (1 if NULL_BELOW_CALLABLE else 2)


def consumed_by(instr: Instr) -> int:
    """Stack items a call (or any instruction) takes when it falls through."""
    return transfer(instr, jump=False)[0]

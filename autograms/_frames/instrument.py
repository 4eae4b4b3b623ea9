"""Decoration-time rewrite of a function into its instrumented *normal* code.

The normal code keeps the function's signature and behaves exactly like the original on every
path that does not pause or jump. What it adds:

* **spills** -- after an instruction whose result stays on the value stack across a call,
  ``COPY n; STORE_FAST __ag_s<slot>`` keeps the value where a snapshot can find it;
* **handler bypass** -- each handler that starts with PUSH_EXC_INFO (except, finally, with)
  first checks for the engine's signals and re-raises them, so no user handler, ``finally``
  or ``__exit__`` runs because of a pause, and GOTO leaves ``except`` blocks silently; the
  cleanup of an ``except ... as name`` block lets a GOTO to a call inside the block through
  without unbinding the name;
* **ADDRESS filter** -- a labelled call passes ``ADDRESS=`` only to callees that accept it;
  for the others an out-of-line copy of the call drops it;
* **catch-all dispatcher** (functions with labels or hooks) -- exceptions leaving the frame
  reach `runtime.catch`, which turns a GOTO/RETURNTO aimed at this frame into a jump to a
  *GOTO stub* that rebuilds the value stack and re-executes the labelled call;
* **hooks** -- optional enter/leave callbacks (each skipped inline while its gate, if any, is
  closed), and capture of cell objects into `__ag_cells`.

Hidden locals (all share the ``__ag_`` prefix):

    ==================  ===========================================================
    __ag_s<slot>        spilled value-stack item at absolute slot <slot>
    __ag_e<slot>        exception handled by the ``except`` body whose state is at <slot>
    __ag_v<slot>        (twin only) the value a captured load left at <slot>, read from
                        the value stack by the snapshot (a method pair: what it calls)
    __ag_cells          the frame's cell objects, so closures stay shared after resume
    __ag_cellslot_<x>   placeholder patched into the cell slot of <x> (twin, 3.11/3.12)
    __ag_call           in the twin, between its resume entry and the resume stub: what
                        continues the paused call (deleted as the stub loads it)
    __ag_result         not a local: saved with the innermost frame, what the plain helpers
                        above it return whatever the resume value (see plain_code.py)
    ==================  ===========================================================

The resume *twin* (`twin.py`) is built from the same layout on the first resume.
"""

from __future__ import annotations

import dis
from types import CodeType, FunctionType

from bytecode import (
    Bytecode,
    CellVar,
    Instr,
    Label,
    TryBegin,
    TryEnd,
)

from . import codec, emit, runtime
from .analysis import (
    AnalysisError,
    Flow,
    analyze,
    call_operands,
    callable_distance,
    producer_position,
)
from .effects import NULL, is_pair_load
from .errors import ContinuationError, JumpSignal, PauseSignal, Reason
from .hidden import CELL_SLOT_PREFIX, CELLS, HELPER_RESULT, RESUME_CALL  # noqa: F401
from .identity import fingerprint, own_registration
from .introspection import hide_engine_locals
from .records import CallSite, Recipe, RecipeKind
from .registry import FrameHooks, FunctionInfo, Gate, lookup, register
from .routing import GlobalRoutes, route_globals, routed_names
from .sites import LabelInfo, Plan, plan_helper_sites, plan_sites
from .versions import (
    CALL_OPS,
    DUAL_LOCAL_OPS,
    FAST_LOADS,
    GENERATOR_OPS,
    KW_NAMES_DISTANCE,
    KW_NAMES_ON_STACK,
    LOAD_CELL_OBJECT,
    NULL_BELOW_CALLABLE,
    RETURN_OPS,
)

SIGNALS = (PauseSignal, JumpSignal)

_REFUSED_FLAGS = (
    (0x20, "a generator"),  # CO_GENERATOR
    (0x80, "a coroutine"),  # CO_COROUTINE
    (0x100, "an iterable coroutine"),  # CO_ITERABLE_COROUTINE
    (0x200, "an async generator"),  # CO_ASYNC_GENERATOR
)
# Inserted sequences need at most this many stack items above the original depth.
_EXTRA_STACK = 4
# The catch-all handler's own peak depth: lasti, exception, call helper, argument, result.
_HANDLER_STACK = 6


class Layout:
    """The rewritten instruction list, split where the twin inserts its entry jump."""

    __slots__ = (
        "template",
        "flow",
        "prologue",
        "body",
        "tail",
        "site_calls",
        "after_labels",
        "site_regions",
        "stacksize",
    )

    template: Bytecode
    flow: Flow
    #: Items up to and including RESUME.
    prologue: list
    #: Entry code (cell capture, enter hook) and the rewritten body.
    body: list
    #: Catch-all handler, GOTO stubs and ADDRESS drop paths.
    tail: list
    #: id(call instruction) -> site index, for the f_lasti map.
    site_calls: dict[int, int]
    #: Site index -> label right after its call (resume target).
    after_labels: dict[int, Label]
    #: Site index -> exception-table entry covering its call in the final layout.
    site_regions: dict[int, TryBegin | None]
    stacksize: int

    def __init__(
        self,
        template: Bytecode,
        flow: Flow,
        prologue: list,
        body: list,
        tail: list,
        site_calls: dict[int, int] | None = None,
        after_labels: dict[int, Label] | None = None,
        site_regions: dict[int, TryBegin | None] | None = None,
        stacksize: int = 0,
    ) -> None:
        self.template = template
        self.flow = flow
        self.prologue = prologue
        self.body = body
        self.tail = tail
        self.site_calls = {} if site_calls is None else site_calls
        self.after_labels = {} if after_labels is None else after_labels
        self.site_regions = {} if site_regions is None else site_regions
        self.stacksize = stacksize

    def items(self) -> list:
        return self.prologue + self.body + self.tail


def instrument(
    function: FunctionType, hooks: FrameHooks | None = None, routes: GlobalRoutes | None = None
) -> FunctionInfo:
    """Rewrite `function` in place (its ``__code__``) and register it; idempotent.

    `hooks` run on entering and leaving its frames; `routes` sends chosen global names to
    callbacks (see routing.py).
    """
    known = own_registration(function)
    if known is not None:
        return known
    refuse_at_decoration(function)
    original = function.__code__
    try:
        template, flow, plan = _analyze(original, function.__globals__, routes)
        label_sites = _label_table(function, flow, plan)
        layout = _Rewriter(template, flow, plan, hooks, original).run()
    except AnalysisError as exc:
        raise _decoration_error(
            function, Reason.UNSUPPORTED_BYTECODE, f"its bytecode cannot be analysed ({exc})"
        ) from exc
    code = assemble(
        layout.template, layout.items(), stacksize=layout.stacksize, varnames=original.co_varnames
    )
    routed = routed_names(list(template), routes)
    info = FunctionInfo(
        function=function,
        module=function.__module__,
        qualname=function.__qualname__,
        fingerprint=fingerprint(original, routed),
        original_code=original,
        flow=flow,
        sites=plan.sites,
        labels={label: sites[0] for label, sites in label_sites.items()},
        label_sites=label_sites,
        hooks=hooks,
        restore_names=_restore_names(original, plan),
        user_locals=frozenset(original.co_varnames) - frozenset(original.co_cellvars),
        has_cells=bool(original.co_cellvars),
        routes_globals=bool(routed),
        normal_code=code,
        site_map=site_offsets(code, layout.items(), layout.site_calls),
        layout=layout,
    )
    register(info)
    function.__code__ = code
    return info


def analysis_of(
    original: CodeType,
    globals_: dict,
    hooks: FrameHooks | None = None,
    routes: GlobalRoutes | None = None,
) -> tuple[Flow, Layout]:
    """The analysis and rewritten layout `instrument` made of `original`, a function's code,
    when `globals_` held the string values it reads now (made again for a function whose code
    came from the code cache, see code_cache.py)."""
    template, flow, plan = _analyze(original, globals_, routes)
    return flow, _Rewriter(template, flow, plan, hooks, original).run()


def analyse_in_place(function: FunctionType) -> FunctionInfo:
    """Register undecorated `function` to be paused and resumed while it runs its own code
    (a plain helper, see helpers.py): its call sites are found in that code, and its resume
    twin is built as for a decorated function; ``__code__`` is left as it is. Raises
    ContinuationError (or AnalysisError) when it cannot be."""
    known = lookup(function.__code__)
    if known is not None:
        return known
    refuse_at_decoration(function)
    original = function.__code__
    template, flow, plan, site_map = analyse_calls(original)
    layout = _Rewriter(template, flow, plan, None, original).run()
    info = FunctionInfo(
        function=function,
        module=function.__module__,
        qualname=function.__qualname__,
        fingerprint=fingerprint(original),
        original_code=original,
        flow=flow,
        sites=plan.sites,
        labels={},
        label_sites={},
        hooks=None,
        restore_names=_restore_names(original, plan),
        user_locals=frozenset(original.co_varnames) - frozenset(original.co_cellvars),
        has_cells=bool(original.co_cellvars),  # only comprehensions' (helpers.adopt)
        routes_globals=False,
        normal_code=original,
        site_map=site_map,
        layout=layout,
        adopted=True,
    )
    register(info)
    return info


def analyse_calls(code: CodeType) -> tuple[Bytecode, Flow, Plan, dict[int, int]]:
    """The call sites of `code` as it runs, unrewritten (a plain helper's): its instructions,
    their analysis, the sites' plan, and the map from each byte offset of a site's call to
    the site's index. Raises AnalysisError when the code cannot be analysed."""
    template = load_template(code)
    flow = analyze(hide_engine_locals(list(template)))
    plan = plan_helper_sites(flow)
    return template, flow, plan, _original_offsets(code, flow, plan.sites)


def _original_offsets(code: CodeType, flow: Flow, sites: list[CallSite]) -> dict[int, int]:
    """Map every byte offset of each site's call in the unrewritten `code` (inline caches
    included) to its site index: the n-th call of the analysed instructions is the n-th
    call of the code."""
    ordinal = {}
    for position, instr in enumerate(flow.instrs):
        if instr.name in CALL_OPS:
            ordinal[position] = len(ordinal)
    instructions = list(dis.get_instructions(code))
    calls = [
        (instruction.offset, following.offset if following else len(code.co_code))
        for instruction, following in zip(instructions, [*instructions[1:], None], strict=True)
        if instruction.opname in CALL_OPS
    ]
    if len(calls) != len(ordinal):
        raise AnalysisError(f"{len(calls)} calls in the code, {len(ordinal)} analysed")
    offsets: dict[int, int] = {}
    for site in sites:
        start, end = calls[ordinal[site.position]]
        offsets.update(dict.fromkeys(range(start, end, 2), site.index))
    return offsets


def refuse_at_decoration(function: FunctionType) -> None:
    """Raise ContinuationError for functions that can never be resumed."""
    if not isinstance(function, FunctionType):
        raise ContinuationError(
            f"cannot instrument {function!r}: not a Python function",
            reason=Reason.NOT_A_FUNCTION,
        )
    code = function.__code__
    for flag, what in _REFUSED_FLAGS:
        if code.co_flags & flag:
            raise _decoration_error(
                function, Reason.GENERATOR, f"it is {what}; pausing inside one is not supported"
            )
    if function.__name__ == "<lambda>":
        raise _decoration_error(
            function, Reason.LAMBDA, "it is a lambda; use a def at module or class level"
        )
    if "<locals>" in function.__qualname__:
        raise _decoration_error(
            function,
            Reason.NESTED_FUNCTION,
            "it is defined inside another function, so a new process cannot find it again; "
            "define it at module or class level",
        )


def _decoration_error(function: FunctionType, reason: Reason, problem: str) -> ContinuationError:
    code = function.__code__
    return ContinuationError(
        f"cannot instrument {function.__qualname__} ({code.co_filename}:{code.co_firstlineno}): "
        f"{problem}",
        qualname=function.__qualname__,
        filename=code.co_filename,
        lineno=code.co_firstlineno,
        reason=reason,
    )


def load_template(code: CodeType) -> Bytecode:
    """Abstract instructions of `code`, keeping the compiler's exception-table depths.

    Keeping the depths lets assembly skip `bytecode`'s CFG pass, which is the slow part and
    the one that produced a bogus 32768 depth (docs/engine.md, pitfall P2). On 3.13 the
    dual-local superinstructions come out split (pitfall P1; see `codec.decode`).
    """
    names = [dis.opname[opcode] for opcode in code.co_code[::2]]  # inline caches read as CACHE
    if not GENERATOR_OPS.isdisjoint(names):
        first = next(name for name in names if name in GENERATOR_OPS)
        raise AnalysisError(f"generator instruction {first}")
    return codec.decode(code)


def _analyze(
    code: CodeType, globals_: dict, routes: GlobalRoutes | None
) -> tuple[Bytecode, Flow, Plan]:
    template = load_template(code)
    items = route_globals(list(template), routes) if routes else list(template)
    items = hide_engine_locals(items)
    flow = analyze(items)
    plan = plan_sites(flow, globals_)
    deoptimized = _deopt_labelled_methods(flow, plan)
    if deoptimized is not None:
        flow = analyze(deoptimized)
        plan = plan_sites(flow, globals_)
    return template, flow, plan


def _deopt_labelled_methods(flow: Flow, plan: Plan) -> list | None:
    """Turn method-form loads feeding labelled calls into attribute load + NULL.

    The ADDRESS filter must inspect the callable, and a method-form pair may hold a NULL that
    cannot be copied; labelled calls are rare, so their lookups may be a little slower.
    """
    replacements: dict[int, list[Instr]] = {}
    for position in plan.labels:
        load_position = _callable_producer(flow, position)
        if load_position is None:
            continue
        load = flow.instrs[load_position]
        if is_pair_load(load) and load.name != "LOAD_GLOBAL":
            replacements[flow.item_index[load_position]] = _plain_attribute_load(load)
    if not replacements:
        return None
    items = []
    for index, item in enumerate(flow.items):
        items.extend(replacements.get(index, [item]))
    return items


def _callable_producer(flow: Flow, position: int) -> int | None:
    """Position of the load that pushed the callable pair of the call at `position`."""
    producers = call_operands(flow.instrs[position], flow.stacks[position]).low[0]
    if len(producers) != 1:
        return None
    return producer_position(next(iter(producers)))


def _plain_attribute_load(load: Instr) -> list[Instr]:
    location = load.location
    if load.name == "LOAD_METHOD":
        plain = Instr("LOAD_ATTR", load.arg, location=location)
    else:
        plain = Instr(load.name, (False, *load.arg[1:]), location=location)
    null = [Instr("PUSH_NULL", location=location)]
    if NULL_BELOW_CALLABLE:
        null.append(Instr("SWAP", 2, location=location))
    return [plain, *null]


def _label_table(function: FunctionType, flow: Flow, plan: Plan) -> dict[str, tuple[int, ...]]:
    """The call sites of each ADDRESS label: one call, which the compiler may have copied
    (a ``finally`` body is compiled twice, once for each way into it)."""
    labels: dict[str, tuple[int, ...]] = {}
    for site in plan.sites:
        if site.label is None:
            continue
        copies = labels.get(site.label, ())
        if copies and _source_of(flow, plan.sites[copies[0]]) != _source_of(flow, site):
            first = plan.sites[copies[0]]
            raise _decoration_error(
                function,
                Reason.DUPLICATE_LABEL,
                f"ADDRESS {site.label!r} is used twice (lines {first.lineno} and {site.lineno}); "
                "labels must be unique within a function",
            )
        labels[site.label] = (*copies, site.index)
    return labels


def _source_of(flow: Flow, site: CallSite) -> tuple:
    location = flow.instrs[site.position].location
    if location is None:
        return (site.position,)
    return (location.lineno, location.end_lineno, location.col_offset, location.end_col_offset)


def _restore_names(code: CodeType, plan: Plan) -> tuple[str, ...]:
    cells = set(code.co_cellvars)
    user = [name for name in code.co_varnames if name not in cells]
    hidden = plan.hidden_names + ([CELLS] if code.co_cellvars else [])
    return tuple(user + hidden)


class _Rewriter:
    """Builds the normal layout: original items plus inserted code, then the tail."""

    def __init__(
        self, template: Bytecode, flow: Flow, plan: Plan, hooks: FrameHooks | None, code: CodeType
    ) -> None:
        self.flow = flow
        self.plan = plan
        self.hooks = hooks
        self.code = code
        self.needs_catch = bool(hooks) or any(site.label for site in plan.sites)
        self.catch_label = Label()
        self.divert_label = Label()
        self.layout = Layout(template=template, flow=flow, prologue=[], body=[], tail=[])
        self.sites_by_position = {site.position: site for site in plan.sites}
        self.positions = {index: position for position, index in enumerate(flow.item_index)}
        # Jump entries: (position, the jump's target number, the value-stack items it pushes).
        # A labelled call is entered at its call expression (target number: the site index)
        # or, for a jump from outside the expression around it, at its statement (the site
        # index plus the number of sites; see jumps.py).
        self.goto_starts: dict[int, list[tuple[int, int]]] = {}
        for site in plan.sites:
            if site.label and site.goto_refusal is None and site.refusal is None:
                self._add_entry(site.goto_start, site.index, site.depth)
                if site.statement_start >= 0:
                    target = site.index + len(plan.sites)
                    self._add_entry(site.statement_start, target, site.statement_depth)
        self.checked_loads = self._loads_to_check()
        self.handler_entries = self._handler_entries()
        self.name_keepers = self._name_keepers()
        self.group_collectors = self._group_collectors()
        self.start_labels: dict[int, Label] = {}
        self.drop_labels: dict[int, Label] = {}
        self.filter_points = self._filter_points()

    def _add_entry(self, position: int, target: int, depth: int) -> None:
        self.goto_starts.setdefault(position, []).append((target, depth))

    def _loads_to_check(self) -> frozenset[int]:
        """Unchecked local loads a GOTO/RETURNTO could reach with the local unbound.

        A jump keeps the frame's locals as they are, so at a labelled call any local may be
        unbound, whatever the compiler proved for the paths it knew. Those loads check, as
        LOAD_FAST_CHECK does, and raise UnboundLocalError at the read like plain Python.
        """
        if not self.goto_starts:
            return frozenset()
        user = frozenset(self.code.co_varnames) - frozenset(self.code.co_cellvars)
        return frozenset(self.flow.unbound_reads(tuple(self.goto_starts), user, checked=False))

    def _handler_entries(self) -> set[int]:
        entries = set()
        for region in self.flow.regions:
            if region is not None:
                position = self.flow.handler_position(region)
                if self.flow.instrs[position].name == "PUSH_EXC_INFO":
                    entries.add(position)
        return entries

    def _name_keepers(self) -> dict[int, frozenset[int]]:
        """The cleanup of each ``except ... as name`` block holding GOTO targets -> the jump
        targets inside the block (a GOTO to one of them keeps the name bound)."""
        inside: dict[int, set[int]] = {}
        for site in self.plan.sites:
            if not site.label or site.goto_refusal is not None or site.refusal is not None:
                continue
            for handler, _ in self.flow.handler_chain(site.position):
                if self._unbinds_name(handler):
                    inside.setdefault(handler, set()).update(
                        (site.index, site.index + len(self.plan.sites))
                    )
        return {handler: frozenset(sites) for handler, sites in inside.items()}

    def _unbinds_name(self, position: int) -> bool:
        """Whether the handler at `position` is an ``except ... as name`` block's cleanup
        (``name = None; del name; raise``)."""
        ops = self.flow.instrs[position : position + 4]
        names = [instr.name for instr in ops]
        return (
            names == ["LOAD_CONST", "STORE_FAST", "DELETE_FAST", "RERAISE"]
            and ops[0].arg is None
            and ops[1].arg == ops[2].arg
        )

    def _keep_name(self, sites: frozenset[int], location) -> list:
        """Re-raise a GOTO to one of `sites` before the cleanup unbinds the block's name."""
        cleanup = Label()
        return [
            *emit.call(
                runtime.jumps_within,
                [emit.instr("COPY", 3, location), emit.instr("LOAD_CONST", sites, location)],
                2,
                location,
            ),
            emit.jump_if_false(cleanup, location),
            emit.instr("RERAISE", 1, location),
            cleanup,
        ]

    def _group_collectors(self) -> set[int]:
        return {
            self.flow.handler_position(region)
            for region in self.flow.regions
            if region is not None
            and self.flow.is_group_collector(self.flow.handler_position(region))
        }

    def _filter_points(self) -> dict[int, CallSite]:
        """Position before which each labelled call's ADDRESS filter goes."""
        points = {}
        for position in self.plan.labels:
            site = self.sites_by_position[position]
            point = position - KW_NAMES_DISTANCE
            if self.flow.instrs[point].name not in ("KW_NAMES", "LOAD_CONST"):
                raise self._labelled_call_error(site, "the call has an unexpected layout")
            self._check_callable_is_plain(position, site)
            points[point] = site
        return points

    def _check_callable_is_plain(self, position: int, site: CallSite) -> None:
        operands = call_operands(self.flow.instrs[position], self.flow.stacks[position])
        if operands.null_or_self[1] != NULL:
            raise self._labelled_call_error(site, "its callable has an unsupported form")

    def _labelled_call_error(self, site: CallSite, problem: str) -> ContinuationError:
        code = self.code
        return ContinuationError(
            f"cannot instrument {code.co_qualname} ({code.co_filename}:{site.lineno}): the call "
            f"labelled ADDRESS={site.label!r} cannot be rewritten: {problem}",
            qualname=code.co_qualname,
            filename=code.co_filename,
            lineno=site.lineno,
            reason=Reason.UNSUPPORTED_BYTECODE,
        )

    def run(self) -> Layout:
        in_prologue = True
        pending: list = []  # labels and region markers waiting for their instruction
        for index, item in enumerate(self.flow.items):
            if not isinstance(item, Instr):
                pending.append(item)
                continue
            target = self.layout.prologue if in_prologue else self.layout.body
            position = self.positions[index]
            target.extend(self._with_pending(position, pending))
            pending = []
            target.extend(self._before(position))
            if position in self.checked_loads:
                item = emit.load_local_checked(item.arg, item.location)
            target.append(item)
            if in_prologue and item.name == "RESUME":
                in_prologue = False
                self.layout.body.extend(self._entry_code())
                continue
            target.extend(self._after(position))
        self.layout.body.extend(pending)
        if self.needs_catch:
            self.layout.body = self._fill_catch_all(self.layout.body)
        self._record_site_regions()
        self.layout.tail = self._tail()
        self.layout.stacksize = max(self.code.co_stacksize + _EXTRA_STACK, _HANDLER_STACK)
        return self.layout

    def _with_pending(self, position: int, pending: list) -> list:
        """Pending markers, with a handler's bypass between its label and its own region.

        The cleanup region of an except/finally/with handler starts at PUSH_EXC_INFO; a
        signal re-raised inside it would run POP_EXCEPT without a PUSH_EXC_INFO. The bypass
        runs instead under the region that encloses the whole try statement.
        """
        if position not in self.handler_entries:
            return pending
        regions = [item for item in pending if isinstance(item, TryBegin)]
        others = [item for item in pending if not isinstance(item, TryBegin)]
        own = self.flow.regions[position]
        if own is not None and own not in regions:
            raise AnalysisError("a handler's cleanup region does not start at PUSH_EXC_INFO")
        enclosing = own and self.flow.regions[self.flow.handler_position(own)]
        bypass = self._bypass(self.flow.instrs[position].location)
        return others + wrap_in_region(bypass, enclosing) + regions

    def _before(self, position: int) -> list:
        code: list = _clear(
            self.plan.clears_before.get(position, ()), self.flow.instrs[position].location
        )
        for target, _ in self.goto_starts.get(position, ()):
            label = Label()
            self.start_labels[target] = label
            code.append(label)
        if position in self.group_collectors:
            code += self._reraise_signals(self.flow.instrs[position].location)
        if position in self.name_keepers:
            location = self.flow.instrs[position].location
            code += self._keep_name(self.name_keepers[position], location)
        if position in self.filter_points:
            code += self._address_filter(self.filter_points[position])
        if self.hooks and self.flow.instrs[position].name in RETURN_OPS:
            location = self.flow.instrs[position].location
            skip = Label()
            code += _unless_open(self.hooks.leave_gate, skip, location)
            code += emit.call(
                self.hooks.leave, [emit.instr("LOAD_CONST", None, location)], 1, location
            )
            code.append(emit.instr("POP_TOP", location=location))
            code.append(skip)
        return code

    def _after(self, position: int) -> list:
        code: list = []
        site = self.sites_by_position.get(position)
        if site is not None:
            self.layout.site_calls[id(self.flow.instrs[position])] = site.index
            label = Label()
            self.layout.after_labels[site.index] = label
            code.append(label)
        location = self.flow.instrs[position].location
        for spill in self.plan.spills.get(position, ()):
            code.append(emit.instr("COPY", spill.distance, location))
            code.append(emit.instr("STORE_FAST", spill.name, location))
        code += _clear(self.plan.clears_after.get(position, ()), location)
        return code

    def _entry_code(self) -> list:
        code: list = []
        if self.code.co_cellvars:
            code += [emit.instr(LOAD_CELL_OBJECT, CellVar(name)) for name in self.code.co_cellvars]
            code += [
                emit.instr("BUILD_TUPLE", len(self.code.co_cellvars)),
                emit.instr("STORE_FAST", CELLS),
            ]
        if self.hooks:
            skip = Label()
            code += _unless_open(self.hooks.enter_gate, skip, None)
            code += emit.call(self.hooks.enter, [], 0)
            if self.hooks.divert is not None:
                code.append(emit.jump_if_true(self.divert_label))
            else:
                code.append(emit.instr("POP_TOP"))
            code.append(skip)
        return code

    def _divert_path(self) -> list:
        """Where `enter` sends a diverted call: return ``divert()`` (outside the catch-all,
        so the leave hook does not run for a frame that never entered)."""
        return [
            self.divert_label,
            *emit.call(self.hooks.divert, [], 0),
            emit.instr("RETURN_VALUE"),
        ]

    def _bypass(self, location) -> list:
        """Re-raise engine signals at a handler's entry instead of running the handler."""
        user, user_popped = Label(), Label()
        return [
            *_if_engine_signal(user, location),
            *emit.call(runtime.bypass, [emit.instr("COPY", 3, location)], 1, location),
            emit.jump_if_false(user_popped, location),
            emit.instr("RERAISE", 0, location),
            user,
            emit.instr("POP_TOP", location=location),
            user_popped,
        ]

    def _reraise_signals(self, location) -> list:
        """At an except* collector: re-raise any engine signal instead of grouping it."""
        user = Label()
        return [
            *_if_engine_signal(user, location),
            emit.instr("RERAISE", 0, location),
            user,
            emit.instr("POP_TOP", location=location),
        ]

    def _address_filter(self, site: CallSite) -> list:
        call = self.flow.instrs[site.position]
        # Before the keyword names are pushed: only the positional arguments are above the
        # pair; inside emit.call, the helper's own pair is above them too.
        distance = callable_distance(call.arg) + 2
        location = call.location
        drop = Label()
        self.drop_labels[site.index] = drop
        return [
            *emit.call(
                runtime.accepts_address, [emit.instr("COPY", distance, location)], 1, location
            ),
            emit.jump_if_false(drop, location),
        ]

    def _fill_catch_all(self, body: list) -> list:
        """Cover every instruction outside user try regions with the catch-all handler."""
        filled: list = []
        user_open = False
        fill: TryBegin | None = None
        for item in body:
            if isinstance(item, TryBegin):
                if fill is not None:
                    filled.append(TryEnd(fill))
                    fill = None
                user_open = True
            elif isinstance(item, TryEnd):
                user_open = False
            elif isinstance(item, Instr) and not user_open and fill is None:
                fill = TryBegin(self.catch_label, push_lasti=True, stack_depth=0)
                filled.append(fill)
            filled.append(item)
        if fill is not None:
            filled.append(TryEnd(fill))
        return filled

    def _record_site_regions(self) -> None:
        current: TryBegin | None = None
        for item in self.layout.body:
            if isinstance(item, TryBegin):
                current = item
            elif isinstance(item, TryEnd):
                current = None
            elif isinstance(item, Instr) and id(item) in self.layout.site_calls:
                self.layout.site_regions[self.layout.site_calls[id(item)]] = current

    def _tail(self) -> list:
        tail: list = []
        if self.needs_catch:
            tail += self._catch_all_handler()
        if self.hooks and self.hooks.divert is not None:
            tail += self._divert_path()
        for site in self.plan.sites:
            if site.index in self.drop_labels:
                tail += self._drop_path(site)
        return tail

    def _catch_all_handler(self) -> list:
        location = self.flow.instrs[-1].location
        depths = {
            target: depth for entries in self.goto_starts.values() for target, depth in entries
        }
        targets = [(target, Label()) for target in sorted(self.start_labels)]
        code = [
            self.catch_label,
            *emit.call(runtime.catch, [emit.instr("COPY", 3, location)], 1, location),
            *emit.dispatch_on_int(targets, location),
            emit.instr("POP_TOP", location=location),
            emit.instr("RERAISE", 1, location),
        ]
        for target, label in targets:
            site = self.plan.sites[target % len(self.plan.sites)]
            site_location = self.flow.instrs[site.position].location
            recipes = tuple(r for r in site.recipes if r.slot < depths[target])
            code.append(label)
            code += [emit.instr("POP_TOP", location=site_location)] * 3
            code += emit_recipes(self.flow, recipes, site_location)
            code.append(emit.jump_backward(self.start_labels[target], site_location))
        return code

    def _drop_path(self, site: CallSite) -> list:
        """The labelled call again, without ADDRESS, for callees that cannot take it."""
        call = self.flow.instrs[site.position]
        location = call.location
        label = self.plan.labels[site.position]
        drop: list = []
        distance = len(label.keywords) - label.keyword_index
        if distance > 1:
            drop.append(emit.instr("SWAP", distance, location))
        drop.append(emit.instr("POP_TOP", location=location))
        calls = _call_without_address(call, label, location)
        self.layout.site_calls[id(calls[-1])] = site.index
        region = self.layout.site_regions.get(site.index)
        return [
            self.drop_labels[site.index],
            *wrap_in_region(drop + calls, region),
            emit.jump_backward(self.layout.after_labels[site.index], location),
        ]


def _if_engine_signal(otherwise: Label, location) -> list:
    """Test the exception on top of the stack (kept there) against the engine's signals: fall
    through if it is one, else jump to `otherwise`, where a copy of it is left to pop."""
    return [
        emit.instr("COPY", 1, location),
        emit.instr("LOAD_CONST", SIGNALS, location),
        emit.instr("CHECK_EXC_MATCH", location=location),
        emit.jump_if_false(otherwise, location),
        emit.instr("POP_TOP", location=location),
    ]


def _unless_open(gate: Gate | None, skip: Label, location) -> list:
    """Jump to `skip` while `gate` is closed (nothing without a gate): ``gate.is_open``."""
    if gate is None:
        return []
    return [
        emit.instr("LOAD_CONST", gate, location),
        emit.load_attr("is_open", location),
        emit.jump_if_false(skip, location),
    ]


def _clear(names, location) -> list:
    """Drop the hidden copies `names` (in a stable order)."""
    code: list = []
    for name in sorted(names):
        code += [emit.instr("LOAD_CONST", None, location), emit.instr("STORE_FAST", name, location)]
    return code


def _call_without_address(call: Instr, label: LabelInfo, location) -> list[Instr]:
    keywords = list(label.keywords)
    keywords[label.keyword_index] = keywords[-1]
    keywords.pop()
    count = call.arg - 1
    if KW_NAMES_ON_STACK:
        if keywords:
            return [
                emit.instr("LOAD_CONST", tuple(keywords), location),
                emit.instr("CALL_KW", count, location),
            ]
        return [emit.instr("CALL", count, location)]
    code = [emit.instr("KW_NAMES", tuple(keywords), location)] if keywords else []
    return code + emit.call_only(count, location)


def wrap_in_region(code: list, region: TryBegin | None) -> list:
    """Put `code` under a copy of `region`, so exceptions reach the same handler.

    A copied call must not be the first instruction of the copy: 3.13 finds the handler of a
    caller whose callee raised at the code unit *before* the CALL (see versions.py).
    """
    if region is None:
        return list(code)
    copy = TryBegin(region.target, push_lasti=region.push_lasti, stack_depth=region.stack_depth)
    return [copy, *code, TryEnd(copy)]


def emit_recipes(
    flow: Flow, recipes: tuple[Recipe, ...], location, *, resume: bool = False
) -> list:
    """Instructions that push back the items described by `recipes`, bottom first: for a
    resume stub (`resume`), captured loads push the values saved at the pause; for a GOTO
    stub they run again."""
    code: list = []
    for recipe in recipes:
        code += _emit_recipe(flow, recipe, location, resume)
    return code


def _emit_recipe(flow: Flow, recipe: Recipe, location, resume: bool) -> list:
    if recipe.kind is RecipeKind.CAPTURE and resume:
        value = emit.load_local_checked(recipe.name, location)
        if recipe.width == 1:
            return [value]
        null = emit.instr("PUSH_NULL", location=location)  # the saved value is the callable
        return [null, value] if NULL_BELOW_CALLABLE else [value, null]
    if recipe.kind is RecipeKind.SPILL:
        return [emit.load_local_checked(recipe.name, location)]
    if recipe.kind is RecipeKind.EXCEPT_STATE:
        return [
            emit.load_local_checked(recipe.name, location),
            emit.instr("PUSH_EXC_INFO", location=location),
            emit.instr("POP_TOP", location=location),
        ]
    if recipe.kind is RecipeKind.NULL:
        return [emit.instr("PUSH_NULL", location=location)]
    code = emit_recipes(flow, recipe.inputs, location, resume=resume)
    load = flow.instrs[recipe.load]
    if load.name in FAST_LOADS:
        code.append(emit.load_local_checked(load.arg, location))
    elif load.name == "PUSH_NULL":
        code.append(emit.instr("PUSH_NULL", location=location))
    else:
        code.append(Instr(load.name, load.arg, location=location))
    return code


def assemble(
    template: Bytecode,
    items: list,
    *,
    stacksize: int,
    varnames: tuple[str, ...] = (),
    fuse: bool = True,
) -> CodeType:
    """Assemble `items` into a code object shaped like `template`.

    `varnames` (the original code's locals) keep their slots and order, so the rewritten code
    lists them as the original did, hidden locals after them. `fuse` restores the 3.13
    superinstructions the decoder split (see `codec.assemble`).
    """
    shape = codec.Shape.of(template).with_varnames(varnames)
    code = codec.assemble(items, shape, stacksize=stacksize, fuse=fuse)
    _check_exception_table(code)
    return code


def _check_exception_table(code: CodeType) -> None:
    for entry in codec.exception_entries(code):
        if entry.depth >= 32768 or entry.depth > code.co_stacksize:
            raise ContinuationError(
                f"internal error: exception-table depth {entry.depth} in {code.co_qualname}",
                qualname=code.co_qualname,
                reason=Reason.INTERNAL,
            )


def site_offsets(code: CodeType, items: list, site_calls: dict[int, int]) -> dict[int, int]:
    """Map every byte offset of a tagged call (with its inline caches) to its site index."""
    raw = code.co_code
    caches = codec.CACHES
    offsets: dict[int, int] = {}
    instructions = (item for item in items if isinstance(item, Instr))
    offset = 0
    while offset < len(raw):
        while raw[offset] == dis.EXTENDED_ARG:
            offset += 2
        item = next(instructions)
        if raw[offset] in _FUSED_OPCODES:
            next(instructions)  # the second half of a fused pair (never a call)
        end = offset + 2 + 2 * caches[raw[offset]]
        site = site_calls.get(id(item))
        if site is not None:
            offsets.update(dict.fromkeys(range(offset, end, 2), site))
        offset = end
    return offsets


_FUSED_OPCODES = frozenset(dis.opmap[name] for name in DUAL_LOCAL_OPS)

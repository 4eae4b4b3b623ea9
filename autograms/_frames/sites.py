"""Plan every call site of a function: how to rebuild the value stack under it on resume.

A pause happens inside a call. To continue the frame later, the items under the call's result
must be pushed back exactly: for-loop iterators, a `with` statement's bound ``__exit__``, the
exception an ``except`` body handles, and the operands of a partly evaluated expression such
as ``base + child() * 2``. For each item the planner picks the cheapest sound recipe:

* re-execute a load that gives the same object again (a constant, a local not written
  since);
* *capture* a load the paused call may change the result of (a module attribute chain, the
  NULL/self pair of a method call, which can be neither saved nor copied): its value is read
  from the frame's value stack when the program pauses, and a resume pushes it back;
* re-enter an ``except`` body by pushing its exception with PUSH_EXC_INFO;
* otherwise *spill*: copy the item into a hidden local right after its producer ran.

A site whose items cannot all be rebuilt is *refused*: the refusal is only raised if a pause
really happens there (a call inside a comprehension that never pauses costs nothing).
"""

from __future__ import annotations


from bytecode import Instr, TryBegin

from .._record import replace
from .analysis import (
    LASTI,
    UNWOUND_EXCEPTION,
    Flow,
    Item,
    consumed_by,
    copy_distance,
    producer,
    producer_output,
    producer_position,
    source_item,
)
from .effects import NULL, is_pair_load
from .errors import Reason
from .label_values import label_value
from .records import CallSite, HandlerRef, Recipe, RecipeKind, Refusal, Spill
from .versions import (
    CALL_OPS,
    FAST_LOADS,
    FOR_ITER_EXIT_SKIPS,
    KW_NAMES_DISTANCE,
    KW_NAMES_ON_STACK,
)

SPILL_PREFIX = "__ag_s"
EXCEPT_PREFIX = "__ag_e"
CAPTURE_PREFIX = "__ag_v"


class Refused(Exception):
    """A stack item at a call site that no recipe can rebuild."""

    def __init__(self, reason: Reason, problem: str) -> None:
        super().__init__(problem)
        self.refusal = Refusal(reason, problem)


#: The comprehension an inlined comprehension's accumulator belongs to (3.12+, PEP 709).
_COMPREHENSION_KINDS = {
    "BUILD_LIST": "a list comprehension",
    "BUILD_SET": "a set comprehension",
    "BUILD_MAP": "a dict comprehension",
}


class LabelInfo:
    """An ADDRESS keyword found on a call."""

    __slots__ = ("label", "keyword_index", "keywords")

    label: str
    #: Index of ADDRESS among the call's keyword names.
    keyword_index: int
    #: The call's keyword names.
    keywords: tuple[str, ...]

    def __init__(self, label: str, keyword_index: int, keywords: tuple[str, ...]) -> None:
        self.label = label
        self.keyword_index = keyword_index
        self.keywords = keywords


class Plan:
    """Everything the rewriter needs from the analysis of one code object."""

    __slots__ = ("sites", "spills", "clears_before", "clears_after", "labels", "captures")

    sites: list[CallSite]
    #: Spills to insert, keyed by producer position.
    spills: dict[int, list[Spill]]
    #: Hidden locals to clear before / after an instruction, where the stack item they copy
    #: dies in plain code (so iterators, exceptions and context managers are released when
    #: the interpreter would release them).
    clears_before: dict[int, set[str]]
    clears_after: dict[int, set[str]]
    #: ADDRESS keywords by call position.
    labels: dict[int, LabelInfo]
    #: Hidden locals a snapshot fills from the value stack (CAPTURE recipes).
    captures: set[str]

    def __init__(
        self,
        sites: list[CallSite] | None = None,
        spills: dict[int, list[Spill]] | None = None,
        clears_before: dict[int, set[str]] | None = None,
        clears_after: dict[int, set[str]] | None = None,
        labels: dict[int, LabelInfo] | None = None,
        captures: set[str] | None = None,
    ) -> None:
        self.sites = [] if sites is None else sites
        self.spills = {} if spills is None else spills
        self.clears_before = {} if clears_before is None else clears_before
        self.clears_after = {} if clears_after is None else clears_after
        self.labels = {} if labels is None else labels
        self.captures = set() if captures is None else captures

    @property
    def hidden_names(self) -> list[str]:
        names = {spill.name for spills in self.spills.values() for spill in spills}
        return sorted(names | self.captures)


#: (slot, its item, the item above or None) -> the recipe planned for them and its spills.
SharedRecipes = dict[tuple[int, Item, Item | None], tuple[Recipe, list[Spill]]]


class _Shared:
    """What the call sites of one function share, planned once."""

    __slots__ = ("recipes", "handlers")

    recipes: SharedRecipes
    #: Exception region (None outside any) -> handlers an exception there passes through.
    handlers: dict[TryBegin | None, tuple[HandlerRef, ...]]

    def __init__(
        self,
        recipes: SharedRecipes | None = None,
        handlers: dict[TryBegin | None, tuple[HandlerRef, ...]] | None = None,
    ) -> None:
        self.recipes = {} if recipes is None else recipes
        self.handlers = {} if handlers is None else handlers


def plan_sites(flow: Flow, globals_: dict) -> Plan:
    """Plan recipes and spills for every reachable call of the analysed code."""
    plan = Plan()
    shared = _Shared()
    for position, instr in enumerate(flow.instrs):
        if instr.name not in CALL_OPS or flow.stacks[position] is None:
            continue
        label = find_label(flow, position, globals_)
        if label is not None:
            plan.labels[position] = label
        plan.sites.append(_plan_site(flow, plan, position, len(plan.sites), label, shared))
    _plan_clears(flow, plan)
    return plan


def plan_helper_sites(flow: Flow) -> Plan:
    """Plan the call sites of code that runs as it is, unrewritten (a plain helper a pause
    met, see helpers.py): nothing was spilled there, so each item a decorated function would
    spill is read from the value stack at the pause instead (a CAPTURE), and a call inside a
    try, with or except block of the code is refused: no bypass keeps its handlers from
    running as the pause unwinds. An ADDRESS label names the paused call (in the pending
    frames) but is no GOTO target: a jump treats the code as plain."""
    planned = plan_sites(flow, {})
    sites = [_helper_site(flow, site) for site in planned.sites]
    captures = {
        recipe.name
        for site in sites
        for recipe in site.recipes
        if recipe.kind is RecipeKind.CAPTURE
    }
    return Plan(sites=sites, captures=captures)


def _helper_site(flow: Flow, site: CallSite) -> CallSite:
    refusal = site.refusal
    if refusal is None and flow.regions[site.position] is not None:
        refusal = Refusal(
            Reason.HELPER_CONTINUES,
            "it is not instrumented, and its pausing call is inside a try, with or except "
            "block of its own, whose handlers would run when the program pauses",
        )
    recipes: tuple[Recipe, ...] = ()
    if refusal is None:
        recipes = tuple(_read_at_pause(recipe) for recipe in site.recipes)
    return replace(
        site,
        recipes=recipes,
        hidden=frozenset(r.name for r in recipes if r.kind is RecipeKind.CAPTURE),
        refusal=refusal,
        goto_start=-1,
        goto_refusal=None,
        statement_start=-1,
        statement_depth=-1,
    )


def _read_at_pause(recipe: Recipe) -> Recipe:
    """`recipe` for code that spilled nothing: a spilled item is captured from its slot."""
    if recipe.kind is not RecipeKind.SPILL:
        return recipe  # outside handlers: no except state; the rest reads no hidden local
    return Recipe(
        RecipeKind.CAPTURE,
        recipe.slot,
        name=f"{CAPTURE_PREFIX}{recipe.slot}",
        load=recipe.source,
        source=recipe.source,
    )


#: the jump after an ``except*`` clause's CHECK_EG_MATCH and COPY (3.11 names it forward)
_IF_NONE = frozenset({"POP_JUMP_IF_NONE", "POP_JUMP_FORWARD_IF_NONE"})


def _plan_clears(flow: Flow, plan: Plan) -> None:
    """Clear each spilled item's hidden copy where the item dies in plain code: its lifetime
    is observable (a generator's finalizer, a context manager kept alive by its bound
    __exit__, an exception's traceback -> frame cycle, any object's __del__ or weak
    references), and a copy kept until the frame ends would outlive it."""
    spilled_by: dict[str, set[int]] = {}
    for position, spills in plan.spills.items():
        for spill in spills:
            spilled_by.setdefault(spill.name, set()).add(position)
    for spills in plan.spills.values():
        for spill in spills:
            if spill.name.startswith(SPILL_PREFIX):
                slot = int(spill.name[len(SPILL_PREFIX) :])
                _clear_where_item_dies(flow, plan, spill, slot, spilled_by[spill.name])
    hidden = set(plan.hidden_names)
    for position, instr in enumerate(flow.instrs):
        if instr.name == "POP_EXCEPT" and flow.stacks[position] is not None:
            slot = _restored_except_slot(flow, position)
            name = f"{EXCEPT_PREFIX}{slot}"
            if name in hidden:
                plan.clears_after.setdefault(position, set()).add(name)


def _clear_where_item_dies(
    flow: Flow, plan: Plan, spill: Spill, slot: int, spilled_at: set[int]
) -> None:
    """Clear the spill's hidden local where normal control flow passes from code in which
    `slot` holds the item its producer pushed to code in which it does not (the item was
    popped, or consumed by a call whose result took its place).

    Hidden locals are named by slot, so a later item in the same slot may be spilled into
    the same local -- even by the very instruction that ends the first item's life (a SWAP
    bringing a return value down over a `with` statement's exit). No clear goes where the
    slot may hold such an item: its spill has already replaced the dead value.
    """
    holding = _positions_holding(flow, slot, spill.after)
    for position in holding:
        for successor in flow.normal_successors[position]:
            if (
                successor not in holding
                and _may_insert_before(flow, successor)
                and not _holds_spilled_item(flow, successor, slot, spilled_at)
            ):
                plan.clears_before.setdefault(successor, set()).add(spill.name)


def _holds_spilled_item(flow: Flow, position: int, slot: int, spilled_at: set[int]) -> bool:
    """Whether `slot` may hold, before `position`, an item spilled after one of `spilled_at`."""
    stack = flow.stacks[position]
    if stack is None or len(stack) <= slot:
        return False
    return any(producer_position(key) in spilled_at for key in stack[slot][0] if key >= 0)


def _positions_holding(flow: Flow, slot: int, producer_at: int) -> set[int]:
    """Positions before which stack `slot` may hold an item pushed by the instruction at
    `producer_at`. Such an item stays in its slot until popped, so it reaches them only along
    edges from its producer through other such positions: a walk from there finds them all."""
    item = set(range(producer_at << 8, (producer_at + 1) << 8))  # any output of the producer
    stacks = flow.stacks
    holding: set[int] = set()
    work = [producer_at]
    while work:
        for successor in flow.successors[work.pop()]:
            if successor in holding:
                continue
            stack = stacks[successor]
            if stack is not None and len(stack) > slot and not item.isdisjoint(stack[slot][0]):
                holding.add(successor)
                work.append(successor)
    return holding


def _may_insert_before(flow: Flow, position: int) -> bool:
    """An exhausted FOR_ITER jumps a fixed distance past END_FOR (3.12: END_FOR; 3.13:
    END_FOR and the POP_TOP after it); nothing may be inserted where that jump lands short."""
    skipped = flow.instrs[max(position - FOR_ITER_EXIT_SKIPS + 1, 0) : position + 1]
    return all(instr.name != "END_FOR" for instr in skipped)


def _restored_except_slot(flow: Flow, position: int) -> int:
    """The stack slot of the except-state that the POP_EXCEPT at `position` restores."""
    key = origin_of(flow, next(iter(flow.stacks[position][-1][0])))
    if key is None or key < 0:
        return -1
    start = producer_position(key)
    return len(flow.stacks[start]) - 1


def _plan_site(
    flow: Flow,
    plan: Plan,
    position: int,
    index: int,
    label: LabelInfo | None,
    shared: _Shared,
) -> CallSite:
    stack = flow.stacks[position]
    depth = len(stack) - consumed_by(flow.instrs[position])
    planner = _SitePlanner(flow, position, shared.recipes)
    recipes: tuple[Recipe, ...] = ()
    refusal = None
    try:
        recipes = planner.recipes(stack[:depth])
    except Refused as exc:
        refusal = exc.refusal
    else:
        for spill in planner.spills:
            plan.spills.setdefault(spill.after, [])
            if spill not in plan.spills[spill.after]:
                plan.spills[spill.after].append(spill)
        plan.captures.update(recipe.name for recipe in recipes if recipe.kind is RecipeKind.CAPTURE)
    goto_start, goto_refusal = _goto_start(flow, position, depth) if label else (-1, None)
    statement_start, statement_depth = (
        _statement_start(flow, position, depth) if label else (-1, -1)
    )
    return CallSite(
        index=index,
        position=position,
        lineno=_lineno(flow.instrs[position]),
        label=label.label if label else None,
        depth=depth,
        recipes=recipes,
        hidden=frozenset(planner.hidden),
        stack_keys=tuple([item[0] for item in stack[:depth]]),
        handlers=_handlers(flow, position, shared),
        refusal=refusal,
        goto_start=goto_start,
        goto_refusal=goto_refusal,
        statement_start=statement_start,
        statement_depth=statement_depth,
    )


def _handlers(flow: Flow, position: int, shared: _Shared) -> tuple[HandlerRef, ...]:
    """The handler chain of the call at `position`: a function of its exception region alone
    (a chain never comes back to a call), so sites in one region share it."""
    region = flow.regions[position]
    handlers = shared.handlers.get(region)
    if handlers is None:
        handlers = tuple(HandlerRef(p, kind) for p, kind in flow.handler_chain(position))
        shared.handlers[region] = handlers
    return handlers


def _lineno(instr: Instr) -> int:
    location = instr.location
    return location.lineno if location is not None and location.lineno is not None else -1


class _SitePlanner:
    """Builds the recipes of one call site, collecting the spills they need.

    A recipe depends only on the slot, its item and the one above (a method pair), and on the
    call site only where a local's load is re-executed (the local must not be written before
    the call). Every other recipe is planned once and shared by all the sites whose stacks
    hold the same items (the sites in a loop share its iterator, say).
    """

    def __init__(self, flow: Flow, site: int, shared: SharedRecipes) -> None:
        self.flow = flow
        self.site = site
        self.shared = shared
        self.spills: list[Spill] = []
        self.hidden: set[str] = set()
        #: Whether the recipe being planned looked at this site (so it cannot be shared).
        self.site_specific = False

    def recipes(self, items: tuple[Item, ...]) -> tuple[Recipe, ...]:
        recipes: list[Recipe] = []
        slot = 0
        while slot < len(items):
            recipe = self._shared_recipe(slot, items)
            recipes.append(recipe)
            slot += recipe.width
        return tuple(recipes)

    def _shared_recipe(self, slot: int, items: tuple[Item, ...]) -> Recipe:
        key = (slot, items[slot], items[slot + 1] if slot + 1 < len(items) else None)
        known = self.shared.get(key)
        if known is not None:
            recipe, spills = known
            for spill in spills:
                self._add_spill(spill)
        else:
            first_spill = len(self.spills)
            self.site_specific = False
            recipe = self.recipe(slot, items)
            if not self.site_specific:
                self.shared[key] = (recipe, self.spills[first_spill:])
        if recipe.kind is RecipeKind.CAPTURE:
            self.hidden.add(recipe.name)
        return recipe

    def recipe(self, slot: int, items: tuple[Item, ...]) -> Recipe:
        producers, nullness = items[slot]
        if LASTI in producers or UNWOUND_EXCEPTION in producers:
            raise Refused(
                Reason.UNWINDING, "the call runs while an exception unwinds (in cleanup code)"
            )
        if self._all_except_states(producers):
            return self._except_state(slot, producers)
        single = next(iter(producers)) if len(producers) == 1 else None
        if single is not None:
            pair = self._pair(slot, single, items)
            if pair is not None:
                return pair
        if nullness & NULL:
            return self._null(slot, items)
        reload = self._reload(slot, single) if single is not None else None
        return reload if reload is not None else self._spill(slot, producers)

    def _all_except_states(self, producers: frozenset[int]) -> bool:
        return all(
            self.flow.instrs[producer_position(key)].name == "PUSH_EXC_INFO"
            and producer_output(key) == 0
            for key in producers
        )

    def _except_state(self, slot: int, producers: frozenset[int]) -> Recipe:
        name = f"{EXCEPT_PREFIX}{slot}"
        for key in producers:
            # The exception being handled is PUSH_EXC_INFO's second output, on top.
            self._add_spill(Spill(after=producer_position(key), distance=1, name=name))
        for position in self._group_matches(slot, producers):
            # In an except* clause it is the part of the group the clause matched (which
            # CHECK_EG_MATCH made the handled exception): a bare raise there re-raises that
            # part, and PREP_RERAISE_STAR must see it as a re-raise, not the whole group.
            self._add_spill(Spill(after=position, distance=1, name=name))
        source = producer_position(next(iter(producers)))
        return Recipe(RecipeKind.EXCEPT_STATE, slot, name=name, source=source)

    def _group_matches(self, slot: int, producers: frozenset[int]) -> list[int]:
        """The jumps, one per ``except*`` clause of the handler whose exception state is at
        `slot`, that fall through into the clause's body with the matched part on top."""
        found = []
        for position, instr in enumerate(self.flow.instrs):
            stack = self.flow.stacks[position]
            if instr.name != "CHECK_EG_MATCH" or stack is None or len(stack) != slot + 5:
                continue
            if stack[slot][0] & producers and self.flow.instrs[position + 2].name in _IF_NONE:
                found.append(position + 2)
        return found

    def _pair(self, slot: int, key: int, items: tuple[Item, ...]) -> Recipe | None:
        """A callable+NULL/self pair pushed by one flagged load: captured (a GOTO re-executes
        the load)."""
        position = producer_position(key)
        load = self.flow.instrs[position]
        if producer_output(key) != 0 or not is_pair_load(load):
            return None
        partner = frozenset({producer(position, 1)})
        if slot + 1 >= len(items) or items[slot + 1][0] != partner:
            if items[slot][1] == NULL:
                # the NULL a global's load put under its callable, which a load or call
                # since replaced (`C.m(...)()` on 3.11/3.12: the outer call's NULL is the
                # load of C's)
                return Recipe(RecipeKind.NULL, slot)
            raise Refused(
                Reason.UNSAVED_VALUE, "a method call's receiver was separated from its method"
            )
        return self._captured(self._reexecute(slot, position, width=2))

    def _null(self, slot: int, items: tuple[Item, ...]) -> Recipe:
        producers, nullness = items[slot]
        origin = origin_of(self.flow, next(iter(producers))) if len(producers) == 1 else None
        known = origin is not None and origin >= 0
        load = self.flow.instrs[producer_position(origin)].name if known else None
        if load == "PUSH_NULL" and nullness == NULL:
            return Recipe(RecipeKind.REEXECUTE, slot, load=producer_position(origin))
        if load == "LOAD_FAST_AND_CLEAR":
            raise Refused(
                Reason.COMPREHENSION, f"cannot pause inside {self._comprehension(items, slot)}"
            )
        raise Refused(
            Reason.UNSAVED_VALUE, "a value under the call may be NULL, so it cannot be saved"
        )

    def _comprehension(self, items: tuple[Item, ...], saved: int) -> str:
        """What kind of inlined comprehension saved its variable in slot `saved`."""
        if saved + 1 < len(items) and len(items[saved + 1][0]) == 1:
            origin = origin_of(self.flow, next(iter(items[saved + 1][0])))
            if origin is not None and origin >= 0:
                kind = _COMPREHENSION_KINDS.get(self.flow.instrs[producer_position(origin)].name)
                if kind is not None:
                    return kind
        return "a comprehension"

    def _reload(self, slot: int, key: int, chain_base: bool = False) -> Recipe | None:
        origin = origin_of(self.flow, key)
        if origin is None or producer_output(origin) != 0:
            return None
        position = producer_position(origin)
        instr = self.flow.instrs[position]
        name = instr.name
        if name == "LOAD_CONST":
            return Recipe(RecipeKind.REEXECUTE, slot, load=position)
        if name == "LOAD_GLOBAL" and not is_pair_load(instr):
            # A bare global is saved (the paused call may rebind it); only the base of a
            # `module.attribute` chain is read again (see _global_attribute).
            return Recipe(RecipeKind.REEXECUTE, slot, load=position) if chain_base else None
        if name in FAST_LOADS:
            self.site_specific = True
            if not self.flow.written_between(instr.arg, position, self.site):
                return Recipe(RecipeKind.REEXECUTE, slot, load=position)
            return None
        if name == "LOAD_ATTR" and not is_pair_load(instr):
            return self._global_attribute(slot, position)
        return None

    def _global_attribute(self, slot: int, position: int) -> Recipe | None:
        """`module.attribute` chains are captured: a resume gets the value plain Python read
        (a GOTO reads the chain again)."""
        source = self.flow.stacks[position][-1]
        if len(source[0]) != 1:
            return None
        inner = self._reload(slot, next(iter(source[0])), chain_base=True)
        if inner is None or not self._is_global_chain(inner):
            return None
        return self._captured(Recipe(RecipeKind.REEXECUTE, slot, load=position, inputs=(inner,)))

    @staticmethod
    def _captured(load: Recipe) -> Recipe:
        """`load` (a REEXECUTE recipe) as a CAPTURE: a resume pushes the value it gave."""
        name = f"{CAPTURE_PREFIX}{load.slot}"
        return Recipe(
            RecipeKind.CAPTURE,
            load.slot,
            width=load.width,
            name=name,
            load=load.load,
            inputs=load.inputs,
            source=load.load,
        )

    def _is_global_chain(self, recipe: Recipe) -> bool:
        name = self.flow.instrs[recipe.load].name
        if name == "LOAD_GLOBAL":
            return True
        return name == "LOAD_ATTR" and all(self._is_global_chain(r) for r in recipe.inputs)

    def _reexecute(self, slot: int, position: int, width: int) -> Recipe:
        load = self.flow.instrs[position]
        consumed = consumed_by(load)
        inputs: tuple[Recipe, ...] = ()
        if consumed:
            before = self.flow.stacks[position]
            inputs = self.recipes_for_inputs(before[len(before) - consumed :], slot)
        return Recipe(RecipeKind.REEXECUTE, slot, width=width, load=position, inputs=inputs)

    def recipes_for_inputs(self, items: tuple[Item, ...], first_slot: int) -> tuple[Recipe, ...]:
        # Inputs occupied the same absolute slots before the load replaced them.
        padded = (None,) * first_slot + items
        recipes = []
        slot = first_slot
        while slot < len(padded):
            recipe = self.recipe(slot, padded)
            recipes.append(recipe)
            slot += recipe.width
        return tuple(recipes)

    def _spill(self, slot: int, producers: frozenset[int]) -> Recipe:
        name = f"{SPILL_PREFIX}{slot}"
        for key in producers:
            position = producer_position(key)
            if self.flow.instrs[position].name == "FOR_ITER":
                raise Refused(Reason.UNSAVED_VALUE, "a loop value under the call cannot be saved")
            self._add_spill(
                Spill(after=position, distance=copy_distance(self.flow, key), name=name)
            )
        source = producer_position(next(iter(producers)))
        return Recipe(RecipeKind.SPILL, slot, name=name, source=source)

    def _add_spill(self, spill: Spill) -> None:
        self.spills.append(spill)
        self.hidden.add(spill.name)


def origin_of(flow: Flow, key: int) -> int | None:
    """Follow COPY/SWAP back to the instruction that first pushed the item `key`."""
    for _ in range(64):
        if key < 0:
            return key
        source = source_item(flow, key)
        if source is None:
            return key
        if len(source[0]) != 1:
            return None
        key = next(iter(source[0]))
    return None


def find_label(flow: Flow, position: int, globals_: dict) -> LabelInfo | None:
    """The ADDRESS keyword of the call at `position`, if its value is a string constant: a
    literal, or a global or class attribute `label_values` reads from `globals_`."""
    keywords = call_keywords(flow, position)
    if not keywords or "ADDRESS" not in keywords:
        return None
    index = keywords.index("ADDRESS")
    load = _address_producer(flow, position, keywords)
    value = None
    if load is not None and flow.instrs[load].name == "LOAD_CONST":
        value = flow.instrs[load].arg
    elif load is not None:
        key = address_key(flow, load)
        value = None if key is None else label_value(globals_, key)
    if not isinstance(value, str):
        return None
    return LabelInfo(label=value, keyword_index=index, keywords=keywords)


def _address_producer(flow: Flow, position: int, keywords: tuple[str, ...]) -> int | None:
    """Position of the one instruction that pushed the ADDRESS argument of the call at
    `position`, or None."""
    index = keywords.index("ADDRESS")
    offset = len(keywords) - index + (1 if KW_NAMES_ON_STACK else 0)
    producers = flow.stacks[position][-offset][0]
    if len(producers) != 1:
        return None
    return producer_position(next(iter(producers)))


def address_key(flow: Flow, load: int) -> str | None:
    """The global (``NAME``) or attribute of a global (``NAME.attr``) the instruction at
    `load` reads, or None for anything else."""
    instr = flow.instrs[load]
    if instr.name == "LOAD_GLOBAL" and not is_pair_load(instr):
        return instr.arg[1] if isinstance(instr.arg, tuple) else instr.arg
    if instr.name != "LOAD_ATTR" or is_pair_load(instr):
        return None
    owners = flow.stacks[load][-1][0]
    if len(owners) != 1:
        return None
    owner = flow.instrs[producer_position(next(iter(owners)))]
    if owner.name != "LOAD_GLOBAL" or is_pair_load(owner):
        return None
    name = owner.arg[1] if isinstance(owner.arg, tuple) else owner.arg
    attribute = instr.arg[1] if isinstance(instr.arg, tuple) else instr.arg
    return f"{name}.{attribute}"


def address_expressions(flow: Flow) -> dict[int, str | None]:
    """Call position -> the global or class attribute its ``ADDRESS=`` reads (None for any
    other expression), for every call passing ADDRESS that is not a literal."""
    found: dict[int, str | None] = {}
    for position, instr in enumerate(flow.instrs):
        if instr.name not in CALL_OPS or flow.stacks[position] is None:
            continue
        keywords = call_keywords(flow, position)
        if "ADDRESS" not in keywords:
            continue
        load = _address_producer(flow, position, keywords)
        if load is None or flow.instrs[load].name != "LOAD_CONST":
            found[position] = None if load is None else address_key(flow, load)
    return found


def call_keywords(flow: Flow, position: int) -> tuple[str, ...]:
    """Keyword names passed by the call at `position`."""
    instr = flow.instrs[position]
    if KW_NAMES_ON_STACK:
        if instr.name != "CALL_KW":
            return ()
        producers = flow.stacks[position][-1][0]
        load = flow.instrs[producer_position(next(iter(producers)))]
        return load.arg if load.name == "LOAD_CONST" else ()
    if instr.name != "CALL":
        return ()
    before = position - KW_NAMES_DISTANCE
    if before >= 0 and flow.instrs[before].name == "KW_NAMES":
        return flow.instrs[before].arg
    return ()


def _goto_start(flow: Flow, position: int, depth: int) -> tuple[int, Refusal | None]:
    """Where re-executing the call at `position` starts, or why it cannot be re-executed.

    The call expression may hold conditionals, loops and (3.12+, inlined comprehensions)
    try regions of its own, as long as its code is entered only at its start and left only
    through the call (exceptions aside: they propagate as in plain Python)."""
    start = position
    while start > 0 and flow.stacks[start] is not None and len(flow.stacks[start]) > depth:
        start -= 1
    stack = flow.stacks[start]
    if stack is None or len(stack) != depth:
        return -1, _unsuitable("the start of the call expression could not be found")
    if flow.regions[start] is not flow.regions[position]:
        return -1, _unsuitable("the call expression spans a try block boundary")
    for source, successors in enumerate(flow.normal_successors):
        inside = start <= source < position
        for successor in successors:
            if inside and not start < successor <= position:
                return -1, _unsuitable("a jump leaves the call expression")
            if not inside and start < successor < position:
                return -1, _unsuitable("a jump enters the call expression from outside")
    return start, None


#: Producers of the value-stack items an enclosing block keeps under its body: a for loop's
#: iterator, a with statement's exit, an except body's exception state, a comprehension's
#: saved variable. Every other item under a call is part of a partly evaluated expression.
_BLOCK_PRODUCERS = frozenset({"GET_ITER", "BEFORE_WITH", "PUSH_EXC_INFO", "LOAD_FAST_AND_CLEAR"})


def _statement_start(flow: Flow, position: int, depth: int) -> tuple[int, int]:
    """Where re-running the statement of the labelled call at `position` starts, and the
    stack depth there, when the call sits inside a partly evaluated expression
    (``int(reply(..., ADDRESS="age"))``); (-1, -1) when it does not, or when the statement
    cannot be re-run from its start."""
    stack = flow.stacks[position]
    block = 0
    while block < depth and _is_block_item(flow, stack[block]):
        block += 1
    if block == depth:
        return -1, -1
    start, refusal = _goto_start(flow, position, block)
    if refusal is not None or flow.stacks[start] != stack[:block]:
        return -1, -1
    return start, block


def _is_block_item(flow: Flow, item: Item) -> bool:
    for key in item[0]:
        origin = origin_of(flow, key)
        if origin is None or origin < 0:
            return False
        if flow.instrs[producer_position(origin)].name not in _BLOCK_PRODUCERS:
            return False
    return bool(item[0])


def _unsuitable(problem: str) -> Refusal:
    return Refusal(Reason.UNSUITABLE_TARGET, problem)

"""Which code objects belong to instrumented functions, and what the engine knows about them.

The registry is append-only and keyed by code identity: a code object, once instrumented, maps
to its `FunctionInfo` for the life of the process. Inserts happen under a lock; reads are plain
dict lookups (atomic under the GIL), so the pause walk never blocks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import CodeType, FrameType, FunctionType
from typing import TYPE_CHECKING, Any

from .._record import Record
from .records import CallSite

if TYPE_CHECKING:
    from .analysis import Flow


class Gate:
    """A switch that instrumented code reads inline (no call): a gated hook runs only while
    its gate is open. Opened and closed by count, so several holders can keep it open."""

    __slots__ = ("is_open", "_count")

    def __init__(self) -> None:
        #: read by the inserted code (an attribute of a slot, specialised on every Python)
        self.is_open = False
        self._count = 0

    def open(self) -> None:
        with _gate_lock:
            self._count += 1
            self.is_open = True

    def close(self) -> None:
        with _gate_lock:
            self._count = max(self._count - 1, 0)
            self.is_open = self._count > 0


_gate_lock = threading.Lock()


class FrameHooks(Record):
    """Callbacks run by an instrumented function's own bytecode.

    `enter` runs when a call starts (never on resume); `leave` runs when the frame is left for
    good: with None on return (called by the returning frame itself), with the exception when
    one propagates out (including a RETURNTO passing through; called on the frame's behalf by
    `runtime.catch`), but not when the frame pauses.

    With `divert`, `enter` returns a bool: True runs ``divert()`` instead of the function's
    body (and neither `leave`), and the call returns what it returns. `divert` finds the
    call's arguments in its caller's frame, ``sys._getframe(1).f_locals``.

    With `enter_gate`, `enter` is called only while that gate is open; with `leave_gate`, so
    is `leave` on return (an exception always reaches `leave`). `resumed` is called by each
    frame a resume rebuilds, outermost first, once its locals are back.
    """

    __slots__ = ("enter", "leave", "divert", "enter_gate", "leave_gate", "resumed")

    enter: Callable[[], bool | None]
    leave: Callable[[BaseException | None], None]
    divert: Callable[[], Any] | None
    enter_gate: Gate | None
    leave_gate: Gate | None
    resumed: Callable[[], None] | None

    def __init__(
        self,
        enter: Callable[[], bool | None],
        leave: Callable[[BaseException | None], None],
        divert: Callable[[], Any] | None = None,
        enter_gate: Gate | None = None,
        leave_gate: Gate | None = None,
        resumed: Callable[[], None] | None = None,
    ) -> None:
        self.enter = enter
        self.leave = leave
        self.divert = divert
        self.enter_gate = enter_gate
        self.leave_gate = leave_gate
        self.resumed = resumed


class Twin:
    """The resume entry of a function: same body, entered with a resume context."""

    __slots__ = ("code", "function", "site_map", "stub_offsets")

    code: CodeType
    function: FunctionType
    site_map: dict[int, int]
    #: f_lasti values of the resume stubs' calls (which continue the next frame's twin).
    stub_offsets: frozenset[int]

    def __init__(
        self,
        code: CodeType,
        function: FunctionType,
        site_map: dict[int, int],
        stub_offsets: frozenset[int],
    ) -> None:
        self.code = code
        self.function = function
        self.site_map = site_map
        self.stub_offsets = stub_offsets


class FunctionInfo:
    """An instrumented function: its analysis, call sites and generated code objects."""

    __slots__ = (
        "function",
        "module",
        "qualname",
        "fingerprint",
        "original_code",
        "_flow",
        "sites",
        "labels",
        "label_sites",
        "hooks",
        "restore_names",
        "user_locals",
        "has_cells",
        "routes_globals",
        "normal_code",
        "site_map",
        "_layout",
        "analyse",
        "twin",
        "twin_lock",
        "safety_cache",
        "capture_plans",
        "variants",
        "adopted",
    )

    function: FunctionType
    module: str
    qualname: str
    fingerprint: str
    original_code: CodeType
    sites: list[CallSite]
    #: Site index of each ADDRESS label (its first copy, see `label_sites`).
    labels: dict[str, int]
    #: Site indexes of each ADDRESS label: the compiler may copy a labelled call (a
    #: ``finally`` body is compiled once per way into it); the copies differ in what is
    #: under them on the value stack.
    label_sites: dict[str, tuple[int, ...]]
    hooks: FrameHooks | None
    #: Locals restored on resume, in the twin's order (user locals, then hidden ones).
    restore_names: tuple[str, ...]
    #: User locals whose values a snapshot carries (cell contents travel in `__ag_cells`).
    user_locals: frozenset[str]
    has_cells: bool
    #: Whether the rewrite sends some of its global names to routes (routing.py).
    routes_globals: bool
    normal_code: CodeType
    #: f_lasti of the normal code while a call runs -> site index.
    site_map: dict[int, int]
    #: Gives the analysis and the rewritten layout (`flow`, `layout`) of a function whose
    #: code came from the code cache, when first needed; None once they are known.
    analyse: Callable[[], tuple[Flow, Any]] | None
    twin: Twin | None
    twin_lock: threading.RLock
    #: (start positions, unbound locals) -> locals an unchecked load would read unbound.
    safety_cache: dict
    #: Site index -> what a snapshot saves of a frame paused there (see snapshot.py).
    capture_plans: dict
    #: Gates compiled as closed -> the normal code without their checks (see variants.py).
    variants: dict
    #: An undecorated helper a pause met, analysed where it runs its own code (helpers.py):
    #: its normal code is its original code, and GOTO/RETURNTO do not see its frames.
    adopted: bool

    def __init__(
        self,
        function: FunctionType,
        module: str,
        qualname: str,
        fingerprint: str,
        original_code: CodeType,
        flow: Flow | None,
        sites: list[CallSite],
        labels: dict[str, int],
        label_sites: dict[str, tuple[int, ...]],
        hooks: FrameHooks | None,
        restore_names: tuple[str, ...],
        user_locals: frozenset[str],
        has_cells: bool,
        routes_globals: bool,
        normal_code: CodeType,
        site_map: dict[int, int],
        layout: Any,
        analyse: Callable[[], tuple[Flow, Any]] | None = None,
        twin: Twin | None = None,
        twin_lock: threading.RLock | None = None,
        safety_cache: dict | None = None,
        capture_plans: dict | None = None,
        variants: dict | None = None,
        adopted: bool = False,
    ) -> None:
        self.function = function
        self.module = module
        self.qualname = qualname
        self.fingerprint = fingerprint
        self.original_code = original_code
        self._flow = flow
        self.sites = sites
        self.labels = labels
        self.label_sites = label_sites
        self.hooks = hooks
        self.restore_names = restore_names
        self.user_locals = user_locals
        self.has_cells = has_cells
        self.routes_globals = routes_globals
        self.normal_code = normal_code
        self.site_map = site_map
        self._layout = layout
        self.analyse = analyse
        self.twin = twin
        # reentrant: building the twin may first need the analysis (`flow`, `layout`)
        self.twin_lock = threading.RLock() if twin_lock is None else twin_lock
        self.safety_cache = {} if safety_cache is None else safety_cache
        self.capture_plans = {} if capture_plans is None else capture_plans
        self.variants = {} if variants is None else variants
        self.adopted = adopted

    @property
    def flow(self) -> Flow:
        """The analysis of the function's code (see analysis.py)."""
        if self._flow is None:
            self._analysed()
        return self._flow

    @property
    def layout(self) -> Any:
        """Everything needed to build the twin (the rewritten layout, see instrument.py)."""
        if self._layout is None:
            self._analysed()
        return self._layout

    def _analysed(self) -> None:
        with self.twin_lock:
            if self.analyse is not None:
                self._flow, self._layout = self.analyse()
                self.analyse = None

    @property
    def filename(self) -> str:
        return self.original_code.co_filename

    def site_at(self, code: CodeType, lasti: int) -> CallSite | None:
        """The call site a frame running `code` is paused in, from its f_lasti (None for
        the original code of a decorated function, which has no call sites: see
        `variants.uninstrumented`; an adopted helper's original code has them)."""
        if code is self.original_code and code is not self.normal_code:
            return None
        site_map = self.twin.site_map if self.is_twin(code) else self.site_map
        index = site_map.get(lasti)
        return None if index is None else self.sites[index]

    def is_resume_stub(self, code: CodeType, lasti: int) -> bool:
        """Whether a frame running `code` is in a resume stub's call (to the next twin)."""
        return self.is_twin(code) and lasti in self.twin.stub_offsets

    def is_twin(self, code: CodeType) -> bool:
        """Whether `code` is the resume twin's (else the normal code or a variant of it)."""
        return self.twin is not None and code is self.twin.code


# Keyed by id(code): hashing a code object hashes its whole bytecode, which made every
# lookup on the pause path cost microseconds. Ids are safe because every registered code
# object stays referenced here (the values keep it alive) and the tables only grow.
_lock = threading.Lock()
_by_code: dict[int, FunctionInfo] = {}
_driver_codes: dict[int, CodeType] = {}
_transparent_codes: dict[int, CodeType] = {}
#: Names of the modules that define instrumented functions, in registration order.
_program_modules: tuple[str, ...] = ()


def register_variant(info: FunctionInfo, gates: frozenset[Gate], code: CodeType) -> None:
    with _lock:
        info.variants[gates] = code
        _by_code[id(code)] = info


def register_original(info: FunctionInfo) -> None:
    """Let `lookup` find `info` by its original code (run by some calls, see variants.py)."""
    with _lock:
        _by_code[id(info.original_code)] = info


def register(info: FunctionInfo) -> None:
    global _program_modules
    with _lock:
        _by_code[id(info.normal_code)] = info
        if info.module not in _program_modules:
            _program_modules = (*_program_modules, info.module)


def register_twin(info: FunctionInfo) -> None:
    with _lock:
        _by_code[id(info.twin.code)] = info


def lookup(code: CodeType) -> FunctionInfo | None:
    """The instrumented function running `code` (its normal code or its twin)."""
    return _by_code.get(id(code))


def runs_hooked_function(code: CodeType) -> bool:
    """Whether `code` is that of a function instrumented with hooks (a decorated function;
    not a node's function or an adopted helper, which have none)."""
    info = _by_code.get(id(code))
    return info is not None and info.hooks is not None


def program_modules() -> tuple[str, ...]:
    """The modules that define instrumented functions: the program's own code."""
    return _program_modules


def registered() -> list[FunctionInfo]:
    """Every instrumented function, once each."""
    return list({id(info): info for info in _by_code.values()}.values())


def mark_driver_code(function: Callable[..., Any]) -> None:
    """Declare the engine function that runs a program: a pause snapshots frames above it."""
    with _lock:
        _driver_codes[id(function.__code__)] = function.__code__


def is_driver_code(code: CodeType) -> bool:
    return id(code) in _driver_codes


def hooked_frames(start: FrameType | None, stop: FrameType | None) -> list[FrameType] | None:
    """The frames of functions instrumented with hooks from `start` down to `stop` or the
    engine's driver (neither included), outermost first; None when the walk reaches the
    bottom of the stack without meeting either (no program runs there)."""
    found = []
    frame = start
    while frame is not stop or frame is None:  # a None `stop` is met at the bottom: no driver
        if frame is None:
            return None
        code = frame.f_code
        if is_driver_code(code):
            break
        info = _by_code.get(id(code))
        if info is not None and info.hooks is not None:
            found.append(frame)
        frame = frame.f_back
    found.reverse()
    return found


def mark_transparent(function: Callable[..., Any]) -> None:
    """Declare a wrapper that returns what its inner call returns, untouched (a decorator's
    wrapper). A pause may pass through it: on resume the wrapper is not rebuilt and the
    inner function's result goes straight to the wrapper's caller."""
    with _lock:
        _transparent_codes[id(function.__code__)] = function.__code__


def is_transparent_code(code: CodeType) -> bool:
    return id(code) in _transparent_codes

"""Which code objects belong to instrumented functions, and what the engine knows about them.

The registry is append-only and keyed by code identity: a code object, once instrumented, maps
to its `FunctionInfo` for the life of the process. Inserts happen under a lock; reads are plain
dict lookups (atomic under the GIL), so the pause walk never blocks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import CodeType, FunctionType
from typing import Any

from .analysis import Flow
from .records import CallSite


@dataclass(frozen=True, slots=True)
class FrameHooks:
    """Callbacks run by an instrumented function's own bytecode.

    `enter` runs when a call starts (never on resume); `leave` runs when the frame is left for
    good: with None on return, with the exception when one propagates out (including a
    RETURNTO passing through), but not when the frame pauses.

    With `divert`, `enter` returns a bool: True runs ``divert()`` instead of the function's
    body (and neither `leave`), and the call returns what it returns. `divert` finds the
    call's arguments in its caller's frame, ``sys._getframe(1).f_locals``.
    """

    enter: Callable[[], bool | None]
    leave: Callable[[BaseException | None], None]
    divert: Callable[[], Any] | None = None


@dataclass(slots=True)
class Twin:
    """The resume entry of a function: same body, entered with a resume context."""

    code: CodeType
    function: FunctionType
    site_map: dict[int, int]
    #: f_lasti values of the resume stubs' calls (which continue the next frame's twin).
    stub_offsets: frozenset[int]


@dataclass(eq=False, slots=True)
class FunctionInfo:
    """An instrumented function: its analysis, call sites and generated code objects."""

    function: FunctionType
    module: str
    qualname: str
    fingerprint: str
    original_code: CodeType
    flow: Flow
    sites: list[CallSite]
    #: Site index of each ADDRESS label.
    labels: dict[str, int]
    hooks: FrameHooks | None
    #: Locals restored on resume, in the twin's order (user locals, then hidden ones).
    restore_names: tuple[str, ...]
    #: User locals whose values a snapshot carries (cell contents travel in `__ag_cells`).
    user_locals: frozenset[str]
    has_cells: bool
    normal_code: CodeType
    #: f_lasti of the normal code while a call runs -> site index.
    site_map: dict[int, int]
    #: Everything needed to build the twin lazily (the rewritten layout).
    layout: Any
    twin: Twin | None = None
    twin_lock: threading.Lock = field(default_factory=threading.Lock)
    #: (start positions, unbound locals) -> locals an unchecked load would read unbound.
    safety_cache: dict = field(default_factory=dict)
    #: Site index -> what a snapshot saves of a frame paused there (see snapshot.py).
    capture_plans: dict = field(default_factory=dict)

    @property
    def filename(self) -> str:
        return self.original_code.co_filename

    def site_at(self, code: CodeType, lasti: int) -> CallSite | None:
        """The call site a frame running `code` is paused in, from its f_lasti."""
        site_map = self.site_map if code is self.normal_code else self.twin.site_map
        index = site_map.get(lasti)
        return None if index is None else self.sites[index]

    def is_resume_stub(self, code: CodeType, lasti: int) -> bool:
        """Whether a frame running `code` is in a resume stub's call (to the next twin)."""
        return code is not self.normal_code and lasti in self.twin.stub_offsets


# Keyed by id(code): hashing a code object hashes its whole bytecode, which made every
# lookup on the pause path cost microseconds. Ids are safe because every registered code
# object stays referenced here (the values keep it alive) and the tables only grow.
_lock = threading.Lock()
_by_code: dict[int, FunctionInfo] = {}
_driver_codes: dict[int, CodeType] = {}
_transparent_codes: dict[int, CodeType] = {}
#: Names of the modules that define instrumented functions, in registration order.
_program_modules: tuple[str, ...] = ()


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


def mark_transparent(function: Callable[..., Any]) -> None:
    """Declare a wrapper that returns what its inner call returns, untouched (a decorator's
    wrapper). A pause may pass through it: on resume the wrapper is not rebuilt and the
    inner function's result goes straight to the wrapper's caller."""
    with _lock:
        _transparent_codes[id(function.__code__)] = function.__code__


def is_transparent_code(code: CodeType) -> bool:
    return id(code) in _transparent_codes

"""Code identity: the fingerprint that ties a snapshot to the code that made it, and finding a
function again by module and qualified name in a fresh process.

A paused frame is known by its code object: the registry maps each instrumented code to one
function, whose closure, globals and name its resume twin is built with. So every function
object the engine instruments runs a code object of its own, even when several were made
from one ``def`` (a decorator's wrapper made once per function it wraps, a factory's
functions): the second one gets a copy of the code (`own_registration`), and a frame of it
resumes with its own cells, never the first one's. A frame is saved under its function's
module and qualified name, so a pause checks that they find that function again
(`found_again`): a decorator's wrapper renamed after the function it wraps but bound
under no name of its own (made at run time, or two wrappers given one name) would resume as
another function, and is refused at the pause instead.

The fingerprint hashes what decides the frame layout: bytecode, names, locals, cells,
constants (recursively, nested code by its own fingerprint), argument shape and the engine's
layout version. Line numbers are left out, so moving a function up or down a file keeps its
snapshots valid.
"""

from __future__ import annotations

import importlib
import operator
import os
import sys
from types import CodeType, FrameType, FunctionType
from typing import Any

from .._sha256 import sha256
from .callees import running_function
from .errors import ContinuationError, Reason, SnapshotMismatchError
from .memo import remember
from .registry import FunctionInfo, lookup

#: Bumped whenever the instrumented layout changes (hidden locals, stubs, site numbering).
LAYOUT_VERSION = 1


def fingerprint(code: CodeType, routed: list[str] | None = None) -> str:
    """A stable hex digest of `code`'s layout-relevant parts, and of the global names its
    instrumented form routes elsewhere (routing changes the call sites)."""
    digest = sha256()
    digest.update(f"layout:{LAYOUT_VERSION}".encode())
    if routed:
        digest.update(("routed:" + ",".join(routed)).encode())
    _feed_code(digest, code)
    return digest.hexdigest()[:32]


#: id(code) -> (code, `code_fingerprint`); the code is kept so its id stays its own.
_code_fingerprints: dict[int, tuple[CodeType, str]] = {}


def code_fingerprint(code: CodeType) -> str:
    """The fingerprint of `code` as a snapshot names it (remembered by code identity): for
    any code of an instrumented function or adopted helper (its normal code, a variant, its
    twin), the function's -- instrumented code holds engine objects among its constants, whose
    reprs differ from one process to the next."""
    known = _code_fingerprints.get(id(code))
    if known is None:
        info = lookup(code)
        known = (code, info.fingerprint if info is not None else fingerprint(code))
        remember(_code_fingerprints, id(code), known, 1024)
    return known[1]


def _feed_code(digest: Any, code: CodeType) -> None:
    digest.update(code.co_code)
    for part in (
        code.co_names,
        code.co_varnames,
        code.co_cellvars,
        code.co_freevars,
        (code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount, code.co_flags),
    ):
        digest.update(repr(part).encode())
    for const in code.co_consts:
        digest.update(_const_key(const).encode())


#: the kinds of constant a compiler writes into code, whose repr is the same in every process
_LITERALS = (str, bytes, int, float, complex, bool, type(None), type(Ellipsis))


def _const_key(const: Any) -> str:
    if isinstance(const, CodeType):
        return "code:" + fingerprint(const)
    if isinstance(const, frozenset):
        # Set iteration order depends on PYTHONHASHSEED; sort the member keys.
        return "frozenset:" + ",".join(sorted(_const_key(item) for item in const))
    if isinstance(const, tuple):
        return "tuple:(" + ",".join(_const_key(item) for item in const) + ")"
    if isinstance(const, _LITERALS):
        return f"{type(const).__name__}:{const!r}"
    # an object the engine put there (routing puts its callbacks in the code it rewrites):
    # its repr names its address, which differs in every process, so it counts by its kind
    named = getattr(const, "__func__", const)
    kind = type(const)
    return f"object:{kind.__module__}.{kind.__qualname__}:{getattr(named, '__qualname__', '')}"


def own_registration(function: FunctionType) -> FunctionInfo | None:
    """The registration of `function` if it is instrumented already, else None; when its code
    is registered for another function object, `function` is first given a copy of that
    function's original code, to be instrumented as its own."""
    known = lookup(function.__code__)
    if known is None or known.function is function:
        return known
    function.__code__ = known.original_code.replace()
    return None


#: The directory of the library this engine belongs to.
_LIBRARY = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def is_library_code(code: CodeType) -> bool:
    """Whether `code` is the library's own (the package this engine belongs to), not the
    program's."""
    return code.co_filename.startswith(_LIBRARY)


def find_function(module: str, qualname: str) -> FunctionType:
    """Import `module` and walk `qualname` to the plain function it names."""
    try:
        target: Any = sys.modules.get(module) or importlib.import_module(module)
    except ImportError as exc:
        raise SnapshotMismatchError(
            f"cannot import module {module!r} of {qualname}: {exc}",
            qualname=qualname,
            module=module,
            reason=Reason.MODULE_NOT_IMPORTABLE,
        ) from exc
    for part in qualname.split("."):
        namespace = getattr(target, "__dict__", {})
        if part in namespace:
            target = namespace[part]
        elif hasattr(target, part):
            target = getattr(target, part)
        else:
            raise SnapshotMismatchError(
                f"{module}.{qualname} no longer exists: {part!r} not found",
                qualname=qualname,
                module=module,
                reason=Reason.FUNCTION_NOT_FOUND,
            )
    return _unwrap(target, module, qualname)


def _unwrap(target: Any, module: str, qualname: str) -> FunctionType:
    if isinstance(target, (staticmethod, classmethod)):
        target = target.__func__
    target = getattr(target, "__func__", target)  # bound methods
    target = _through_wrapper_objects(target)
    if not isinstance(target, FunctionType):
        raise SnapshotMismatchError(
            f"{module}.{qualname} is a {type(target).__name__}, not a function",
            qualname=qualname,
            module=module,
            reason=Reason.FUNCTION_NOT_FOUND,
        )
    return target


def _through_wrapper_objects(target: Any) -> Any:
    """The function under decorators that are objects, not functions (a class whose instances
    wrap the function with ``functools.update_wrapper``): followed through ``__wrapped__``."""
    seen: set[int] = set()
    while not isinstance(target, FunctionType) and id(target) not in seen:
        seen.add(id(target))
        inner = getattr(target, "__wrapped__", None)
        if inner is None:
            break
        target = getattr(inner, "__func__", inner)
    return target


def wrapped_functions(function: FunctionType) -> list[FunctionType]:
    """`function` and the functions it wraps (``__wrapped__``, its closure's cells), nearest
    first (a bounded search)."""
    found: list[FunctionType] = []
    candidates: list[Any] = [function]
    while candidates and len(found) < 32:
        candidate = candidates.pop(0)
        if not isinstance(candidate, FunctionType) or any(candidate is f for f in found):
            continue
        found.append(candidate)
        candidates.append(getattr(candidate, "__wrapped__", None))
        for cell in candidate.__closure__ or ():
            try:
                candidates.append(cell.cell_contents)
            except ValueError:  # an empty cell
                pass
    return found


#: The value saved with a frame whose function is not the nearest of those its module and
#: qualified name lead to with its code (a decorator applied twice, ``@logged @logged``: both
#: wrappers have the wrapped function's name and the same code): its position among them,
#: 1 for the second. A resume takes the function at that position.
POSITION = "__ag_position"


def named_info(
    found: FunctionType, qualname: str, fingerprint: str, position: int = 0
) -> FunctionInfo | None:
    """The instrumented function a frame saved as `qualname` with `fingerprint` (and
    `position`) resumes in, among `found` (what its module and qualified name find) and the
    functions it wraps, nearest first: of those with that name and fingerprint (a
    ``functools.wraps`` wrapper has the name of the function it wraps: the fingerprint tells
    them apart), the one at `position`; None if there is none."""
    seen: list[FunctionInfo] = []
    for function in wrapped_functions(found):
        info = lookup(function.__code__)
        if info is None or info.qualname != qualname or info.fingerprint != fingerprint:
            continue
        if not any(info is other for other in seen):
            if len(seen) == position:
                return info
            seen.append(info)
    return None


def positioned(info: FunctionInfo, values: dict[str, Any]) -> FunctionInfo:
    """The function a frame's saved `values` select among those with `info`'s name and
    fingerprint (`POSITION`), `info` itself when they select none; raises
    SnapshotMismatchError when that function is gone."""
    position = values.get(POSITION)
    if position is None:
        return info
    found = find_function(info.module, info.qualname)
    chosen = named_info(found, info.qualname, info.fingerprint, position)
    if type(position) is not int or chosen is None:
        raise SnapshotMismatchError(
            f"{info.module}.{info.qualname} no longer leads to the function the snapshot "
            f"paused in (the {_ordinal(position)} of that name and code, a decorator applied "
            "more than once)",
            qualname=info.qualname,
            module=info.module,
            reason=Reason.FUNCTION_NOT_FOUND,
        )
    return chosen


def _ordinal(position: Any) -> str:
    return f"number {position + 1}" if type(position) is int else repr(position)


#: id(info) -> (info, the object its module bound under the first part of its qualified name
#: when checked, its position (`POSITION`) among the functions a resume finds, or None when
#: it is not among them): checked again when that binding changes.
_found_again: dict[int, tuple[FunctionInfo, Any, int | None]] = {}


def found_again(info: FunctionInfo, frame: FrameType) -> int:
    """The position (`POSITION`) a resume finds the function running `frame` (`info`'s)
    at, by the module and qualified name a snapshot saves the frame under; raises
    ContinuationError (NOT_FOUND_AGAIN) when it does not find it there, or when `frame` runs
    another function object made from its code, with other globals or closure cells."""
    function = info.function
    if (frame.f_globals is not function.__globals__ or frame.f_code.co_freevars) and (
        not _runs_its_function(info, frame)
    ):
        raise _made_from_code(info, frame)
    namespace = getattr(sys.modules.get(info.module), "__dict__", {})
    root = namespace.get(info.qualname.partition(".")[0])
    known = _found_again.get(id(info))
    if known is None or known[0] is not info or known[1] is not root:
        known = (info, root, _position(info))
        remember(_found_again, id(info), known, 512)
    if known[2] is None:
        raise _not_found_again(info, frame)
    return known[2]


def _runs_its_function(info: FunctionInfo, frame: FrameType) -> bool:
    """Whether `frame` runs with `info`'s globals and closure cells, as its resume will (a
    function made from its code, ``types.FunctionType(f.__code__, other_globals, ...)``,
    runs it with its own; defaults no longer matter once the call has begun)."""
    function = info.function
    if frame.f_globals is not function.__globals__:
        return False
    if not frame.f_code.co_freevars:
        return True
    running = running_function(frame)
    if running is None or running is function:
        return True
    cells, own = running.__closure__ or (), function.__closure__ or ()
    return len(cells) == len(own) and all(map(operator.is_, cells, own))


def _made_from_code(info: FunctionInfo, frame: FrameType) -> ContinuationError:
    code = frame.f_code
    return ContinuationError(
        f"cannot pause {info.qualname} ({code.co_filename}:{frame.f_lineno}): the paused call "
        f"runs a function made from the code of {info.module}.{info.qualname} with other "
        "globals or closure cells (types.FunctionType(f.__code__, ...)); a resume would run "
        f"{info.qualname} itself, with its own; call {info.qualname}, or define and decorate "
        "the function you need at module or class level",
        qualname=info.qualname,
        filename=code.co_filename,
        lineno=frame.f_lineno,
        reason=Reason.NOT_FOUND_AGAIN,
    )


def _position(info: FunctionInfo) -> int | None:
    try:
        found = find_function(info.module, info.qualname)
    except SnapshotMismatchError:
        return None
    position = 0
    while True:
        other = named_info(found, info.qualname, info.fingerprint, position)
        if other is None or other is info:
            return None if other is None else position
        position += 1


def _not_found_again(info: FunctionInfo, frame: FrameType) -> ContinuationError:
    code = frame.f_code
    name = f"{info.module}.{info.qualname}"
    return ContinuationError(
        f"cannot pause {info.qualname} (the function {code.co_qualname}, "
        f"{code.co_filename}:{frame.f_lineno}): a resume finds a paused function again by its "
        f"module and qualified name, and {name} leads to another function or to none (a "
        "decorator's wrapper takes the name of the function it wraps); bind each decorated "
        "function at module or class level under its own qualified name, and decorate no "
        "function made while the program runs",
        qualname=info.qualname,
        filename=code.co_filename,
        lineno=frame.f_lineno,
        reason=Reason.NOT_FOUND_AGAIN,
    )

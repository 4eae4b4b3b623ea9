"""Code identity: the fingerprint that ties a snapshot to the code that made it, and finding a
function again by module and qualified name in a fresh process.

The fingerprint hashes what decides the frame layout: bytecode, names, locals, cells,
constants (recursively, nested code by its own fingerprint), argument shape and the engine's
layout version. Line numbers are left out, so moving a function up or down a file keeps its
snapshots valid.
"""

from __future__ import annotations

import importlib
import os
import sys
from types import CodeType, FunctionType
from typing import Any

from .._sha256 import sha256
from .errors import Reason, SnapshotMismatchError

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


def _const_key(const: Any) -> str:
    if isinstance(const, CodeType):
        return "code:" + fingerprint(const)
    if isinstance(const, frozenset):
        # Set iteration order depends on PYTHONHASHSEED; sort the member keys.
        return "frozenset:" + ",".join(sorted(_const_key(item) for item in const))
    if isinstance(const, tuple):
        return "tuple:(" + ",".join(_const_key(item) for item in const) + ")"
    return f"{type(const).__name__}:{const!r}"


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

"""Cells, functions and code objects pickle cannot name, saved so the C pickler can handle them.

* A **cell** is saved with its contents (an empty cell stays empty). A cell shared by a frame
  and the functions it made stays shared (pickle's memo), so ``nonlocal`` keeps working after a
  resume (engine notes, pitfall P10). Its contents are set after the cell exists, so a
  recursive nested function (whose own cell holds it) is no cycle for pickle.
* A **function** pickle can name -- its module and qualified name lead to it -- is left to
  pickle. Any other (a nested function, a lambda, a function a decorator replaced) is rebuilt
  from its code, its module's namespace (by module name), its closure, defaults and
  attributes -- except one the program handed to a module (a callback in a module-level list)
  or found at a module-level place, which comes back as itself, with its cells, in the process
  that paused, and elsewhere as the module's function when its place runs the same code
  (registered_closures.py).
* Its **code** is saved as where the code is: the module and qualified name of the function
  whose code holds it (``outer.<locals>.inner``), with its fingerprint and first line; so is
  the code of a generator not started yet (generators.py). A resume
  runs that code as loaded then, and refuses if it changed. Code that cannot be found that way
  (a module-level lambda bound to no name, code compiled at run time) is saved as marshal
  bytes, which only the same Python minor version can read.

The functions the saved data names (`make_cell`, `fill_cell`, `function_from`, `set_function_state`,
`code_at`, `code_from_bytes`) are part of the snapshot format: keep their module and names.
"""

from __future__ import annotations

import importlib
import marshal
import sys
import types
from collections.abc import Iterator
from typing import Any

from . import module_objects, registered_closures
from .errors import SnapshotMismatchError
from .identity import code_fingerprint
from .memo import remember
from .registry import lookup, program_modules
from .resources import ResourceRefused
from .versions import PY_MINOR

#: Bounded caches keyed by code identity; each value keeps its code object alive, so an id is
#: never reused while cached.
_CACHE_SIZE = 1024
#: id(code) -> (code, where it is as `code_at` arguments, or None if it cannot be found).
_locations: dict[int, tuple[types.CodeType, tuple | None]] = {}
_found: dict[tuple, types.CodeType] = {}


# -- cells -----------------------------------------------------------------------------------


def reduce_cell(cell: types.CellType) -> tuple:
    try:
        state = (module_objects.referenced(cell.cell_contents),)
    except ValueError:
        state = None
    registered = registered_closures.reduce_cell(cell, state)
    if registered is not None:  # a cell of a function the program handed to a module
        return registered
    if state is None:
        return (make_cell, ())
    return (make_cell, (), state, None, None, fill_cell)


def make_cell() -> types.CellType:
    """A new empty cell."""
    return types.CellType()


def fill_cell(cell: types.CellType, state: tuple) -> None:
    cell.cell_contents = state[0]


# -- functions -------------------------------------------------------------------------------


def reduce_function(fn: types.FunctionType) -> Any:
    """How to save `fn`: NotImplemented (pickle names it) or a rebuild from its parts."""
    if module_objects.is_named(fn):
        return NotImplemented
    _locate(fn)
    state = _function_state(fn)
    args = (fn.__code__, _globals_reference(fn), fn.__name__, fn.__closure__)
    registered = registered_closures.reduce_function(
        fn, (function_from, *args), (set_function_state, state or None)
    )
    if registered is not None:  # a function the program handed to a module
        return registered
    return (function_from, args, state or None, None, None, set_function_state)


def _function_state(fn: types.FunctionType) -> dict[str, Any]:
    state: dict[str, Any] = {}
    if fn.__defaults__ is not None:
        state["__defaults__"] = module_objects.referenced_items(fn.__defaults__)
    if fn.__kwdefaults__:
        state["__kwdefaults__"] = module_objects.referenced_values(fn.__kwdefaults__)
    if fn.__dict__:
        state["__dict__"] = module_objects.referenced_values(fn.__dict__)
    if fn.__qualname__ != fn.__code__.co_qualname:
        state["__qualname__"] = fn.__qualname__
    if fn.__module__ != fn.__globals__.get("__name__"):
        state["__module__"] = fn.__module__
    annotations = fn.__dict__.get("__annotations__") or getattr(fn, "__annotations__", None)
    if annotations:
        state["__annotations__"] = annotations
    type_params = getattr(fn, "__type_params__", ())
    if type_params:
        state["__type_params__"] = type_params
    return state


def _globals_reference(fn: types.FunctionType) -> str | dict:
    """The module whose namespace `fn` runs in, by name; the namespace itself if no module
    owns it (code run with exec)."""
    name = fn.__globals__.get("__name__")
    module = sys.modules.get(name) if isinstance(name, str) else None
    if module is not None and vars(module) is fn.__globals__:
        return name
    return fn.__globals__


def function_from(
    code: types.CodeType, namespace: str | dict, name: str, closure: tuple | None
) -> types.FunctionType:
    """A function running `code` in `namespace` (a module name or a dict)."""
    if isinstance(namespace, str):
        namespace = vars(sys.modules.get(namespace) or importlib.import_module(namespace))
    return types.FunctionType(code, namespace, name, None, closure)


def set_function_state(fn: types.FunctionType, state: dict[str, Any]) -> None:
    for name, value in state.items():
        if name == "__dict__":
            fn.__dict__.update(value)
        else:
            setattr(fn, name, value)


def reduce_method(method: types.MethodType) -> tuple:
    return (types.MethodType, (method.__func__, module_objects.referenced(method.__self__)))


def reduce_super(bound: super) -> tuple:
    """A ``super(cls, obj)`` object (3.11 keeps one on the value stack while it looks up the
    method of ``super().name(...)``) as the call that made it."""
    if bound.__self__ is None:
        return (super, (bound.__thisclass__,))
    return (super, (bound.__thisclass__, bound.__self__))


# -- code objects ----------------------------------------------------------------------------


def reduce_code(code: types.CodeType) -> tuple:
    """Where `code` is (as found when a function running it was saved, or, for the code of
    an instrumented function held by itself -- ``inspect.currentframe().f_code`` -- that
    function's place), else its bytes; ResourceRefused when it has no place and its
    constants cannot be saved."""
    located = _locations.get(id(code))
    if located is None:  # held alone (a finished generator's): looked for in its file's module
        module = _program_module_of(code.co_filename)
        if module is not None:
            locate_code(code, module)
            located = _locations.get(id(code))
    if located is not None and located[1] is not None:
        return (code_at, located[1])
    info = lookup(code)
    if info is not None:  # any of its codes loads as its normal code (see `_canonical`)
        return (code_at, (info.module, info.qualname, info.fingerprint, code.co_firstlineno))
    try:
        return (code_from_bytes, (PY_MINOR, marshal.dumps(code)))
    except ValueError:
        raise ResourceRefused(
            code,
            f"the code object of {code.co_qualname} belongs to no function of the program, and "
            "its constants cannot be saved",
        ) from None


def _program_module_of(filename: str) -> str | None:
    """The program module (one with instrumented functions) loaded from `filename`."""
    for name in program_modules():
        if getattr(sys.modules.get(name), "__file__", None) == filename:
            return name
    return None


def _locate(fn: types.FunctionType) -> None:
    """Find where `fn`'s code is, once per code object, for `reduce_code`."""
    locate_code(fn.__code__, fn.__globals__.get("__name__"))


def locate_code(code: types.CodeType, module: Any) -> None:
    """Find where `code`, run in `module`'s namespace, is, once per code object, for
    `reduce_code`: the code of a function, or of a generator (a generator expression's code
    that reads a routed global holds the routes' callbacks, so it has no marshal bytes)."""
    if id(code) in _locations:
        return
    canonical = _canonical(code)
    where = (module, code.co_qualname, code_fingerprint(canonical), code.co_firstlineno)
    located = isinstance(module, str) and _found_again(canonical, _search(*where))
    remember(_locations, id(code), (code, where if located else None), _CACHE_SIZE)


def _found_again(code: types.CodeType, found: types.CodeType | None) -> bool:
    """Whether the code found at `code`'s place is `code` or, for the code of a nested
    function, one that runs alike: same fingerprint (the search's) and first line. A function's
    normal code and its resume twin each hold their own copy of a nested function's code when
    both come from the code cache; the one found is as good as the one running."""
    if found is code:
        return True
    return (
        found is not None and lookup(code) is None and found.co_firstlineno == code.co_firstlineno
    )


def _canonical(code: types.CodeType) -> types.CodeType:
    """The normal code of an instrumented function for any variant of it (the dialog layer
    switches a function between them as turns start and end, see variants.py), else `code`:
    a saved function runs the code found at its place whichever variant is current there."""
    info = lookup(code)
    return info.normal_code if info is not None and not info.is_twin(code) else code


def code_at(module: str, qualname: str, digest: str, firstlineno: int) -> types.CodeType:
    """The code object `qualname` names in `module`, as loaded now; refuses changed code."""
    code = _search(module, qualname, digest, firstlineno)
    if code is None:
        raise SnapshotMismatchError(
            f"the snapshot holds a function running {module}.{qualname} (line {firstlineno}), "
            "whose code changed or no longer exists",
            qualname=qualname,
            reason="code changed",
        )
    return code


def code_from_bytes(python: tuple[int, int], data: bytes) -> types.CodeType:
    if tuple(python) != PY_MINOR:
        raise SnapshotMismatchError(
            f"the snapshot holds code compiled by Python {python[0]}.{python[1]}, which Python "
            f"{PY_MINOR[0]}.{PY_MINOR[1]} cannot run",
            reason="code from another Python",
        )
    return marshal.loads(data)


def _search(module: str, qualname: str, digest: str, firstlineno: int) -> types.CodeType | None:
    """The code object named `qualname` inside `module`'s functions with fingerprint
    `digest`, preferring one that starts at `firstlineno`."""
    key = (module, qualname, digest, firstlineno)
    found = _found.get(key)
    if found is not None:
        return found
    matches = [
        code
        for code in map(_canonical, _codes_under(module, qualname.split(".<locals>", 1)[0]))
        if code.co_qualname == qualname and code_fingerprint(code) == digest
    ]
    matches.sort(key=lambda code: code.co_firstlineno != firstlineno)
    if matches:
        remember(_found, key, matches[0], _CACHE_SIZE)
        return matches[0]
    return None


def _codes_under(module: str, root: str) -> Iterator[types.CodeType]:
    """Every code object reachable from the function `root` names in `module` (following
    decorators' ``__wrapped__`` and the functions a wrapper's closure holds)."""
    first, *rest = root.split(".")
    target = vars(sys.modules[module]).get(first) if module in sys.modules else None
    for part in rest:
        target = getattr(target, part, None)
    pending = [target]
    seen: set[int] = set()
    while pending:
        item = pending.pop()
        item = getattr(item, "__func__", item)
        if id(item) in seen:
            continue
        seen.add(id(item))
        if not isinstance(item, types.FunctionType):
            # a decorator that is an object (functools.update_wrapper on an instance)
            pending.append(getattr(item, "__wrapped__", None))
            continue
        yield from _nested_codes(item.__code__)
        pending.append(getattr(item, "__wrapped__", None))
        pending += [_contents(cell) for cell in item.__closure__ or ()]


def _nested_codes(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _nested_codes(const)


def _contents(cell: types.CellType) -> Any:
    try:
        return cell.cell_contents
    except ValueError:
        return None

"""The string an ``ADDRESS=`` names when it is not a literal: a module-level string constant,
defined above the function or below it, or an attribute of a class or module
(``ADDRESS=Labels.AGE``).

Plain Python evaluates the label when the call runs; the engine needs it when it instruments
the function, which is while the module is still being imported, so a constant defined below
the function is not bound yet. It is read instead from the module's code, by the same rule
in every process: a name the module's code binds exactly once, to a string constant, and no
function of it rebinds (``global``). An attribute is read from the class's (or module's)
namespace, and its bases', never calling the class's code. Anything else is no label (a GOTO
to its value is refused, naming the expression: `jumps.py`).
"""

from __future__ import annotations

import dis
import sys
import types
from typing import Any, Final

_MISSING: Final = object()
_BINDINGS = frozenset({"STORE_NAME", "STORE_GLOBAL", "DELETE_NAME", "DELETE_GLOBAL"})


def label_value(globals_: dict, key: str) -> str | None:
    """The string `key` (a global's name, or ``name.attribute``) gives as an ADDRESS label,
    read from `globals_` (a module's namespace, or the values saved with a cached build,
    keyed the same way), or None."""
    value = globals_.get(key, _MISSING)
    if value is _MISSING:
        first, _, attribute = key.partition(".")
        if attribute:
            value = _static_attribute(globals_.get(first, _MISSING), attribute)
        else:
            value = module_constants(globals_).get(key)
    return value if type(value) is str else None


def _static_attribute(owner: Any, name: str) -> Any:
    """`owner.name` for a class (looked up along its bases) or a module, without running code."""
    if isinstance(owner, types.ModuleType):
        return getattr(owner, "__dict__", {}).get(name, _MISSING)
    if isinstance(owner, type):
        for klass in owner.__mro__:
            namespace = vars(klass)
            if name in namespace:
                return namespace[name]
    return _MISSING


def module_constants(globals_: dict) -> dict[str, str]:
    """The names the code of `globals_`'s module binds exactly once, each to a string
    constant (read from the module's compiled code, as its loader gives it; a function's
    ``global`` statement binding one too leaves it out)."""
    name = globals_.get("__name__")
    module = sys.modules.get(name) if type(name) is str else None
    loader = getattr(getattr(module, "__spec__", None), "loader", None)
    try:
        code = loader.get_code(name) if loader is not None else None
    except Exception:  # noqa: BLE001 - no code to read: no constants found
        code = None
    if not isinstance(code, types.CodeType):
        return {}
    bindings: dict[str, int] = {}
    constants: dict[str, str] = {}
    pending = [code]
    while pending:
        current = pending.pop()
        previous = None
        for instr in dis.get_instructions(current):
            if instr.opname in _BINDINGS and (current is code or "GLOBAL" in instr.opname):
                bindings[instr.argval] = bindings.get(instr.argval, 0) + 1
                if (
                    current is code
                    and instr.opname == "STORE_NAME"
                    and previous is not None
                    and previous.opname == "LOAD_CONST"
                    and type(previous.argval) is str
                ):
                    constants[instr.argval] = previous.argval
            previous = instr
        pending.extend(const for const in current.co_consts if isinstance(const, types.CodeType))
    return {key: value for key, value in constants.items() if bindings[key] == 1}

"""Objects whose class answers unknown attributes itself (``__getattr__`` or its own
``__getattribute__``): a delegating proxy, a lazy wrapper, a record reading a dict.

Plain pickle asks such an object for ``__getnewargs_ex__``, ``__getnewargs__`` and, when it
loads it, ``__setstate__``, before the object has any state: ``__getattr__`` then reads
``self.target``, which is missing, which calls ``__getattr__`` again, until RecursionError (or
it forwards the question to the wrapped object and saves the wrong thing). An instance of such
a class with object's own pickling (no ``__reduce__``/``__reduce_ex__`` of its class, no
built-in base) is therefore saved here as its class and its state, read and written through
the class and ``object`` only, never through the instance's attribute lookup. A class that
defines ``__getstate__`` or ``__setstate__`` has them used.

`new_instance` and `set_state` are part of the snapshot format: keep their module and names.
"""

from __future__ import annotations

import copyreg
from typing import Any

from . import module_objects

#: The flag of a class made by a ``class`` statement (or ``type()``), not written in C.
_HEAP_TYPE = 1 << 9


def forwards_attributes(kind: type) -> bool:
    """Whether `kind` answers attribute lookups with its own code and pickles as object does
    (the case `reduce_forwarding` handles). A type written in C (``int | None``'s
    ``types.UnionType``) is not: ``object.__new__`` cannot make it, and copyreg may know how
    to save it."""
    answers = hasattr(kind, "__getattr__") or kind.__getattribute__ is not object.__getattribute__
    return (
        answers
        and bool(kind.__flags__ & _HEAP_TYPE)
        and kind not in copyreg.dispatch_table
        and kind.__reduce_ex__ is object.__reduce_ex__
        and kind.__reduce__ is object.__reduce__
        and kind.__new__ is object.__new__
    )


def reduce_forwarding(obj: Any) -> tuple:
    """`obj` as its class and state (see the module docstring)."""
    kind = type(obj)
    state = kind.__getstate__(obj)
    if isinstance(state, dict):
        state = module_objects.referenced_values(state)
    elif isinstance(state, tuple) and len(state) == 2 and isinstance(state[0], dict):
        state = (module_objects.referenced_values(state[0]), state[1])
    return (new_instance, (kind,), state, None, None, set_state)


def new_instance(kind: type) -> Any:
    """An instance of `kind` made without calling ``__init__``."""
    return object.__new__(kind)


def set_state(obj: Any, state: Any) -> None:
    """Give `obj` the state `reduce_forwarding` saved (its class's ``__setstate__`` if any)."""
    kind = type(obj)
    if hasattr(kind, "__setstate__"):
        kind.__setstate__(obj, state)
        return
    attributes, slots = state if isinstance(state, tuple) else (state, None)
    if attributes:
        object.__getattribute__(obj, "__dict__").update(attributes)
    for name, value in (slots or {}).items():
        object.__setattr__(obj, name, value)

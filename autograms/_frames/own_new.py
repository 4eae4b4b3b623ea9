"""Objects whose class's own ``__new__`` cannot take what pickle would give it on load.

Pickle rebuilds an object by calling its class's ``__new__`` with the arguments
``__getnewargs__`` gives (none for a plain class; the text alone for a ``str`` subclass), then
restores its state. A class whose ``__new__`` requires more (``def __new__(cls, text, tag)``)
pickles without a word and fails every load after: the session is stuck. Such an object is
saved to be made by the built-in ``__new__`` its class inherits (``str.__new__``,
``object.__new__``) with those arguments, its state restored as usual: the object the
program's ``__new__`` had made, without running it again (as pickle never runs ``__init__``).

`made_by_base` is part of the snapshot format: keep its module and name.
"""

from __future__ import annotations

import copyreg
import inspect
import types
from typing import Any

from .memo import remember

_verdicts: dict[type, bool] = {}
_VERDICTS_SIZE = 4096


def has_own_new(kind: type) -> bool:
    """Whether `kind` (or a class it inherits from) defines ``__new__`` in Python."""
    verdict = _verdicts.get(kind)
    if verdict is None:
        verdict = isinstance(kind.__new__, types.FunctionType)
        remember(_verdicts, kind, verdict, _VERDICTS_SIZE)
    return verdict


def fitted_reduction(obj: Any, reduction: Any) -> Any:
    """`obj`'s `reduction` (a reduce tuple, or what else reducer_override may give), made by
    the built-in ``__new__`` when its class's ``__new__`` cannot take the arguments pickle
    saves."""
    if not isinstance(reduction, tuple) or reduction[0] is not copyreg.__newobj__:
        return reduction
    cls, *args = reduction[1]
    if _takes(cls, len(args)):
        return reduction
    return (made_by_base, (cls, *args), *reduction[2:])


def _takes(cls: type, count: int) -> bool:
    """Whether ``cls.__new__`` takes the class and `count` positional arguments (remembered:
    a namedtuple's, say, is asked about at every pause)."""
    key = (cls, count)
    verdict = _takes_counts.get(key)
    if verdict is None:
        try:
            inspect.signature(cls.__new__).bind(cls, *range(count))
            verdict = True
        except TypeError:
            verdict = False
        except ValueError:  # no signature to read: leave it to pickle
            verdict = True
        remember(_takes_counts, key, verdict, _VERDICTS_SIZE)
    return verdict


_takes_counts: dict[tuple[type, int], bool] = {}


def made_by_base(cls: type, *args: Any) -> Any:
    """A new `cls` made by the first ``__new__`` not written in Python among its bases."""
    for base in cls.__mro__:
        new = base.__dict__.get("__new__")
        if new is not None and not isinstance(new, staticmethod):
            return new(cls, *args)
    return object.__new__(cls)

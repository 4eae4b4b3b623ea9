"""The public decorator's call overhead: ``@autograms_function()`` functions that neither
pause nor record a turn, against the same functions undecorated, called from ordinary code and
from inside a turn (a decorated root run by ``Autogram.reply``, timing from its own frame).

Importing this module decorates nothing: `pairs` does, once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import FunctionType

from autograms import Autogram, autograms_function
from autograms.functional import reply

from ._subjects import _copy_with_code


def public_helper(number: int) -> int:
    """A plain callee of the loop."""
    return number * 2 + 1


def public_tiny(a: int, b: int) -> int:
    """The smallest function worth decorating: one operation."""
    return a + b


def public_loop(count: int) -> list[int]:
    """`count` iterations of a call into a plain helper."""
    acc = []
    for i in range(count):
        acc.append(public_helper(i))
    return acc


@functools.cache
def pairs() -> dict[str, tuple[FunctionType, FunctionType]]:
    """(plain, decorated) versions of `public_tiny` and `public_loop`; decorates them."""
    result = {}
    for function in (public_tiny, public_loop):
        plain = _copy_with_code(function, function.__code__)
        result[function.__name__] = (plain, autograms_function()(function))
    return result


def in_a_turn(measure: Callable[[], object]) -> object:
    """What `measure()` returns when it runs inside a turn: in the frame of a decorated root
    that `Autogram.reply` starts (the session's memory is current, the turn runs under the
    engine)."""
    _decorate_root()
    _measured[:] = [measure]
    Autogram(timing_root, test_mode=True).reply()
    return _measured.pop()


#: the measurement `timing_root` runs, then what it returned
_measured: list = []


def timing_root() -> None:
    """Run the pending measurement in this (decorated) frame, then end the turn."""
    _measured.append(_measured.pop()())
    reply("measured")


@functools.cache
def _decorate_root() -> None:
    autograms_function()(timing_root)

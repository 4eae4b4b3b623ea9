"""Standard-library values pickle cannot save, or would save as a silently different value.

* ``re.Match``: pickle refuses it. A match is fully determined by its pattern, its string,
  the bounds it was searched in and which of the matches there it is, so it is saved as that
  and made again on resume: the same groups, spans, ``pos``, ``endpos`` and ``lastindex``.
  Which match it is is worked out at the pause (``match``, ``fullmatch``, ``search``, or the
  n-th of ``finditer``) and checked there, so a resume never gets another match; one that
  cannot be found again that way (made by a ``scanner``, say) is refused, naming the local.
* The thread's **decimal context** (``ctx = decimal.getcontext()``): pickle copies it, so after
  a resume ``ctx`` no longer is the context decimal arithmetic uses, and setting
  ``ctx.prec`` changes nothing. It is saved as "the current context" and comes back as the
  context current where the program resumes. Like module state, the context belongs to the
  process: a new process starts from its default context. Any other ``decimal.Context`` is a
  value, saved as pickle saves it.

The functions the saved data names (`match_again`, `current_decimal_context`) are part of the
snapshot format: keep their module and names.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import decimal

#: how a match may have been made, tried in this order
_SEARCHES = ("match", "fullmatch", "search")


def reduce_match(found: re.Match) -> tuple:
    """A match as its pattern, string, bounds and how to find it again."""
    pattern, text, bounds = found.re, found.string, (found.pos, found.endpos)
    for how in _SEARCHES:
        if _same(getattr(pattern, how)(text, *bounds), found):
            return (match_again, (pattern, text, *bounds, how, 0))
    for index, candidate in enumerate(pattern.finditer(text, *bounds)):
        if _same(candidate, found):
            return (match_again, (pattern, text, *bounds, "finditer", index))
        if candidate.start() > found.start():
            break
    raise TypeError(f"cannot save the re.Match {found!r}: it cannot be found again by its pattern")


def _same(candidate: re.Match | None, found: re.Match) -> bool:
    return (
        candidate is not None
        and candidate.regs == found.regs
        and candidate.lastindex == found.lastindex
    )


def match_again(
    pattern: re.Pattern, text: Any, pos: int, endpos: int, how: str, index: int
) -> re.Match:
    """The match `reduce_match` described."""
    if how == "finditer":
        matches = pattern.finditer(text, pos, endpos)
        for _ in range(index):
            next(matches)
        return next(matches)
    return getattr(pattern, how)(text, pos, endpos)


def reduce_decimal_context(context: decimal.Context) -> Any:
    """The current decimal context by being current; any other as pickle saves it."""
    import decimal  # imported already: `context` is one of its objects

    if context is decimal.getcontext():
        return (current_decimal_context, ())
    return NotImplemented


def current_decimal_context() -> decimal.Context:
    """The decimal context of the thread the program resumes in."""
    import decimal

    return decimal.getcontext()


#: exact type -> reducer, for pickling.py
REDUCERS: dict[type, Callable[[Any], Any]] = {
    re.Match: reduce_match,
}


def late_reducer(kind: type) -> Callable[[Any], Any] | None:
    """The reducer of `kind` if it is a type of a module the library does not import itself
    (`decimal`: ~1 ms of a fresh process's import, issue 11), else None; pickling.py asks once
    per type it has not met yet, so a module imported at any time is covered."""
    decimal = sys.modules.get("decimal")
    if decimal is not None and kind is decimal.Context:
        return reduce_decimal_context
    return None

"""Transcripts: what a run of a program showed, turn by turn, in a form two runs can compare.

A transcript is a list of events. Each turn adds ``["out", printed_text]`` and then one of
``["reply", text]`` (the program paused with `text`), ``["end"]`` (it returned; its value is
printed by the root), ``["raise", "Type: message"]`` (an exception reached the caller of
``Autogram.reply``), ``["crash", detail]`` (the interpreter died) or ``["timeout"]``; the
oracle may also end with ``["invalid", why]``: the program is not a fair test (it does not
compile here, or its GOTO/RETURNTO reference is broken).
A run stops at the first turn that is not a reply, or when the script runs out.
"""

from __future__ import annotations

import re

_QUOTED_NAME = re.compile(r"'(\w+)'")


def describe_exception(exc: BaseException) -> str:
    """An exception as a transcript shows it, the same on every supported Python.

    A refusal shows as ``ContinuationError`` alone, whichever subclass of it the engine
    raised (its message names engine details the oracle cannot know); a NameError or
    UnboundLocalError as its class and the name (their wording differs between Python
    versions).
    """
    name = type(exc).__name__
    if any(cls.__name__ == "ContinuationError" for cls in type(exc).__mro__):
        return "ContinuationError"
    if isinstance(exc, NameError):
        found = _QUOTED_NAME.search(str(exc))
        return f"{name}: {found.group(1) if found else exc}"
    return f"{name}: {exc}"


def first_difference(expected: list, actual: list) -> int | None:
    """The index of the first event where `actual` departs from `expected`, or None."""
    for index, (want, got) in enumerate(zip(expected, actual, strict=False)):
        if want != got:
            return index
    if len(expected) != len(actual):
        return min(len(expected), len(actual))
    return None


def signature(expected: list, actual: list) -> str | None:
    """A short name for how `actual` departs from `expected`, or None when they agree.

    The first turn that differs decides: if its outcome differs in kind, the engine's
    outcome names it (``reply``, ``end``, ``raise:Type``, ``crash``, ``timeout``;
    ``missing`` when the engine's transcript stops early); if only what it printed
    differs, ``out:`` and the first word of the first line that differs (generated
    programs start their prints with a tag such as ``p12``).
    """
    index = first_difference(expected, actual)
    if index is None:
        return None
    if index >= len(actual):
        return "missing"
    event = actual[index]
    if event[0] == "out":
        outcome, wanted = _at(actual, index + 1), _at(expected, index + 1)
        if outcome is not None and _kind(outcome) != _kind(wanted):
            return _kind(outcome)
        wanted_out = expected[index][1] if expected[index][0] == "out" else ""
        return "out:" + _first_word_of_difference(wanted_out, event[1])
    return _kind(event)


def _at(events: list, index: int) -> list | None:
    return events[index] if index < len(events) else None


def _kind(event: list | None) -> str:
    if event is None:
        return "missing"
    if event[0] == "raise":
        return "raise:" + event[1].split(":", 1)[0]
    return event[0]


def _first_word_of_difference(expected: str, actual: str) -> str:
    wanted, got = expected.splitlines(), actual.splitlines()
    for line_wanted, line_got in zip(wanted, got, strict=False):
        if line_wanted != line_got:
            return (line_got.split() or [""])[0]
    longer = got[len(wanted) :] or wanted[len(got) :]
    return (longer[0].split() or [""])[0] if longer else ""


def turn_count(events: list) -> int:
    """How many turns the transcript covers."""
    return sum(1 for event in events if event[0] == "out")

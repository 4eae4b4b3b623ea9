"""Handled exceptions kept across pauses: chaining, notes and tracebacks."""

import sys
import traceback

from autograms import autograms_function
from autograms.functional import reply


class CodedError(Exception):
    def __init__(self, code):
        super().__init__(f"failed with code {code}")
        self.code = code


def lookup(table, key):
    return table[key] + 1


def describe(exc):
    return (
        f"{type(exc).__name__}: cause={exc.__cause__!r} context={exc.__context__!r} "
        f"suppress={exc.__suppress_context__} notes={getattr(exc, '__notes__', None)}\n"
        + "".join(traceback.format_exception(exc))
    )


@autograms_function()
def explicit_cause():
    try:
        try:
            lookup({}, "k")
        except KeyError as e:
            raise ValueError("bad value") from e
    except ValueError as err:
        err.add_note("a note")
        saved = err
    reply("explicit cause caught")
    return describe(saved)


@autograms_function()
def implicit_context_and_from_none():
    try:
        try:
            1 / 0  # noqa: B018
        except ZeroDivisionError:
            raise CodedError(7)  # noqa: B904 - the implicit context is the point
    except CodedError as err:
        implicit = err
    try:
        try:
            int("x")
        except ValueError:
            raise LookupError("hidden") from None
    except LookupError as err:
        hidden = err
    reply("two exceptions kept")
    return describe(implicit) + describe(hidden) + f"code {implicit.code}"


@autograms_function()
def inside_the_handler():
    try:
        lookup({"a": None}, "a")
    except TypeError:
        reply("inside except")
        text = traceback.format_exc()
        kind = sys.exc_info()[0].__name__
    return kind + "\n" + text


@autograms_function()
def bare_raise_after_the_pause():
    try:
        try:
            lookup({}, "missing")
        except KeyError:
            reply("before re-raise")
            raise
    except KeyError as exc:
        return describe(exc)


@autograms_function()
def exception_group():
    try:
        raise ExceptionGroup("several", [ValueError(1), TypeError(2)])
    except ExceptionGroup as group:
        kept = group
    reply("group kept")
    return describe(kept) + repr(kept.exceptions)


@autograms_function()
def chatbot():
    for step in (
        explicit_cause,
        implicit_context_and_from_none,
        inside_the_handler,
        bare_raise_after_the_pause,
        exception_group,
    ):
        reply(step())

"""Functions made while the program runs from a decorated function's code
(``types.FunctionType(f.__code__, globals, name, defaults, closure)``): one with other globals
or other closure cells would resume as the decorated function itself, so its pause is refused
(NOT_FOUND_AGAIN); a copy with the same globals and cells resumes as plain Python runs it."""

import functools
import types

from autograms import autograms_function
from autograms.functional import reply

TONE = "module"


@autograms_function()
def ask(question):
    answer = reply(f"{question} ({TONE})")
    return f"{answer} ({TONE})"


def shouted(function):
    @autograms_function()
    @functools.wraps(function)
    def loud(question):
        answer = function(question)
        return f"{answer.upper()} from {function.__name__}"

    return loud


@shouted
def loud_ask(question):
    return reply(question)


def _other(question):
    return "other " + reply(question)


def made(kind):
    """The function `kind` names, made from ask's or loud_ask's code."""
    if kind == "globals":
        namespace = {**ask.__globals__, "TONE": "own"}
        return types.FunctionType(ask.__code__, namespace, "ask", None, None)
    if kind == "closure":
        cells = (types.CellType(_other),)
        return types.FunctionType(loud_ask.__code__, loud_ask.__globals__, "loud", None, cells)
    if kind == "copy":
        return types.FunctionType(
            loud_ask.__code__, loud_ask.__globals__, "loud", None, loud_ask.__closure__
        )
    return ask


@autograms_function()
def chatbot():
    kind = reply("which?")
    function = made(kind)
    return reply("got " + function("question"))

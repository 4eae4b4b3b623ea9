"""A decorated wrapper made while the program runs: it has the name of the function it wraps
(``functools.wraps``), which leads a resume to that function, not to the wrapper. Refused at
the pause, never resumed as another function."""

import functools

from autograms import autograms_function
from autograms.functional import reply


def logged(function):
    @autograms_function()
    @functools.wraps(function)
    def wrapper(*args):
        return "<" + function(*args) + ">"

    return wrapper


@autograms_function()
def ask(question):
    return reply(question)


@autograms_function()
def chatbot():
    first = reply("first")
    wrapped = logged(ask)
    return reply(first + wrapped("second"))

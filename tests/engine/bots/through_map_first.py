"""A pause through a built-in (`map`) on the very first turn: refused at the pause."""

from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def ask(number):
    return reply(f"question {number}?")


@autograms_function()
def chatbot():
    answers = list(map(ask, [1, 2]))
    return reply(f"answers: {answers}")

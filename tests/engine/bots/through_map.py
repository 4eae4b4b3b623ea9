"""A pause through a built-in (`map`) after an earlier pause: refused at that pause, not
resumed with the whole expression replaced by the user's text."""

from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def ask(number):
    return reply(f"question {number}?")


@autograms_function()
def chatbot():
    reply("first")
    answers = list(map(ask, [1, 2]))
    return reply(f"answers: {answers}")

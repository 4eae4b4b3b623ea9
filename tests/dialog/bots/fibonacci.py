"""Fibonacci numbers on request, looping with GOTO."""

from autograms import autograms_function
from autograms.functional import GOTO, reply


@autograms_function()
def chatbot():
    previous, current = 0, 1
    count = 0
    answer = reply(f"Fibonacci number {count} is {previous}. Another?", ADDRESS="next")
    if answer.lower().startswith("y"):
        previous, current = current, previous + current
        count += 1
        GOTO("next")
    reply(f"Stopped after {count} steps.")
    return count

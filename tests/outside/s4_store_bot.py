"""A small labelled bot for the session-4 outside store tests (its module name is stored in sessions)."""

from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def chatbot():
    name = reply("What is your name?", ADDRESS="name")
    color = reply(f"Hi {name}, favourite colour?", ADDRESS="color")
    food = reply(f"{color}! favourite food?", ADDRESS="food")
    return reply(f"{name}/{color}/{food}. Bye", ADDRESS="bye")

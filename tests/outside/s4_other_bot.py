"""Two small bots that share one store in the session-4 outside tests (two programs)."""

from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def bot_a():
    while True:
        reply("I am bot A", ADDRESS="a")


@autograms_function()
def bot_b():
    while True:
        reply("I am bot B", ADDRESS="b")

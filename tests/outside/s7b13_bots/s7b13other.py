"""A second bot for a store two bots share."""

from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def chatbot():
    text = reply("other bot here")
    while True:
        text = reply("other: " + text)

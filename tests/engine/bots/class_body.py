"""A pause in a class body: refused at the pause (it would resume with the class replaced by
the user's text)."""

from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def chatbot():
    reply("first")

    class Settings:
        colour = reply("colour?")

    return reply(f"settings: {Settings.colour}")

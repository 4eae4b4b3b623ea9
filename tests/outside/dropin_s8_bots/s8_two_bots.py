"""Two bots in one module, as a chatbot and its userbot often are in a simulation script."""

from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def shop_bot():
    while True:
        reply("shop bot speaking")


@autograms_function()
def user_bot():
    while True:
        reply("user bot speaking")

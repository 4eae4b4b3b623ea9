"""A bot that raises on a given message (turns are transactions)."""

from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def chatbot():
    count = 0
    while True:
        message = reply(f"count {count}")
        if message == "boom":
            raise ValueError("the bot failed")
        count += 1

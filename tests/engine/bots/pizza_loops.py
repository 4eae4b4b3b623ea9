"""The pizza bot written with loops instead of GOTO: the oracle for `pizza`."""

from autograms import autograms_function
from autograms.functional import reply

SIZES = {"small": 8, "medium": 10, "large": 12}


@autograms_function()
def chatbot():
    while True:
        size = reply("What size: small, medium or large?")
        if size in SIZES:
            break
        reply("Sorry, only small, medium or large.")
    while True:
        answer = reply("How many?")
        try:
            count = int(answer)
            break
        except ValueError:
            reply("Please type a whole number.")
    reply(f"{count} x {size}")
    total = count * SIZES[size]
    return reply(f"That is {total} dollars. Anything else?")

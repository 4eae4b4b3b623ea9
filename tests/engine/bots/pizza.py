"""The pizza bot of issue 10, written as a new user would: GOTO back to a question when the
answer is no good. Jumping back to `ask_size` happens while `count` is still unbound; nothing
reads it before assigning it, so the jump is fine (it was once refused, and every later
message repeated the refusal)."""

from autograms import autograms_function
from autograms.functional import GOTO, reply

SIZES = {"small": 8, "medium": 10, "large": 12}


@autograms_function()
def chatbot():
    size = reply("What size: small, medium or large?", ADDRESS="ask_size")
    if size not in SIZES:
        reply("Sorry, only small, medium or large.")
        GOTO("ask_size")
    answer = reply("How many?", ADDRESS="ask_count")
    try:
        count = int(answer)
    except ValueError:
        reply("Please type a whole number.")
        GOTO("ask_count")
    reply(f"{count} x {size}")
    total = count * SIZES[size]
    return reply(f"That is {total} dollars. Anything else?")

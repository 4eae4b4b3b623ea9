"""A bot whose root returns after two turns, so the next message starts it again."""

from autograms import autograms_function
from autograms.functional import reply, reply_instruction


@autograms_function()
def chatbot():
    reply("Tell me a secret.")
    reply_instruction("Thank the user.")
    return "finished"

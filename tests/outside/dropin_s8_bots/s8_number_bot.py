"""A bot whose turn fails on bad input after it has already called the model."""

from autograms import autograms_function
from autograms.functional import reply, reply_instruction, thought


@autograms_function()
def chatbot():
    while True:
        message = reply("Send a number.")
        thought("Think about " + message)
        value = int(message)  # raises on bad input, after a model call the server billed
        reply_instruction(f"Say {value} in words.")

"""A bot that asks the model for every reply (to see which endpoint, key and model it uses)."""

from autograms import autograms_function
from autograms.functional import reply_instruction


@autograms_function()
def chatbot():
    while True:
        reply_instruction("Answer the user in one sentence.", ADDRESS="answer")

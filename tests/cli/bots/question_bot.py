"""A bot that greets without the model, then answers every message with the model (to see
what a chat looks like while the model is slow, or refuses an output form)."""

from autograms import autograms_function
from autograms.functional import reply, reply_instruction, yes_or_no


@autograms_function()
def chatbot():
    reply("Ask me anything.", ADDRESS="greeting")
    while True:
        if yes_or_no("Is the user asking a question?"):
            reply_instruction("Answer the user in one sentence.", ADDRESS="answer")
        else:
            reply("That was not a question.", ADDRESS="not_a_question")

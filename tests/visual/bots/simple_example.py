"""The canonical demo: a greeting, a yes/no branch, then an endless conversation loop."""

from autograms import autograms_function
from autograms.functional import reply, reply_instruction, yes_or_no


@autograms_function()
def chatbot():
    reply("Hello! Would you like to talk about artificial intelligence?", ADDRESS="ask_question")
    if yes_or_no("does the user want to talk about ai?"):
        reply_instruction("Say you are glad to talk about AI, and ask what interests the user",
                          ADDRESS="chat_ai")
    else:
        reply_instruction("Ask the user what they would rather talk about", ADDRESS="chat_other")
    while True:
        reply_instruction("Respond to the user's last message", ADDRESS="continue_conversation")

"""The canonical demo: a greeting, a yes/no branch, then an open-ended loop."""

from autograms import autograms_function
from autograms.functional import reply, reply_instruction, yes_or_no


@autograms_function()
def chatbot():
    reply("Hello, I'm a bot. Would you like to talk about AI?", ADDRESS="ask_question")
    if yes_or_no("Does the user want to talk about AI?"):
        reply_instruction("Tell the user something about AI.", ADDRESS="talk_ai")
    else:
        reply_instruction("Ask the user what they want to talk about.", ADDRESS="other")
    while True:
        reply_instruction("Respond to the user.", ADDRESS="continue_conversation")

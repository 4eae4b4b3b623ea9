"""A bot that embeds each message (to see which embeddings endpoint `autograms run` set up);
a message starting with "chat " is answered by the chat model instead."""

from autograms import autograms_function
from autograms.functional import get_single_embedding, reply, reply_instruction


@autograms_function()
def chatbot():
    text = reply("Send a text to embed.", ADDRESS="ask")
    while True:
        if text.startswith("chat "):
            text = reply_instruction("Answer the user in one sentence.", ADDRESS="chat")
        else:
            vector = get_single_embedding(text)
            text = reply(f"{len(vector)} dimensions", ADDRESS="embedded")

"""A second bot: for a store two bots share, and for turns that end without a reply.

"bye" returns from the root (the turn's reply is None; the next message starts it again);
"exit" ends the turn with EXIT(data) and no reply.
"""

from autograms import autograms_function
from autograms.functional import EXIT, reply


@autograms_function()
def chatbot():
    text = reply("other bot here")
    while True:
        if text == "bye":
            return "done"
        if text == "exit":
            EXIT({"left": True})
        text = reply("other: " + text)

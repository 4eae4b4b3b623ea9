"""A GOTO past a local's assignment: the labelled call reads the local unbound, and the
program fails at that read with UnboundLocalError, as plain Python would."""

from autograms import autograms_function
from autograms.functional import GOTO, reply


@autograms_function()
def chatbot():
    answer = reply("start")
    if answer == "jump":
        GOTO("later")
    note = "set"
    return reply(f"note={note}", ADDRESS="later")

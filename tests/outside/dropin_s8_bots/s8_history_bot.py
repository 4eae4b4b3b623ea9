"""A bot that summarises the whole conversation from get_turn_history() (AutoGRAMS' functional API)."""

from autograms import autograms_function
from autograms.functional import get_turn_history, reply

SEEN = {}


@autograms_function()
def chatbot():
    while True:
        inputs, outputs, system_prompt = get_turn_history()
        SEEN["inputs"], SEEN["outputs"] = list(inputs), list(outputs)
        reply(f"I have seen {len(outputs)} of my replies so far.")

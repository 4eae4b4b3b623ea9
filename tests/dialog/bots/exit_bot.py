"""EXIT ends a turn without a reply; a returning root restarts on the next turn."""

from autograms import autograms_function
from autograms.functional import EXIT, extract_full_conv_history, reply


@autograms_function()
def chatbot():
    name = reply("Name?")
    EXIT({"reply": f"Goodbye {name} (exit)"})
    reply(f"Back after exit, {name}; {len(extract_full_conv_history())} messages so far")
    return name

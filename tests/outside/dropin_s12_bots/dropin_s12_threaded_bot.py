"""A bot whose state lives in persistent globals and user globals (test_dropin_s12_outside.py)."""

from autograms import autograms_function
from autograms.functional import extract_last_user_reply, reply
from autograms.memory import init_user_globals, set_persistent_globals

with set_persistent_globals():
    counter = 0
    seen = []

USER = init_user_globals()
USER["turns"] = 0


def note(text):
    """A plain helper that changes the persistent globals, as a bot's helpers do."""
    global counter
    counter += len(text)
    seen.append(text)
    return f"{counter}/{len(seen)}"


@autograms_function()
def chatbot():
    reply("name?")
    name = extract_last_user_reply()
    while True:
        USER["turns"] += 1
        reply(f"{name} {note(extract_last_user_reply() or '')} {USER['turns']}")

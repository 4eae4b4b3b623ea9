"""A bot counting messages in a user global and a persistent global, and in a user global of
another module (tests/compat/test_flat_globals.py)."""

from autograms import autograms_function
from autograms.functional import reply
from autograms.memory import init_user_globals, set_persistent_globals
from tests.compat.bots import flat_globals_helper

G = init_user_globals()
G["count"] = 0
G["label"] = "a"

with set_persistent_globals():
    score = 0


def _bump() -> None:
    global score
    score += 1
    G["count"] += 1


@autograms_function()
def chatbot():
    reply("hi")
    while True:
        _bump()
        seen = flat_globals_helper.note()
        reply(f"count={G['count']} score={score} seen={seen} label={G['label']}")

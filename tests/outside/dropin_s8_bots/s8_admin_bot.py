"""A bot with persistent globals and user globals that an admin tool edits between turns."""

from autograms import autograms_function
from autograms.functional import reply
from autograms.memory import init_user_globals, set_persistent_globals

with set_persistent_globals():
    visits = 0
    cart = []

G = init_user_globals()
G["vip"] = False


@autograms_function()
def chatbot():
    global visits
    while True:
        visits += 1
        item = reply(f"visit {visits}, cart {cart}, vip {G['vip']}", ADDRESS="loop")
        cart.append(item)

"""Per-session user globals and persistent globals."""

from autograms import autograms_function
from autograms.functional import reply
from autograms.memory import init_user_globals, set_persistent_globals

G = init_user_globals()
G["visits"] = 0

with set_persistent_globals():
    basket = []
    total = 0


@autograms_function()
def add_item(item):
    global total
    basket.append(item)
    total += len(item)
    return len(basket)


@autograms_function()
def chatbot():
    G["visits"] += 1
    while True:
        item = reply(f"Visit {G['visits']}: basket {basket}, total {total}. Add what?")
        if item == "done":
            break
        add_item(item)
    return total

"""Per-session user globals and persistent globals."""

from autograms import autograms_function
from autograms.functional import reply
from autograms.memory import init_user_globals, set_persistent_globals

G = init_user_globals()
G["visits"] = 0

with set_persistent_globals():
    basket = []
    total = 0


def summary():
    """A plain helper: it sees the session's values too."""
    return f"basket {basket}, total {total}"


def count(item):
    """A plain helper that writes a persistent global."""
    global total
    total += len(item)


@autograms_function()
def add_item(item):
    basket.append(item)
    count(item)
    return len(basket)


@autograms_function()
def chatbot():
    G["visits"] += 1
    while True:
        item = reply(f"Visit {G['visits']}: {summary()}. Add what?")
        if item == "done":
            break
        add_item(item)
    return total

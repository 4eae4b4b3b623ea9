"""A bot in AutoGRAMS' style with persistent globals changed by plain helpers (outside test)."""

from autograms import autograms_function
from autograms.functional import reply
from autograms.memory import init_user_globals, set_persistent_globals

with set_persistent_globals():
    counter = 0
    items = []
    name = "nobody"

G = init_user_globals()
G["n"] = 0


def bump():
    global counter
    counter += 1
    items.append(counter)
    return counter


def read_name():
    return name


class Renamer:
    def go(self, new):
        global name
        name = new


@autograms_function()
def chatbot():
    while True:
        msg = reply(f"c={counter} items={items} name={name} n={G['n']}")
        if msg == "bump":
            bump()
        elif msg.startswith("name "):
            Renamer().go(msg[5:])
        elif msg == "g":
            G["n"] += 1
        elif msg == "read":
            reply(f"read_name={read_name()}")

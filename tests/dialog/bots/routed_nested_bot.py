"""Lambdas, nested functions and class bodies over persistent globals, held across pauses
(made before the first pause and after a resume): in a fresh process they must load as the
code the program runs, and see the session's values."""

from autograms import autograms_function
from autograms.functional import reply
from autograms.memory import set_persistent_globals

with set_persistent_globals():
    owner = "nobody"
    seen = []


@autograms_function()
def chatbot():
    global owner
    read = lambda: owner  # noqa: E731 - a lambda is the case under test

    def rename(new):
        global owner
        owner = new

    rename(reply(f"who? {read()}"))
    later = lambda: (owner, len(seen))  # noqa: E731 - made after a resume

    class Card:
        name = owner
        tags = [owner] * 2

    seen.append(Card.name)
    text = reply(f"{read()} {later()} {Card.tags}")
    rename(text)
    reply(f"{read()} {later()} {Card.name} {seen}")

"""A decorated __init__ that pauses: `K()` still gives the caller the new instance, on the
first turn and after a resume."""

from autograms import autograms_function
from autograms.functional import reply


class Order:
    @autograms_function()
    def __init__(self, item):
        self.item = item
        self.size = reply(f"What size of {item}?")
        self.count = int(reply("How many?"))

    def __repr__(self):
        return f"Order({self.count} x {self.size} {self.item})"


@autograms_function()
def chatbot():
    first = Order("pizza")
    second = Order(reply(f"{first!r}. Anything else?"))
    return reply(f"{[first, second]} {type(second).__name__}")

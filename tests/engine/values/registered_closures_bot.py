"""Closures the program hands to a module (callbacks in module-level lists, dicts, sets, a
global) while the frames that made them stay paused: resumed in the process that paused, each
is the module's own object and shares its cells with the resumed frame, as in plain Python."""

from autograms import autograms_function
from autograms.functional import reply

HANDLERS = []
BY_NAME = {}
SEEN = set()
LAST = None


def fire(step):
    """What an app does between two events: call every registered callback."""
    return [handler(step) for handler in [*HANDLERS, *BY_NAME.values(), *SEEN]]


@autograms_function()
def in_a_list():
    count = 0

    def on_event(step=1):
        nonlocal count
        count += step
        return count

    HANDLERS.append(on_event)
    reply(f"list registered {len(HANDLERS)}")
    count += 10
    fired = fire(5)
    reply(f"list: {count} {fired} {on_event()} {HANDLERS[-1] is on_event}")


@autograms_function()
def in_a_dict_and_a_set():
    seen = []
    BY_NAME["seen"] = lambda step: seen.append(step) or len(seen)
    tally = {"n": 0}

    def count_it(step):
        tally["n"] += step
        return tally["n"]

    SEEN.add(count_it)
    reply("dict and set registered")
    seen.append("frame")
    fired = fire(2)
    reply(f"dict: {seen} {fired} {tally} {count_it in SEEN} {len(BY_NAME)}")


@autograms_function()
def as_a_global():
    global LAST
    base = 1

    def countdown(n):  # recursive: its own cell holds it
        return base if n == 0 else countdown(n - 1) + base

    LAST = countdown
    reply("global registered")
    base = 3
    reply(f"global: {LAST(2)} {countdown(1)} {LAST is countdown}")


@autograms_function()
def chatbot():
    HANDLERS.clear()
    BY_NAME.clear()
    SEEN.clear()
    in_a_list()
    in_a_list()
    in_a_dict_and_a_set()
    as_a_global()
    reply(f"end {len(HANDLERS)} {fire(1)}")

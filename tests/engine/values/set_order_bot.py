"""Sets held across pauses list their elements in the order they had (in the process that
paused, or another with the same PYTHONHASHSEED): shown before a pause, picked by position
after it, changed after it (pop, add) as plain Python changes them."""

import random

from autograms import autograms_function
from autograms.functional import reply


def generated_sets(seed):
    """Sets of several kinds: strings, ints with colliding hashes, sets that had deletions,
    a set that grew and shrank, frozensets, and sets inside containers."""
    rng = random.Random(seed)
    words = {"".join(rng.choice("abcdefg") for _ in range(rng.randint(1, 5))) for _ in range(30)}
    colliding = {rng.randint(0, 40) * 64 + rng.randint(0, 2) for _ in range(25)}
    deleted = set(range(0, 300, 7)) | words
    for item in rng.sample(sorted(deleted, key=str), 20):
        deleted.discard(item)
    shrunk = set(map(str, range(200)))
    while len(shrunk) > 5:
        shrunk.pop()
    frozen = frozenset(words | {(1, "a"), (2, "b"), 2.5, None, b"x"})
    return {"words": words, "colliding": colliding, "deleted": deleted, "shrunk": shrunk,
            "frozen": frozen, "nested": [{"inner": set(words)}]}  # fmt: skip


@autograms_function()
def chatbot():
    sets = generated_sets(10)
    drinks = {"tea", "coffee", "juice", "water", "milk", "soda"}
    shown = {name: list(value) for name, value in sets.items() if name != "nested"}
    shown_nested = list(sets["nested"][0]["inner"])
    reply("pick 0-5: " + ", ".join(drinks))
    for turn in range(3):
        same = {name: list(sets[name]) == order for name, order in shown.items()}
        same["nested"] = list(sets["nested"][0]["inner"]) == shown_nested
        reply(f"turn {turn}: {same} {list(drinks)}")
        popped = [sets[name].pop() for name in ("words", "colliding", "deleted", "shrunk")]
        for name in ("words", "colliding", "deleted", "shrunk"):
            sets[name].add(f"new {turn}")
            sets[name].add(turn * 1000 + 64)
        shown = {name: list(value) for name, value in sets.items() if name != "nested"}
        reply(f"changed: {popped} {shown}")

"""A program whose locals hold generated choices of items of a module-level dict (a cache) and
attributes of a module-level instance, which the app may evict between the pause and the
resume: an item still there must be the module's own, an evicted one what it was. (Held
inside a local's list or dict, such an item is saved as its place alone: docs/engine.md.)"""

import random

from autograms import _frames

CACHE = {}


class Service:
    pass


SERVICE = Service()


class Row:
    def __init__(self, values):
        self.values = values

    def __repr__(self):
        return f"Row({self.values!r})"


def fill(seed):
    """Bind CACHE and SERVICE to new ones holding the entries of `seed` (rebound, so that the
    next pause indexes their items again); their names."""
    global CACHE, SERVICE
    rng = random.Random(seed)
    CACHE, SERVICE = {}, Service()
    for index in range(5):
        CACHE[f"k{index}"] = _entry(rng)
    for index in range(3):
        setattr(SERVICE, f"a{index}", _entry(rng))
    return [f"CACHE[{key!r}]" for key in CACHE] + [f"SERVICE.{name}" for name in vars(SERVICE)]


def _entry(rng):
    kind = rng.choice(["list", "dict", "set", "row", "tuple", "bytearray", "nested"])
    numbers = [rng.randint(0, 9) for _ in range(rng.randint(0, 3))]
    if kind == "list":
        return numbers
    if kind == "dict":
        return {f"n{index}": number for index, number in enumerate(numbers)}
    if kind == "set":
        return set(numbers)
    if kind == "row":
        return Row(numbers)
    if kind == "tuple":
        return (numbers, "t")
    if kind == "bytearray":
        return bytearray(numbers)
    nested = [numbers]
    nested.append(nested)  # holds itself
    return nested


def entry(name):
    """The object the place `name` holds now, or None."""
    if name.startswith("CACHE"):
        return CACHE.get(name[7:-2])
    return vars(SERVICE).get(name[8:])


def holder(seed, names):
    rng = random.Random(seed)
    chosen = [rng.choice(names) for _ in range(4)]  # the same entry twice, at times
    first, second, third, fourth = map(entry, chosen)
    _frames.pause("holding")
    held = {}
    found = []
    for name, value in zip(chosen, (first, second, third, fourth), strict=True):
        shared = held.setdefault(name, value) is value
        found.append((name, value is entry(name), shared, repr(value)))
    return found


_frames.instrument(holder)

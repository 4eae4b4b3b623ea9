"""A program whose locals nest module-level containers at generated depths: inside lists,
tuples, dicts and instances' attributes, beside numbers, strings and containers of them."""

import random

from autograms import _frames

ITEMS = [1, 2]
TABLE = {"row": [3, 4]}
PAIR = (ITEMS, "five")
PLACES = {"ITEMS": ITEMS, "TABLE": TABLE, "TABLE['row']": TABLE["row"], "PAIR": PAIR}


class Box:
    def __init__(self, content):
        self.content = content


def build(rng, depth):
    """A random structure, and the (path, place name) of each module-level container in it."""
    roll = rng.random()
    if depth == 0 or roll < 0.25:
        if rng.random() < 0.5:
            name = rng.choice(sorted(PLACES))
            return PLACES[name], [((), name)]
        return rng.choice([7, "text", ("a", 1), [8, 9], {"k": 1}, None]), []
    children = [build(rng, depth - 1) for _ in range(rng.randint(1, 3))]
    kind = rng.choice(["list", "tuple", "str-dict", "int-dict", "box"])
    if kind == "box":
        child, places = children[0]
        return Box(child), [(("content", *path), name) for path, name in places]
    keys = [f"k{index}" if kind == "str-dict" else index for index in range(len(children))]
    places = [
        ((key, *path), name) for key, (_, found) in zip(keys, children) for path, name in found
    ]
    values = [child for child, _ in children]
    structure = {"list": values, "tuple": tuple(values)}.get(kind) or dict(zip(keys, values))
    return structure, places


def follow(structure, path):
    for step in path:
        structure = getattr(structure, step) if isinstance(structure, Box) else structure[step]
    return structure


def holder(seed):
    structure, places = build(random.Random(seed), 4)
    _frames.pause("holding")
    return [(path, name, follow(structure, path) is PLACES[name]) for path, name in places]


_frames.instrument(holder)

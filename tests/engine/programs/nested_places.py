"""A program whose locals nest module-level containers at generated depths: inside lists,
tuples, dicts, instances' attributes, OrderedDicts, defaultdicts, Counters, a dict subclass,
deques and partials, beside numbers, strings and containers of them. The places include a
slotted instance's attributes and the items of a namedtuple and of dict subclasses. Some of the module-level
containers hold only values (the garbage collector does not track such a dict or tuple, nor any
bytearray)."""

import collections
import enum
import functools
import random

from autograms import _frames

ITEMS = [1, 2]
TABLE = {"row": [3, 4]}
PAIR = (ITEMS, "five")
FLAGS = {"beta": False}
EMPTY = {}
CODES = (10, 11)
BUFFER = bytearray(b"xy")


class Settings:
    defaults = {"lang": "en"}


class Slotted:
    __slots__ = ("seen", "__hidden")

    def __init__(self):
        self.seen = [12]
        self.__hidden = {"h": 1}


class Ordered(dict):
    """A program's dict subclass whose own item lookup is never run by the engine."""

    def __getitem__(self, key):
        raise AssertionError("the engine ran a program's __getitem__")


SLOTTED = Slotted()
CONFIG = collections.namedtuple("Config", "names extra")([13], {"e": 1})
ORDERED = collections.OrderedDict(row=[14])
BY_DEFAULT = collections.defaultdict(list, row=[15])
OWN_DICT = Ordered(row=[16])


def configure(options={}):  # noqa: B006 - the mutable default is what is tested
    return options


class Shade(enum.Enum):
    DARK = 1


SENTINEL = object()
#: items under keys of every kind a place may name
KEYED = {(1, "x"): [5], None: [6], Shade.DARK: [7], Settings: [8], 2.5: [9], SENTINEL: [10]}


def module_places():
    """Place name -> the module-level container there (made at each call: a module-level dict
    of them would make each of them an item of a module global, a place of its own)."""
    return {
        "ITEMS": ITEMS,
        "TABLE": TABLE,
        "TABLE['row']": TABLE["row"],
        "PAIR": PAIR,
        "FLAGS": FLAGS,
        "EMPTY": EMPTY,
        "CODES": CODES,
        "BUFFER": BUFFER,
        "Settings.defaults": Settings.defaults,
        "configure.__defaults__[0]": configure(),
        "SLOTTED.seen": SLOTTED.seen,
        "SLOTTED.__hidden": SLOTTED._Slotted__hidden,
        "CONFIG.names": CONFIG.names,
        "CONFIG.extra": CONFIG.extra,
        "ORDERED['row']": ORDERED["row"],
        "BY_DEFAULT['row']": BY_DEFAULT["row"],
        "OWN_DICT['row']": dict.get(OWN_DICT, "row"),
        **{f"KEYED[{key!r}]": item for key, item in KEYED.items()},
    }


class Box:
    def __init__(self, content):
        self.content = content


class Shelf(dict):
    """A program's dict subclass with an attribute of its own."""

    def __init__(self, *args):
        super().__init__(*args)
        self.label = "shelf"


def pick(*values):
    return values


def build(rng, depth):
    """A random structure, and the (path, place name) of each module-level container in it."""
    roll = rng.random()
    if depth == 0 or roll < 0.25:
        if rng.random() < 0.5:
            name = rng.choice(sorted(module_places()))
            return module_places()[name], [((), name)]
        return rng.choice([7, "text", ("a", 1), [8, 9], {"k": 1}, None]), []
    children = [build(rng, depth - 1) for _ in range(rng.randint(1, 3))]
    kind = rng.choice(list(_MAKERS) + ["str-dict", "int-dict", "box"])
    if kind == "box":
        child, places = children[0]
        return Box(child), [(("content", *path), name) for path, name in places]
    keyed = kind not in _MAKERS or kind in _KEYED
    keys = [f"k{index}" if keyed else index for index in range(len(children))]
    places = [
        ((key, *path), name) for key, (_, found) in zip(keys, children) for path, name in found
    ]
    values = [child for child, _ in children]
    if kind in _MAKERS:
        return _MAKERS[kind](dict(zip(keys, values)) if keyed else values), places
    return dict(zip(keys, values)), places


#: Kind -> what makes it from a list of values, or (for _KEYED kinds) from a dict of them.
_MAKERS = {
    "list": list,
    "tuple": tuple,
    "deque": collections.deque,
    "partial": lambda values: functools.partial(pick, *values),
    "ordered-dict": collections.OrderedDict,
    "default-dict": lambda items: collections.defaultdict(list, items),
    "counter": collections.Counter,
    "shelf": Shelf,
}
_KEYED = {"ordered-dict", "default-dict", "counter", "shelf"}


def follow(structure, path):
    for step in path:
        if isinstance(structure, Box):
            structure = getattr(structure, step)
        elif isinstance(structure, functools.partial):
            structure = structure.args[step]
        else:
            structure = structure[step]
    return structure


def holder(seed):
    structure, found = build(random.Random(seed), 4)
    _frames.pause("holding")
    return [(path, name, follow(structure, path) is module_places()[name]) for path, name in found]


_frames.instrument(holder)

"""Programs that pause holding an operating-system resource or running state, each reached
another way: a module-level lock, a closure cell, a class only dill can save, a list; and a
local enum class, which neither pickle nor dill can save."""

import enum
import os
import threading
from collections import Counter

from autograms import autograms_function
from autograms.functional import reply

LOCK = threading.Lock()


@autograms_function()
def lock_from_module():
    lock = LOCK
    reply("holding the module's lock")
    return lock.locked()


@autograms_function()
def file_in_closure():
    stream = open(os.devnull)  # noqa: SIM115 - an open file is what the pause refuses

    def first_line():
        return stream.readline()

    reply("a closure over a stream")
    return first_line()


@autograms_function()
def file_in_local_class():
    class Holder:
        stream = open(os.devnull)  # noqa: SIM115 - an open file is what the pause refuses

    holder = Holder()
    reply("a class defined here holds a stream")
    return holder.stream.read()


@autograms_function()
def generator_in_list():
    pending = [(number for number in range(3))]
    next(pending[0])
    reply("a started generator in a list")
    return list(pending[0])


@autograms_function()
def unstarted_generator_over_a_closure():
    limit = 3

    def up_to():
        yield from range(limit)

    numbers = up_to()
    reply("a generator reading a closure variable, not started")
    return list(numbers)


@autograms_function()
def open_file_in_with():
    with open(__file__) as source:
        reply("reading this file")
        return source.readline()


@autograms_function()
def local_enum_beside_local_exception():
    class Oops(Exception):
        pass

    class Mode(enum.Enum):
        A = 1

    mode = Mode.A
    try:
        raise Oops("local")
    except Oops:
        reply("handling an exception of a local class, holding a local enum")
    return mode.name


@autograms_function()
def code_of_no_function():
    # a code object no function of the program owns, whose constants marshal cannot save
    code = compile("print", "<made>", "eval").replace(co_consts=(len,))
    reply("holding a made code object")
    return code.co_name


class Tag:
    """Hashed by its name; its group is a frozenset holding it: no snapshot could rebuild it."""

    def __init__(self, name):
        self.name = name
        self.group = frozenset({self})

    def __hash__(self):
        return hash(self.name)

    def __eq__(self, other):
        return isinstance(other, Tag) and other.name == self.name


class Tally:
    """Hashed by its name; counts itself in a Counter (a dict subclass) it holds."""

    def __init__(self, name):
        self.name = name
        self.counts = Counter({self: 1})

    def __hash__(self):
        return hash(self.name)

    def __eq__(self, other):
        return isinstance(other, Tally) and other.name == self.name


@autograms_function()
def frozenset_keyed_by_its_owner():
    first = reply("a plain pause")
    if first == "tag":
        tag = Tag("t")
        reply("a frozenset keyed by its owner")
        return tag.name
    return reply("no tag") + first


@autograms_function()
def counter_keyed_by_its_owner():
    first = reply("a plain pause")
    if first == "tag":
        tag = Tally("t")
        reply("a Counter keyed by its owner")
        return tag.name
    return reply("no tag") + first


class Crowd:
    """Hashed by its name (None before it has one, as a copy being built); its group is a
    frozenset holding it, past many objects its state holds."""

    def __init__(self, name, size):
        self.name = name
        self.bulk = [[number] for number in range(size)]
        self.group = frozenset({self})

    def __hash__(self):
        return hash(getattr(self, "name", None))

    def __eq__(self, other):
        return isinstance(other, Crowd) and getattr(other, "name", None) == self.name


@autograms_function()
def frozenset_past_the_walk():
    first = reply("a plain pause")
    if first == "tag":
        tag = Crowd("t", 3000)
        reply("a frozenset keyed by its owner, past the walk")
        return tag in tag.group
    return reply("no tag") + first

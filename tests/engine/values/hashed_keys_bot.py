"""Objects hashed by their own state that are keys of dicts and members of sets their own state
holds (a cycle through a hash): directly, inside a tuple key, with colliding hashes, through
``__getstate__``/``__setstate__``, ``__reduce__``, ``__slots__``, a frozen dataclass and a
closure cell; and an acyclic dict of such keys beside them. Pickle would fill each container
while its key has no state yet."""

from dataclasses import dataclass, field

from autograms import autograms_function
from autograms.functional import reply


class Keyed:
    def __init__(self, name):
        self.name = name
        self.index = {self: 0}

    def __hash__(self):
        return hash(self.name)

    def __eq__(self, other):
        return isinstance(other, Keyed) and other.name == self.name


class Lenient:
    """Hashes without its state too (to a different value): pickle's copy would silently
    file it under the wrong hash."""

    def __init__(self, name):
        self.name = name
        self.seen = {self}

    def __hash__(self):
        return hash(getattr(self, "name", None))

    def __eq__(self, other):
        return isinstance(other, Lenient) and getattr(other, "name", None) == getattr(
            self, "name", None
        )


class Colliding:
    __slots__ = ("name", "peers")

    def __init__(self, name, peers):
        self.name = name
        self.peers = peers
        peers.add(self)

    def __hash__(self):
        return len(self.name)

    def __eq__(self, other):
        return isinstance(other, Colliding) and other.name == self.name


class Stated:
    def __init__(self, key, shelf):
        self.key = key
        self.shelf = shelf
        shelf[(self, "first")] = key.upper()

    def __hash__(self):
        return hash(self.key)

    def __eq__(self, other):
        return isinstance(other, Stated) and other.key == self.key

    def __getstate__(self):
        return (self.key, self.shelf)

    def __setstate__(self, state):
        self.key, self.shelf = state


def blank_reduced():
    return Reduced.__new__(Reduced)


class Reduced:
    def __init__(self, name):
        self.name = name
        self.group = {self}

    def __reduce__(self):
        return (blank_reduced, (), {"name": self.name, "group": self.group})

    def __hash__(self):
        return hash(self.name)

    def __eq__(self, other):
        return isinstance(other, Reduced) and other.name == self.name


class Indexed:
    """Its index is reached through a closure cell only (a lambda it holds): the cycle runs
    through a function the snapshot saves by value."""

    def __init__(self, name):
        self.name = name
        index = {}
        self.lookup = lambda: index
        index[self] = "indexed"

    def __hash__(self):
        return hash(self.name)

    def __eq__(self, other):
        return isinstance(other, Indexed) and other.name == self.name


@dataclass(frozen=True)
class Spot:
    x: int
    y: int
    bag: dict = field(default_factory=dict, hash=False, compare=False)


@autograms_function()
def chatbot():
    keyed = Keyed("node")
    lenient = Lenient("len")
    peers = set()
    first, second = Colliding("ab", peers), Colliding("cd", peers)
    shelf = {}
    stated = Stated("k", shelf)
    reduced = Reduced("r")
    spot = Spot(1, 2)
    spot.bag[spot] = "home"
    plain = {Spot(3, 4): "acyclic", keyed: "outer"}
    indexed = Indexed("i")
    answer = reply("first")
    keyed.index[keyed] += 1
    shelf[(Stated("k", {}), "first")] = answer
    peers.add(Colliding("ab", set()))
    reduced.group.add(Reduced("r"))
    spot.bag[Spot(1, 2)] = "same"
    again = reply(
        f"{keyed.index[keyed]} {lenient in lenient.seen} {len(peers)} {first in peers} "
        f"{second in first.peers} {stated.key} {sorted(shelf.values())} {len(reduced.group)} {spot.bag[spot]} "
        f"{plain[Spot(3, 4)]} {plain[Keyed('node')]} {indexed.lookup()[Indexed('i')]}"
    )
    lenient.seen.add(Lenient("len"))
    keyed.index[Keyed("node")] = again
    return f"{len(lenient.seen)} {list(keyed.index.values())} {sorted(c.name for c in peers)}"

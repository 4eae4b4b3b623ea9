# ruff: noqa: F841
"""Shapes: dicts and sets keyed by state-hashed objects in cycles.

Found by the generative differential tester (tests/engine/fuzz) in seed 31, program 4 --focus hashed-keys, minimized.
With the fix of autograms/_frames/hashed_keys.py switched off, on CPython 3.12 the engine
departed from the oracle (this program run as plain Python) in: in_process, serialized and
fresh_process (raise:SessionCodeError): the session could not be read back. Kept as a
regression test.
"""

# First difference (event 3, mode in_process):
#   oracle: ['end']
#   engine: ['raise', "SessionCodeError: the snapshot's saved values cannot be read: AttributeError: 'Rebuilt' object has no attribute 'name'"]
from autograms import autograms_function
from autograms.functional import reply


def blank_rebuilt():
    return Rebuilt.__new__(Rebuilt)


class Rebuilt:
    """Copied through __reduce__ (made blank, its name set with its state), hashed by its
    name, and a member of the group (a set) its state holds."""

    def __init__(self, name, group=None):
        self.name = name
        self.group = set() if group is None else group
        self.group.add(self)

    def __reduce__(self):
        return (blank_rebuilt, (), {"name": self.name, "group": self.group})

    def __hash__(self):
        return hash(self.name)

    def __eq__(self, other):
        return isinstance(other, Rebuilt) and other.name == self.name

    def view(self):
        return (self.name, len(self.group), self in self.group)


@autograms_function()
def main():
    obj7 = Rebuilt("r")
    "q10"
    obj4 = 1
    obj4 = reply("q9")
    "p11"
    s12 = "q13"
    "r"
    obj4 = "same"
    "p14"


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = [""]

#: the oracle's transcript: what plain Python does
EXPECTED = [["out", ""], ["reply", "q9"], ["out", ""], ["end"]]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "shapes: dicts and sets keyed by state-hashed objects in cycles; found with the fix (hashed_keys.py) switched off, passes with it: a regression test"

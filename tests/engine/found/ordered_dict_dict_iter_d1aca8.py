# ruff: noqa: F841
"""New: a resumed loop over an OrderedDict raises another RuntimeError message than plain Python.

Found by the generative differential tester (tests/engine/fuzz) in seed 302, program 43 --exclude global-before-pause,goto-expression,indirect-call,method-before-pause,plain-helper,wraps, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (raise:RuntimeError), serialized (raise:RuntimeError), fresh_process (raise:RuntimeError).
"""

# First difference (event 5, mode in_process):
#   oracle: ['raise', 'RuntimeError: OrderedDict mutated during iteration']
#   engine: ['raise', 'RuntimeError: OrderedDict changed size during iteration']
from autograms import autograms_function
from autograms.functional import reply


from collections import OrderedDict


def kind(exc_type):
    """An exception type's name ("ContinuationError" for any refusal); "signal" for the
    BaseExceptions jumps travel as."""
    if exc_type is None or exc_type is type(None):
        return "-"
    if any(cls.__name__ == "ContinuationError" for cls in exc_type.__mro__):
        return "ContinuationError"
    return exc_type.__name__ if issubclass(exc_type, Exception) else "signal"


class Oops(Exception):
    pass


class CM:
    """Reports its enter and exit; swallows the exception types it is given."""

    def __init__(self, name, swallow=()):
        self.name = name
        self.swallow = swallow

    def __enter__(self):
        print("enter", self.name)
        return self.name

    def __exit__(self, exc_type, exc, tb):
        print("exit", self.name, kind(exc_type))
        return exc_type is not None and issubclass(exc_type, self.swallow)


class Box9:
    @autograms_function()
    @classmethod
    def m12(cls, t10, a11):
        s27 = h15("x y", "a")
        return t10[:3]


@autograms_function()
def h15(t16, xs17):
    with CM("cm19", (Oops, ValueError)) as c20:
        n21 = int(reply("q22"))


@autograms_function()
def main():
    n0 = 1
    items0 = ["a", "b"]
    d0 = OrderedDict(a=1, b=2)
    for k1, v2 in d0.items():
        for w8 in reversed(items0):
            d0[k1.upper()] = v2 + 2
            k1 = str(v2) + ":" + Box9.m12("+".join(items0), n0 + 1) + ":" + w8


@autograms_function()
def chatbot():
    result = main()
    print("result", repr(result))
    return result


SCRIPT = ["a b", "x", "7", "back", "x"]

#: the oracle's transcript: what plain Python does
EXPECTED = [
    ["out", "enter cm19\n"],
    ["reply", "q22"],
    ["out", "exit cm19 ValueError\nenter cm19\n"],
    ["reply", "q22"],
    ["out", "exit cm19 ValueError\n"],
    ["raise", "RuntimeError: OrderedDict mutated during iteration"],
]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "new: a loop over an OrderedDict resumed after a pause raises 'OrderedDict changed size during iteration' where plain Python says 'OrderedDict mutated during iteration'"

# ruff: noqa: B018, F841
"""Shapes: a bare raise in an except* clause after a pause re-raised the whole group; fixed with
except_star_d069da, kept as a regression test.

Found by the generative differential tester (tests/engine/fuzz) in seed 602, program 221 --focus plain-helper, minimized.
On CPython 3.11 the engine departs from the oracle (this program run as plain
Python) in: in_process (raise:ExceptionGroup), serialized (raise:ExceptionGroup), fresh_process (raise:ExceptionGroup).
"""

# First difference (event 2, mode in_process):
#   oracle: ['out', 'exit 1 -\n']
#   engine: ['out', 'exit 1 ExceptionGroup\n']
from autograms import autograms_function
from autograms.functional import reply


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


@autograms_function()
def main():
    n0 = 1
    s0 = "start"
    with CM(n0) as c10:
        items20 = []
        try:
            try:
                s0
                raise ExceptionGroup("outer", [ExceptionGroup("in", [ValueError()]), KeyError()])
            except* ValueError as g21:
                "v"
            except* KeyError as g21:
                reply(c10)
                raise
            finally:
                "fin"
        except* Oops as g21:
            "o"
        except* KeyError as g21:
            "k2"
        "p31"


@autograms_function()
def chatbot():
    result = main()
    repr()
    return result


SCRIPT = [""]

#: the oracle's transcript: what plain Python does
EXPECTED = [
    ["out", "enter 1\n"],
    ["reply", "1"],
    ["out", "exit 1 -\n"],
    ["raise", "TypeError: repr() takes exactly one argument (0 given)"],
]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "shapes: a bare raise in an except* clause after a pause re-raised the whole group; fixed with except_star_d069da, kept as a regression test"

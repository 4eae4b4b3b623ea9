# ruff: noqa: F821, F841
"""Shapes: an object hashed by state, a key of its own dict (a cycle).

Found by the generative differential tester (tests/engine/fuzz) in seed 11, program 287, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (raise:ContinuationError), serialized (raise:ContinuationError), fresh_process (raise:ContinuationError).
"""

# First difference (event 1, mode in_process):
#   oracle: ['reply', 'q79']
#   engine: ['raise', 'ContinuationError']
from autograms import autograms_function
from autograms.functional import reply


import enum


@autograms_function()
def main():
    try:

        class Mode6(enum.Enum):
            A = 1

        mode7 = Mode6
        s5 = "local enum"
    except KeyError as e12:
        pass
    finally:
        obj74 = "node"
        obj71 = "s"
        obj75 = obj74
        obj74 = reply("q79")
        "q76"
        "p80"
        s81 = n0
        obj74 += 1
        "late"
        "p83"


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = []

#: the oracle's transcript: what plain Python does
EXPECTED = [["out", ""], ["reply", "q79"]]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {"3.12": ["fresh_process", "in_process", "serialized"]}

REASON = "shapes: an object hashed by state, a key of its own dict (a cycle)"

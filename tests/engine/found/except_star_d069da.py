# ruff: noqa: F841
"""Shapes: a bare raise in an except* clause after a pause re-raised the whole group (the resume
made the group, not the clause's match, the handled exception); fixed in _frames/sites.py,
kept as a regression test.

Found by the generative differential tester (tests/engine/fuzz) in seed 601, program 29 --exclude plain-helper --focus except-star, minimized.
On CPython 3.11, 3.12 and 3.13 the engine departed from the oracle (this program run as plain
Python) in: in_process (raise:ExceptionGroup), serialized (raise:ExceptionGroup), fresh_process (raise:ExceptionGroup).
"""

# First difference (event 3, mode in_process):
#   oracle: ['raise', 'ExceptionGroup: a (1 sub-exception)']
#   engine: ['raise', 'ExceptionGroup: a (2 sub-exceptions)']
from autograms import autograms_function
from autograms.functional import reply


class Oops(Exception):
    pass


@autograms_function()
def h16():
    items20 = []
    try:
        try:
            "q93"
            raise ExceptionGroup("a", [ValueError(), KeyError(), TypeError()])
        except* ValueError as g21:
            "v"
        except* KeyError as g21:
            reply("q95")
            raise
    except* Oops as g21:
        "o"
    except* KeyError as g21:
        "k2"
    "p97"


@autograms_function()
def main():
    n15 = h16()


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = [""]

#: the oracle's transcript: what plain Python does
EXPECTED = [
    ["out", ""],
    ["reply", "q95"],
    ["out", ""],
    ["raise", "ExceptionGroup: a (1 sub-exception)"],
]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "shapes: a bare raise in an except* clause after a pause re-raised the whole group (the resume made the group, not the clause's match, the handled exception); fixed in _frames/sites.py, kept as a regression test"

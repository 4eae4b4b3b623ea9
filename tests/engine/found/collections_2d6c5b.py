# ruff: noqa: B018, F841
"""Families: a deque changed under its iterator before a pause: after the resume the iterator went on instead of raising 'deque mutated during iteration'; passes with the deque iterator fix, kept as a regression test.

Found by the generative differential tester (tests/engine/fuzz) in seed 101, program 1 --focus classes,closure-factory,collections,functional,generator,itertools,library-values,match-patterns,nested-try,raised-through,signatures, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (out:p11), serialized (out:p11), fresh_process (out:p11).
"""

# First difference (event 2, mode in_process):
#   oracle: ['out', '']
#   engine: ['out', 'p11  []\n']
from autograms import autograms_function
from autograms.functional import reply


from collections import deque


@autograms_function()
def h7():
    c8 = deque()
    it9 = iter(c8)
    it9
    c8.append("m")
    try:
        print("p11", reply("q10"), list(it9))
    except RuntimeError as e12:
        "mutated"
    "q13"
    "p14"


@autograms_function()
def h4(xs5):
    n6 = h7()


@autograms_function()
def main():
    d1 = "a"
    items60 = h4(d1)


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = [""]

#: the oracle's transcript: what plain Python does
EXPECTED = [["out", ""], ["reply", "q10"], ["out", ""], ["end"]]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "families: a deque changed under its iterator before a pause: after the resume the iterator went on instead of raising 'deque mutated during iteration'; passes with the deque iterator fix, kept as a regression test"

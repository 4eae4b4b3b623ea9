"""Families: decimal.getcontext() held in a local was a copy after a pause ('ctx is decimal.getcontext()' False); passes since the current context is saved as current, kept as a regression test.

Found by the generative differential tester (tests/engine/fuzz) in seed 102, program 14 --exclude method-before-pause,plain-helper --focus classes,closure-factory,collections,functional,generator,itertools,library-values,match-patterns,nested-try,raised-through,signatures, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (out:p20), serialized (out:p20).
"""

# First difference (event 2, mode in_process):
#   oracle: ['out', 'p20 3 True\n']
#   engine: ['out', 'p20 3 False\n']
from autograms import autograms_function
from autograms.functional import reply


import decimal


@autograms_function()
def main():
    v18 = decimal.getcontext()
    print("p20", reply("q19"), v18 is decimal.getcontext())


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = ["3", "stop", "", "yes"]

#: the oracle's transcript: what plain Python does
EXPECTED = [["out", ""], ["reply", "q19"], ["out", "p20 3 True\n"], ["end"]]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "families: decimal.getcontext() held in a local was a copy after a pause ('ctx is decimal.getcontext()' False); passes since the current context is saved as current, kept as a regression test"

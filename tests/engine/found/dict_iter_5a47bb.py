"""Issue 10 #4: a dict items() iterator across a pause walks a copy, so a value changed after the pause is not seen; passes on main as of 08165bb, kept as a regression test.

Found by the generative differential tester (tests/engine/fuzz) in seed 8, program 0 --exclude deep-recursion,exc-chain,goto-closure,label-in-finally,locals,module-object,pausing-finally,refusal,super,traceback --focus dict-iter, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (reply), serialized (reply), fresh_process (reply).
"""

# First difference (event 3, mode in_process):
#   oracle: ['reply', "('b', ('a', 1))"]
#   engine: ['reply', "('b', 2)"]
from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def main():
    d0 = {"a": 1, "b": 2}
    for v2 in d0.items():
        reply(v2)
        d0["b"] = v2


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = [""]

#: the oracle's transcript: what plain Python does
EXPECTED = [["out", ""], ["reply", "('a', 1)"], ["out", ""], ["reply", "('b', ('a', 1))"]]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "issue 10 #4: a dict items() iterator across a pause walks a copy, so a value changed after the pause is not seen; passes on main as of 08165bb, kept as a regression test"

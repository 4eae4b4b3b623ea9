# ruff: noqa: F841
"""Issue 10 #8: 400 decorated frames pause, and the next turn raises RecursionError; passes on main as of 08165bb, kept as a regression test.

Found by the generative differential tester (tests/engine/fuzz) in seed 8, program 16 --exclude dict-iter,exc-chain,goto-closure,label-in-finally,locals,module-object,pausing-finally,refusal,super,traceback --focus deep-recursion, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (raise:RecursionError), serialized (raise:RecursionError), fresh_process (raise:RecursionError).
"""

# First difference (event 3, mode in_process):
#   oracle: ['end']
#   engine: ['raise', 'RecursionError: maximum recursion depth exceeded']
from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def rec19(depth20, t21):
    if depth20 <= 0:
        return reply(t21)
    return rec19(depth20 - 1, t21)


@autograms_function()
def main():
    n29 = rec19(400, "q30")


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = [""]

#: the oracle's transcript: what plain Python does
EXPECTED = [["out", ""], ["reply", "q30"], ["out", ""], ["end"]]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "issue 10 #8: 400 decorated frames pause, and the next turn raises RecursionError; passes on main as of 08165bb, kept as a regression test"

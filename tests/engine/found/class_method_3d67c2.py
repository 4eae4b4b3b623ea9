# ruff: noqa: F841
"""New: a pausing call whose result is called at once (Box6.m8(...)(), a classmethod) is refused;
plain Python runs it.

Found by the generative differential tester (tests/engine/fuzz) in seed 101, program 48, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (raise:ContinuationError), serialized (raise:ContinuationError), fresh_process (raise:ContinuationError).
"""

# First difference (event 1, mode in_process):
#   oracle: ['reply', 'q22']
#   engine: ['raise', 'ContinuationError']
from autograms import autograms_function
from autograms.functional import reply


class Box6:
    @classmethod
    @autograms_function()
    def m8(cls, t7):
        t7 += reply("q22")


@autograms_function()
def main():
    s25 = Box6.m8("x y")()


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = []

#: the oracle's transcript: what plain Python does
EXPECTED = [["out", ""], ["reply", "q22"]]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "new: a pausing call whose result is called at once (C.m(...)()) is refused; plain Python runs it"

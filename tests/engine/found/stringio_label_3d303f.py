# ruff: noqa: F841
"""Outside: io.StringIO / io.BytesIO in a local.

Found by the generative differential tester (tests/engine/fuzz) in seed 101, program 32, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (raise:ContinuationError), serialized (raise:ContinuationError), fresh_process (raise:ContinuationError).
"""

# First difference (event 3, mode in_process):
#   oracle: ['reply', 'q24 1']
#   engine: ['raise', 'ContinuationError']
from autograms import autograms_function
from autograms.functional import reply


import io


@autograms_function()
def main():
    n0 = 1
    tries18 = 0
    s19 = reply(f"q20 {tries18}", ADDRESS="L17")
    w22 = 0
    buf23 = io.StringIO("l1\nl2\nl3\n")
    buf23.readline()
    raise ValueError(s19 + reply(f"q24 {n0}"))


@autograms_function()
def chatbot():
    result = main()
    print("result", repr(result))
    return result


SCRIPT = ["", "0", "yes", "7", "3"]

#: the oracle's transcript: what plain Python does
EXPECTED = [
    ["out", ""],
    ["reply", "q20 0"],
    ["out", ""],
    ["reply", "q24 1"],
    ["out", ""],
    ["raise", "ValueError: 0"],
]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "outside: io.StringIO / io.BytesIO in a local; passes on main as of 156ffe3, kept as a regression test"

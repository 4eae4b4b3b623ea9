# ruff: noqa: F841
"""Outside: GOTO to a labelled call inside an expression.

Found by the generative differential tester (tests/engine/fuzz) in seed 101, program 57, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (raise:ContinuationError), serialized (raise:ContinuationError), fresh_process (raise:ContinuationError).
"""

# First difference (event 3, mode in_process):
#   oracle: ['reply', '0']
#   engine: ['raise', 'ContinuationError']
from autograms import autograms_function
from autograms.functional import GOTO, reply


@autograms_function()
def main():
    tries2 = 0
    s3 = "p:" + reply(tries2, ADDRESS="L1")
    GOTO("L1")


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = [""]

#: the oracle's transcript: what plain Python does
EXPECTED = [["out", ""], ["reply", "0"], ["out", ""], ["reply", "0"]]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "outside: GOTO to a labelled call inside an expression; passes on the engine branch (a GOTO from outside the expression re-runs the labelled call's statement), kept as a regression test"

#: the program the oracle runs (GOTO/RETURNTO as loops, refused pauses raise)
REFERENCE = """\
from tests.engine.fuzz.oracle import GOTO, Jump, autograms_function, reply


@autograms_function()
def main():
    tries2 = 0
    while True:
        try:
            s3 = 'p:' + reply(tries2)
            GOTO("L1")
        except Jump as jump:
            if jump.label != 'L1':
                raise
            continue
        break


@autograms_function()
def chatbot():
    result = main()
    'result'
    return result
"""

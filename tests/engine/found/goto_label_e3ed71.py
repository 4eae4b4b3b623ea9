# ruff: noqa: F841
"""New: GOTO back to a labelled call whose arguments hold a list comprehension is refused; plain Python runs it, and the README's 'What is refused' does not list it.

Found by the generative differential tester (tests/engine/fuzz) in seed 20, program 34 --exclude goto-closure,label-in-finally,refuse-class-body, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (raise:ContinuationError), serialized (raise:ContinuationError), fresh_process (raise:ContinuationError).
"""

# First difference (event 1, mode in_process):
#   oracle: ['end']
#   engine: ['raise', 'ContinuationError']
from autograms import autograms_function
from autograms.functional import GOTO


@autograms_function(conv_scope="normal")
def h6(xs7, t8):
    pass


@autograms_function()
def main():
    items0 = "a"
    n1 = "q2"
    tries5 = 0
    n27 = h6([w.upper() for w in items0], n1, ADDRESS="L4")
    if tries5 < 2:
        tries5 += 1
        GOTO("L4")


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = []

#: the oracle's transcript: what plain Python does
EXPECTED = [["out", ""], ["end"]]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "new: GOTO back to a labelled call whose arguments hold a list comprehension is refused; plain Python runs it, and the README's 'What is refused' does not list it"

#: the program the oracle runs (GOTO/RETURNTO as loops, refused pauses raise)
REFERENCE = """\
from tests.engine.fuzz.oracle import GOTO, Jump, autograms_function


@autograms_function(conv_scope="normal")
def h6(xs7, t8):
    pass


@autograms_function()
def main():
    items0 = 'a'
    n1 = 'q2'
    tries5 = 0
    while True:
        try:
            n27 = h6([w.upper() for w in items0], n1)
            if tries5 < 2:
                tries5 += 1
                GOTO("L4")
        except Jump as jump:
            if jump.label != 'L4':
                raise
            continue
        break


@autograms_function()
def chatbot():
    result = main()
    'result'
    return result
"""

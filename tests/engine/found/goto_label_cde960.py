# ruff: noqa: F841
"""Issue 10 #10: a GOTO refused where plain Python runs.

Found by the generative differential tester (tests/engine/fuzz) in seed 20, program 134 --exclude goto-closure,label-in-finally,refuse-class-body, minimized.
On CPython 3.13 the engine departs from the oracle (this program run as plain
Python) in: in_process (raise:ContinuationError), serialized (raise:ContinuationError), fresh_process (raise:ContinuationError).
"""

# First difference (event 3, mode in_process):
#   oracle: ['reply', 't17']
#   engine: ['raise', 'ContinuationError']
from autograms import autograms_function
from autograms.functional import GOTO, reply


class Oops(Exception):
    pass


class Box7:
    def __init__(self, tag):
        self.tag = tag
        self = []

    @autograms_function()
    def m9(self, xs8):
        try:
            raise Oops(reply(self.tag))
        except Oops as e13:
            pass


@autograms_function()
def main():
    items0 = "a"
    s18 = Box7("t17").m9([w.upper() for w in items0], ADDRESS="L5")
    GOTO("L5")


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = [""]

#: the oracle's transcript: what plain Python does
EXPECTED = [["out", ""], ["reply", "t17"], ["out", ""], ["reply", "t17"]]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "issue 10 #10: a GOTO refused where plain Python runs"

#: the program the oracle runs (GOTO/RETURNTO as loops, refused pauses raise)
REFERENCE = """\
from tests.engine.fuzz.oracle import GOTO, Jump, autograms_function, reply


class Oops(Exception):
    pass


class Box7:
    def __init__(self, tag):
        self.tag = tag
        self = []

    @autograms_function()
    def m9(self, xs8):
        try:
            raise Oops(reply(self.tag))
        except Oops as e13:
            pass


@autograms_function()
def main():
    items0 = 'a'
    while True:
        try:
            s18 = Box7("t17").m9([w.upper() for w in items0])
            GOTO("L5")
        except Jump as jump:
            if jump.label != 'L5':
                raise
            continue
        break


@autograms_function()
def chatbot():
    result = main()
    'result'
    return result
"""

# ruff: noqa: F841
"""New: a RETURNTO passing a finally block that pauses is refused; plain Python pauses there.

Found by the generative differential tester (tests/engine/fuzz) in seed 302, program 1298 --exclude global-before-pause,goto-expression,indirect-call,method-before-pause,plain-helper,wraps, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (raise:ContinuationError), serialized (raise:ContinuationError), fresh_process (raise:ContinuationError).
"""

# First difference (event 3, mode in_process):
#   oracle: ['reply', 'q37']
#   engine: ['raise', 'ContinuationError']
from autograms import autograms_function
from autograms.functional import RETURNTO, reply


class Oops(Exception):
    pass


@autograms_function()
def h11(a12):
    pass


class Box28:
    def __init__(self, tag):
        pass

    @autograms_function()
    def m29(self):
        n78 = h32()


@autograms_function()
def h32():
    try:
        RETURNTO("L4")
    except Oops as e35:
        pass
    finally:
        if reply("q37") in ("back", "no", "x"):
            pass


@autograms_function()
def main():
    tries5 = 0
    s6 = reply(f"q7 {tries5}", ADDRESS="L4")
    s84 = h11(sum(len(w) for w in Box28("t83").m29().split()))


@autograms_function()
def chatbot():
    result = main()
    print("result", repr(result))
    return result


SCRIPT = ["0", "12", "back", "no"]

#: the oracle's transcript: what plain Python does
EXPECTED = [
    ["out", ""],
    ["reply", "q7 0"],
    ["out", ""],
    ["reply", "q37"],
    ["out", ""],
    ["reply", "q7 0"],
    ["out", ""],
    ["reply", "q37"],
    ["out", ""],
    ["reply", "q7 0"],
]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "new: a RETURNTO whose way out passes a finally block that pauses is refused (ContinuationError); plain Python pauses there and goes on"

#: the program the oracle runs (GOTO/RETURNTO as loops, refused pauses raise)
REFERENCE = """\
from tests.engine.fuzz.oracle import Jump, RETURNTO, autograms_function, reply


class Oops(Exception):
    pass


@autograms_function()
def h11(a12):
    pass


class Box28:
    def __init__(self, tag):
        pass

    @autograms_function()
    def m29(self):
        n78 = h32()


@autograms_function()
def h32():
    try:
        RETURNTO("L4")
    except Oops as e35:
        pass
    finally:
        if reply("q37") in ("back", "no", "x"):
            pass


@autograms_function()
def main():
    tries5 = 0
    while True:
        try:
            s6 = reply(f"q7 {tries5}")
            s84 = h11(sum(len(w) for w in Box28("t83").m29().split()))
        except Jump as jump:
            if jump.label != 'L4':
                raise
            continue
        break


@autograms_function()
def chatbot():
    result = main()
    print("result", repr(result))
    return result
"""

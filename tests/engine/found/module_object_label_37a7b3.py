# ruff: noqa: F841
"""Issue 10 #6: a module-level list held in a local is a copy after a pause ('m is WORDS' is False); passes on main as of 08165bb, kept as a regression test.

Found by the generative differential tester (tests/engine/fuzz) in seed 8, program 53 --exclude deep-recursion,dict-iter,exc-chain,goto-closure,label-in-finally,locals,pausing-finally,refusal,super,traceback --focus module-object, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (out:p25), serialized (out:p25), fresh_process (out:p25).
"""

# First difference (event 2, mode in_process):
#   oracle: ['out', 'p25 True\n']
#   engine: ['out', 'p25 False\n']
from autograms import autograms_function
from autograms.functional import reply


WORDS = ["alpha", "beta", "gamma"]


@autograms_function()
def h14(t15, a16):
    m17 = WORDS
    tries21 = 0
    s22 = reply(tries21, ADDRESS="L20")
    print("p25", m17 is WORDS)


@autograms_function()
def h9(a10, t11):
    if h14(t11, "q27"):
        pass


@autograms_function()
def main():
    s0 = "start"
    s41 = h9([c for c in s0 if c.isalnum()], s0)


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = [""]

#: the oracle's transcript: what plain Python does
EXPECTED = [["out", ""], ["reply", "0"], ["out", "p25 True\n"], ["end"]]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "issue 10 #6: a module-level list held in a local is a copy after a pause ('m is WORDS' is False); passes on main as of 08165bb, kept as a regression test"

#: the program the oracle runs (GOTO/RETURNTO as loops, refused pauses raise)
REFERENCE = """\
from tests.engine.fuzz.oracle import Jump, autograms_function, reply


WORDS = ["alpha", "beta", "gamma"]


@autograms_function()
def h14(t15, a16):
    m17 = WORDS
    tries21 = 0
    while True:
        try:
            s22 = reply(tries21)
            print('p25', m17 is WORDS)
        except Jump as jump:
            if jump.label != 'L20':
                raise
            continue
        break


@autograms_function()
def h9(a10, t11):
    if h14(t11, 'q27'):
        pass


@autograms_function()
def main():
    s0 = "start"
    s41 = h9([c for c in s0 if c.isalnum()], s0)


@autograms_function()
def chatbot():
    result = main()
    'result'
    return result
"""

# ruff: noqa: F841
"""Issue 10 #2: sorted(key=<decorated function that pauses>) after an earlier pause is accepted instead of refused and resumes to a wrong value; passes on main as of 08165bb, kept as a regression test.

Found by the generative differential tester (tests/engine/fuzz) in seed 8, program 3 --exclude deep-recursion,dict-iter,exc-chain,goto-closure,label-in-finally,locals,module-object,pausing-finally,super,traceback --focus refusal, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (reply), serialized (reply), fresh_process (reply).
"""

# First difference (event 3, mode in_process):
#   oracle: ['raise', 'ContinuationError']
#   engine: ['reply', 'b']
from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def key21(text):
    return reply(text)


@autograms_function()
def main():
    items13 = reply("q14").split()
    items20 = sorted("b", key=key21)


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = [""]

#: the oracle's transcript: what plain Python does
EXPECTED = [["out", ""], ["reply", "q14"], ["out", ""], ["raise", "ContinuationError"]]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "issue 10 #2: sorted(key=<decorated function that pauses>) after an earlier pause is accepted instead of refused and resumes to a wrong value; passes on main as of 08165bb, kept as a regression test"

#: the program the oracle runs (GOTO/RETURNTO as loops, refused pauses raise)
REFERENCE = """\
from tests.engine.fuzz.oracle import autograms_function, refused_reply, reply


@autograms_function()
def key21(text):
    return refused_reply(text)


@autograms_function()
def main():
    items13 = reply('q14').split()
    items20 = sorted('b', key=key21)


@autograms_function()
def chatbot():
    result = main()
    'result'
    return result
"""

"""Issue 10 #2: a pause in a class body inside a decorated function is resumed (the class attribute becomes the user's message) instead of refused.

Found by the generative differential tester (tests/engine/fuzz) in seed 9, program 37 --exclude deep-recursion,dict-iter,exc-chain,goto-closure,label-in-finally,locals,module-object,pausing-finally,super,traceback --focus refusal, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (reply), serialized (reply), fresh_process (reply).
"""

# First difference (event 1, mode in_process):
#   oracle: ['raise', 'ContinuationError']
#   engine: ['reply', 'class body']
from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def main():
    class Local3:
        answer = reply("class body")


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = []

#: the oracle's transcript: what plain Python does
EXPECTED = [["out", ""], ["raise", "ContinuationError"]]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "issue 10 #2: a pause in a class body inside a decorated function is resumed (the class attribute becomes the user's message) instead of refused"

#: the program the oracle runs (GOTO/RETURNTO as loops, refused pauses raise)
REFERENCE = """\
from tests.engine.fuzz.oracle import autograms_function, refused_reply


@autograms_function()
def main():
    class Local3:
        answer = refused_reply("class body")


@autograms_function()
def chatbot():
    result = main()
    'result'
    return result
"""

# ruff: noqa: B007, F841, UP018, UP034
"""Issue 10 #3, wider: 'return f(...)' inside a for loop inside try/finally returned None when the finally block paused (here through an undecorated helper); fixed by 361fdc3, kept as a regression test.

Found by the generative differential tester (tests/engine/fuzz) in seed 8, program 71 --exclude deep-recursion,dict-iter,exc-chain,goto-closure,label-in-finally,locals,module-object,refusal,super,traceback --focus pausing-finally, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (raise:AttributeError), serialized (raise:AttributeError), fresh_process (raise:AttributeError).
"""

# First difference (event 3, mode in_process):
#   oracle: ['end']
#   engine: ['raise', "AttributeError: 'NoneType' object has no attribute 'split'"]
from autograms import autograms_function
from autograms.functional import reply


def ask_plain(question):
    """Undecorated: a pause resumes after its call, which is plain Python here because
    the reply is the last thing it does."""
    return reply(question)


@autograms_function()
def h1(a2):
    try:
        for i6 in range(1):
            return str()
    finally:
        for w10 in ask_plain(a2).split():
            pass


@autograms_function()
def main():
    match h1(sum((len(w) for w in "q19".split()))).split():
        case [s20, *items21]:
            pass


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = [""]

#: the oracle's transcript: what plain Python does
EXPECTED = [["out", ""], ["reply", "3"], ["out", ""], ["end"]]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "issue 10 #3, wider: 'return f(...)' inside a for loop inside try/finally returned None when the finally block paused (here through an undecorated helper); fixed by 361fdc3, kept as a regression test"

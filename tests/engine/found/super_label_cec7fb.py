# ruff: noqa: F841
"""Issue 10 #1: zero-argument super() after a resume raised AttributeError on the first resume of the method in a process (a later one in the same process worked); passes on main as of 08165bb, kept as a regression test.

Found by the generative differential tester (tests/engine/fuzz) in seed 8, program 36 --exclude deep-recursion,dict-iter,exc-chain,goto-closure,label-in-finally,locals,module-object,pausing-finally,refusal,traceback --focus super, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (raise:AttributeError), fresh_process (raise:AttributeError).
"""

# First difference (event 3, mode in_process):
#   oracle: ['end']
#   engine: ['raise', "AttributeError: 'super' object has no attribute 'm2'"]
from autograms import autograms_function
from autograms.functional import reply


class Box1:
    def __init__(self, tag):
        pass

    @autograms_function()
    def m2(self):
        pass


class Sub7(Box1):
    @autograms_function()
    def m2(self):
        s8 = reply("q9")
        super().m2()


@autograms_function()
def main():
    n31 = Sub7("t30").m2()


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = [""]

#: the oracle's transcript: what plain Python does
EXPECTED = [["out", ""], ["reply", "q9"], ["out", ""], ["end"]]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "issue 10 #1: zero-argument super() after a resume raised AttributeError on the first resume of the method in a process (a later one in the same process worked); passes on main as of 08165bb, kept as a regression test"

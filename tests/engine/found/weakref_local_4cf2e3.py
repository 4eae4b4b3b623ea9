"""Outside: a weakref.proxy / weakref.finalize in a local.

Found by the generative differential tester (tests/engine/fuzz) in seed 202, program 7 --exclude delegating-proxy,global-before-pause,goto-expression,indirect-call,method-before-pause,mutable-default,plain-helper,stringio,wraps --focus module-reached,ordered-dict,weakref-local, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (out:p8), serialized (out:p8), fresh_process (out:p8).
"""

# First difference (event 2, mode in_process):
#   oracle: ['out', 'p8  ProxyType\n']
#   engine: ['out', 'p8  Tool\n']
from autograms import autograms_function
from autograms.functional import reply


import weakref


class Tool:
    def __init__(self, name):
        self.name = name

    def label(self, text):
        return f"{self.name}<{text}>"


@autograms_function()
def main():
    n0 = 1
    obj5 = Tool("t7")
    wr6 = weakref.proxy(obj5)
    print("p8", reply(n0), type(wr6).__name__)


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = [""]

#: the oracle's transcript: what plain Python does
EXPECTED = [["out", ""], ["reply", "1"], ["out", "p8  ProxyType\n"], ["end"]]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "outside: a weakref.proxy / weakref.finalize in a local; passes on main as of 156ffe3, kept as a regression test"

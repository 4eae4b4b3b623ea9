"""Outside: a loop over an OrderedDict across a pause.

Found by the generative differential tester (tests/engine/fuzz) in seed 9, program 2 --exclude delegating-proxy,global-before-pause,goto-expression,indirect-call,method-before-pause,module-reached,mutable-default,plain-helper,stringio,weakref-local,wraps --focus dict-iter,ordered-dict, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (out:p18), serialized (out:p18), fresh_process (out:p18).
"""

# First difference (event 4, mode in_process):
#   oracle: ['out', "p18 ('b', ('a', 1)) \n"]
#   engine: ['out', "p18 ('b', 2) \n"]
from autograms import autograms_function
from autograms.functional import reply


from collections import OrderedDict


@autograms_function()
def main():
    s0 = "start"
    d0 = OrderedDict(a=1, b=2)
    for v16 in d0.items():
        print("p18", v16, reply(s0))
        d0["b"] = v16


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = ["", ""]

#: the oracle's transcript: what plain Python does
EXPECTED = [
    ["out", ""],
    ["reply", "start"],
    ["out", "p18 ('a', 1) \n"],
    ["reply", "start"],
    ["out", "p18 ('b', ('a', 1)) \n"],
    ["end"],
]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "outside: a loop over an OrderedDict across a pause; passes on main as of 156ffe3, kept as a regression test"

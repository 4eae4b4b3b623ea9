"""Outside: an object reached through a module object, in a local.

Found by the generative differential tester (tests/engine/fuzz) in seed 202, program 0 --exclude delegating-proxy,global-before-pause,goto-expression,indirect-call,method-before-pause,mutable-default,plain-helper,stringio,wraps --focus module-reached,ordered-dict,weakref-local, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (out:p7), serialized (out:p7), fresh_process (out:p7).
"""

# First difference (event 2, mode in_process):
#   oracle: ['out', 'p7  True\n']
#   engine: ['out', 'p7  False\n']
from autograms import autograms_function
from autograms.functional import reply


TABLE = {"row": ["r"]}


@autograms_function()
def main():
    m6 = TABLE["row"]
    print("p7", reply("q8"), m6 is TABLE["row"])


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = [""]

#: the oracle's transcript: what plain Python does
EXPECTED = [["out", ""], ["reply", "q8"], ["out", "p7  True\n"], ["end"]]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "outside: an object reached through a module object, in a local; passes on main as of 156ffe3, kept as a regression test"

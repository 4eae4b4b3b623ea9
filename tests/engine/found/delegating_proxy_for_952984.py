# ruff: noqa: B007, F841
"""Outside: a delegating __getattr__ proxy in a local.

Found by the generative differential tester (tests/engine/fuzz) in seed 101, program 14, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (raise:SessionCodeError), serialized (raise:SessionCodeError), fresh_process (raise:SessionCodeError).
"""

# First difference (event 3, mode in_process):
#   oracle: ['raise', "TypeError: 'str' object is not callable"]
#   engine: ['raise', "SessionCodeError: the snapshot's saved values cannot be read: RecursionError: maximum recursion depth exceeded"]
from autograms import autograms_function
from autograms.functional import reply


def ask_plain(question):
    """Undecorated: a pause resumes after its call, which is plain Python here because
    the reply is the last thing it does."""
    return reply(question)


class Delegate:
    """Forwards every attribute it lacks to its target."""

    def __init__(self, target):
        self.target = target

    def __getattr__(self, name):
        return getattr(self.target, name)


@autograms_function()
def main():
    n0 = 1
    dp3 = Delegate("a")
    n4 = n0
    for w6 in ask_plain(n4)():
        pass


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = [""]

#: the oracle's transcript: what plain Python does
EXPECTED = [
    ["out", ""],
    ["reply", "1"],
    ["out", ""],
    ["raise", "TypeError: 'str' object is not callable"],
]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "outside: a delegating __getattr__ proxy in a local; passes on main as of 156ffe3, kept as a regression test"

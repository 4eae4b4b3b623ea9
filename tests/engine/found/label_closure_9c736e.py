# ruff: noqa: F841
"""New: decorating a function that has an ADDRESS label and a closure cell raises TypeError (unhashable type: 'CellVar') on 3.13.

Found by the generative differential tester (tests/engine/fuzz) in seed 12, program 2 --exclude deep-recursion,dict-iter,exc-chain,label-in-finally,locals,module-object,pausing-finally,refusal,super,traceback, minimized.
On CPython 3.13 the engine departs from the oracle (this program run as plain
Python) in: in_process (raise:TypeError), serialized (raise:TypeError), fresh_process (raise:TypeError).
"""

# First difference (event 1, mode in_process):
#   oracle: ['end']
#   engine: ['raise', "TypeError: unhashable type: 'CellVar'"]
from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def h5(a6):
    s9 = reply(ADDRESS="L7")
    for i28 in 3:

        def fn29(v):
            nonlocal i28
            i28 += v
            return i28


@autograms_function()
def main():
    pass


@autograms_function()
def chatbot():
    pass


SCRIPT = []

#: the oracle's transcript: what plain Python does
EXPECTED = [["out", ""], ["end"]]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "new: decorating a function that has an ADDRESS label and a closure cell raises TypeError (unhashable type: 'CellVar') on 3.13"

# ruff: noqa: F841
"""New: a call with an ADDRESS label in a finally block is refused when the function is decorated ('ADDRESS is used twice': the compiler writes a finally body twice).

Found by the generative differential tester (tests/engine/fuzz) in seed 12, program 45 --exclude deep-recursion,dict-iter,exc-chain,goto-closure,locals,module-object,refusal,super,traceback --focus pausing-finally, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (raise:ContinuationError), serialized (raise:ContinuationError), fresh_process (raise:ContinuationError).
"""

# First difference (event 1, mode in_process):
#   oracle: ['end']
#   engine: ['raise', 'ContinuationError']
from autograms import autograms_function
from autograms.functional import reply


@autograms_function(conv_scope="normal")
def h12(xs13):
    try:
        pass
    except ValueError as e16:
        pass
    finally:
        s35 = reply(ADDRESS="L33")


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

REASON = "new: a call with an ADDRESS label in a finally block is refused when the function is decorated ('ADDRESS is used twice': the compiler writes a finally body twice)"

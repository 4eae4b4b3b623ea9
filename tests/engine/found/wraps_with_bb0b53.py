# ruff: noqa: F841
"""Outside: a decorated functools.wraps wrapper.

Found by the generative differential tester (tests/engine/fuzz) in seed 101, program 31, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (raise:SessionCodeError), serialized (raise:SessionCodeError), fresh_process (raise:SessionCodeError).
"""

# First difference (event 3, mode in_process):
#   oracle: ['raise', "TypeError: 'str' object does not support the context manager protocol"]
#   engine: ['raise', 'SessionCodeError: cannot resume h1 (/tmp/agfuzz-jcob1xrv/agfz_min_27983_1229.py, paused at line 22): the code of h1 changed since the snapshot was saved (fingerprint 706e5d877b26824ffe71a458533e8628 vs. saved c3ad14670f97a51a0e9b7d90b9fd5084), and no ADDRESS label marks the paused call; a
from autograms import autograms_function
from autograms.functional import reply


import functools


def logged(function):
    """A decorator whose wrapper is itself decorated, as the engine's refusal advises."""

    @autograms_function()
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        return "<" + function(*args, **kwargs) + ">"

    return wrapper


@logged
@autograms_function(conv_scope="normal")
def h1():
    with reply("q2") as c4, "cm3":
        pass


@autograms_function()
def main():
    d0 = h1()


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = [""]

#: the oracle's transcript: what plain Python does
EXPECTED = [
    ["out", ""],
    ["reply", "q2"],
    ["out", ""],
    ["raise", "TypeError: 'str' object does not support the context manager protocol"],
]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "outside: a decorated functools.wraps wrapper; passes on the engine branch (the saved fingerprint picks the wrapper or the function it wraps), kept as a regression test"

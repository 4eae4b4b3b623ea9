# ruff: noqa: B006, F841
"""Outside: a mutable default argument held across a pause.

Found by the generative differential tester (tests/engine/fuzz) in seed 101, program 6, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (out:p20), serialized (out:p20), fresh_process (out:p20).
"""

# First difference (event 2, mode in_process):
#   oracle: ['out', 'p20 True/1/yes\n']
#   engine: ['out', 'p20 False/1/yes\n']
from autograms import autograms_function
from autograms.functional import reply


def fmt(*parts, sep="/"):
    return sep.join(str(part) for part in parts)


@autograms_function()
def collect(item, acc=[]):
    """A mutable default held across a pause: it must still be the default afterwards."""
    answer = reply(f"collect {item}")
    return fmt(acc is collect.__defaults__[0], item, answer)


class Box15:
    def __init__(self, tag):
        pass

    @autograms_function()
    def m18(self, xs16, t17):
        print("p20", fmt(collect(t17)))


@autograms_function()
def h12(t13):
    n14 = Box15("t47").m18("a", t13)


@autograms_function()
def main():
    n0 = 1
    n11 = h12(n0)


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = ["yes", "", "7", ""]

#: the oracle's transcript: what plain Python does
EXPECTED = [["out", ""], ["reply", "collect 1"], ["out", "p20 True/1/yes\n"], ["end"]]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "outside: a mutable default argument held across a pause; passes on main as of 156ffe3, kept as a regression test"

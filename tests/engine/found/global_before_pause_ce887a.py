"""Outside: a global loaded before a pausing call is read again.

Found by the generative differential tester (tests/engine/fuzz) in seed 101, program 20, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (out:p27), serialized (out:p27), fresh_process (raise:NameError).
"""

# First difference (event 2, mode in_process):
#   oracle: ['out', 'p27 v25/v25w/\n']
#   engine: ['out', 'p27 v25w/v25w/\n']
from autograms import autograms_function
from autograms.functional import reply


def fmt(*parts, sep="/"):
    return sep.join(str(part) for part in parts)


@autograms_function()
def h20():
    global PX23
    PX23 = "v25"
    s24 = fmt(PX23, (PX23 := "v25w"), reply("q26"))
    print("p27", s24)


@autograms_function()
def main():
    return h20()


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = [""]

#: the oracle's transcript: what plain Python does
EXPECTED = [["out", ""], ["reply", "q26"], ["out", "p27 v25/v25w/\n"], ["end"]]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "outside: a global loaded before a pausing call is read again; passes on the engine branch (a bare global loaded before a pausing call is saved), kept as a regression test"

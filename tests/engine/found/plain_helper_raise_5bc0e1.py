# ruff: noqa: B016
"""Outside: an undecorated helper with code after its reply().

Found by the generative differential tester (tests/engine/fuzz) in seed 101, program 5, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (reply), serialized (reply), fresh_process (reply).
"""

# First difference (event 5, mode in_process):
#   oracle: ['raise', 'TypeError: exceptions must derive from BaseException']
#   engine: ['reply', '']
from autograms import autograms_function
from autograms.functional import reply


def ask_clean(question):
    """Undecorated, post-processing its reply: the caller must get the processed text."""
    return reply(question).strip().upper() + "!"


@autograms_function()
def main():
    s0 = reply("q1")
    if len(ask_clean("q2")) % 2 == 0:
        raise "3"
    return [c for c in reply(s0) if c]


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = ["", "x"]

#: the oracle's transcript: what plain Python does
EXPECTED = [
    ["out", ""],
    ["reply", "q1"],
    ["out", ""],
    ["reply", "q2"],
    ["out", ""],
    ["raise", "TypeError: exceptions must derive from BaseException"],
]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "outside: an undecorated helper with code after its reply()"

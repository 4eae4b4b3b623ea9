# ruff: noqa: B007, F841
"""Outside: an undecorated helper with code after its reply().

Found by the generative differential tester (tests/engine/fuzz) in seed 602, program 224 --focus plain-helper, minimized.
On CPython 3.11 the engine departs from the oracle (this program run as plain
Python) in: in_process (reply), serialized (reply), fresh_process (reply).
"""

# First difference (event 9, mode in_process):
#   oracle: ['reply', 'q18']
#   engine: ['reply', '1']
from autograms import autograms_function
from autograms.functional import reply


def ask_clean(question):
    """Undecorated, post-processing its reply: the caller must get the processed text."""
    return reply(question).strip().upper() + "!"


def ask_twice(question):
    """Undecorated, with code after its first reply."""
    first = reply(question)
    second = reply(question + "?")
    return first + "+" + second


def ask_both(question):
    """Undecorated, calling undecorated helpers that continue after their replies."""
    return ask_clean(question) + ":" + ask_twice(question)


@autograms_function()
def main():
    n0 = 1
    reply(n0).strip().lower()
    for i7 in range(2):
        match reply("q8"):
            case str() as s9 if s9.isdigit():
                if ask_clean(n0):
                    pass
    else:
        try:
            n17 = ask_both("q18")
        except ZeroDivisionError as e19:
            pass
        finally:
            s24 = reply(n0)()


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = ["", "", "12", ""]

#: the oracle's transcript: what plain Python does
EXPECTED = [
    ["out", ""],
    ["reply", "1"],
    ["out", ""],
    ["reply", "q8"],
    ["out", ""],
    ["reply", "q8"],
    ["out", ""],
    ["reply", "1"],
    ["out", ""],
    ["reply", "q18"],
]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "outside: an undecorated helper with code after its reply()"

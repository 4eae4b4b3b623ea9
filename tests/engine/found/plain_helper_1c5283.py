# ruff: noqa: F841
"""Outside: an undecorated helper with code after its reply().

Found by the generative differential tester (tests/engine/fuzz) in seed 602, program 13 --focus plain-helper, minimized.
On CPython 3.11 the engine departs from the oracle (this program run as plain
Python) in: in_process (raise:ContinuationError), serialized (raise:ContinuationError), fresh_process (raise:ContinuationError).
"""

# First difference (event 3, mode in_process):
#   oracle: ['reply', 'q59']
#   engine: ['raise', 'ContinuationError']
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
    items42 = [c for c in ask_clean("q51").strip().lower() if " "]
    if ask_both("q59"):
        pass


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = [""]

#: the oracle's transcript: what plain Python does
EXPECTED = [["out", ""], ["reply", "q51"], ["out", ""], ["reply", "q59"]]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "outside: an undecorated helper with code after its reply()"

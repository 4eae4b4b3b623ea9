# ruff: noqa: F841
"""Families: a generator not started yet, held in a local across a pause, was refused (plain Python runs it); passes since generators holding no running frame are saved, kept as a regression test.

Found by the generative differential tester (tests/engine/fuzz) in seed 102, program 0 --exclude method-before-pause,plain-helper --focus classes,closure-factory,collections,functional,generator,itertools,library-values,match-patterns,nested-try,raised-through,signatures, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (raise:ContinuationError), serialized (raise:ContinuationError), fresh_process (raise:ContinuationError).
"""

# First difference (event 1, mode in_process):
#   oracle: ['reply', '1']
#   engine: ['raise', 'ContinuationError']
from autograms import autograms_function
from autograms.functional import reply


def ask_plain(question):
    """Undecorated: a pause resumes after its call, which is plain Python here because
    the reply is the last thing it does."""
    return reply(question)


def words(text):
    yield from text.split()
    yield "end"


@autograms_function()
def main():
    n0 = 1
    gen69 = words("q72")
    s71 = "none"
    items70 = s71
    ask_plain(n0)


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = []

#: the oracle's transcript: what plain Python does
EXPECTED = [["out", ""], ["reply", "1"]]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "families: a generator not started yet, held in a local across a pause, was refused (plain Python runs it); passes since generators holding no running frame are saved, kept as a regression test"

"""Outside: a pausing call through handlers[k](), partial() or obj().

Found by the generative differential tester (tests/engine/fuzz) in seed 101, program 25, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (raise:ContinuationError), serialized (raise:ContinuationError), fresh_process (raise:ContinuationError).
"""

# First difference (event 1, mode in_process):
#   oracle: ['reply', 'q3']
#   engine: ['raise', 'ContinuationError']
from autograms import autograms_function
from autograms.functional import reply


class Asker:
    def __init__(self, prefix):
        self.prefix = prefix

    @autograms_function()
    def __call__(self, question):
        return self.prefix + reply(question)


@autograms_function()
def main():
    if Asker("A:")("q3"):
        pass


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = []

#: the oracle's transcript: what plain Python does
EXPECTED = [["out", ""], ["reply", "q3"]]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "outside: a pausing call through handlers[k](), partial() or obj(); passes on the engine branch (the running callable is read from the caller's value stack), kept as a regression test"

# ruff: noqa: F841
"""Issue 10 #5: a handled exception kept in a local loses its __traceback__ across a pause; passes on main as of 08165bb, kept as a regression test.

Found by the generative differential tester (tests/engine/fuzz) in seed 8, program 17 --exclude deep-recursion,dict-iter,goto-closure,label-in-finally,locals,module-object,pausing-finally,refusal,super,traceback --focus exc-chain, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (out:p23), serialized (out:p23), fresh_process (out:p23).
"""

# First difference (event 4, mode in_process):
#   oracle: ['out', "p23 ('ZeroDivisionError', ('integer division or modulo by zero',), '-', '-', False, True)\n"]
#   engine: ['out', "p23 ('ZeroDivisionError', ('integer division or modulo by zero',), '-', '-', False, False)\n"]
from autograms import autograms_function
from autograms.functional import reply


def kind(exc_type):
    """An exception type's name; "signal" for the BaseExceptions jumps travel as."""
    if exc_type is None or exc_type is type(None):
        return "-"
    return exc_type.__name__ if issubclass(exc_type, Exception) else "signal"


def show(exc):
    """What a handler sees of an exception: type, args, cause, context, its frames."""
    return (
        kind(type(exc)),
        exc.args,
        kind(type(exc.__cause__)),
        kind(type(exc.__context__)),
        exc.__suppress_context__,
        exc.__traceback__ is not None,
    )


@autograms_function()
def main():
    s0 = "start"
    try:
        n14 = 1 // len(reply("q15"))
    except ZeroDivisionError as e16:
        err13 = e16
    s21 = reply(s0)
    print("p23", show(err13))


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = ["", ""]

#: the oracle's transcript: what plain Python does
EXPECTED = [
    ["out", ""],
    ["reply", "q15"],
    ["out", ""],
    ["reply", "start"],
    [
        "out",
        "p23 ('ZeroDivisionError', ('integer division or modulo by zero',), '-', '-', False, "
        "True)\n",
    ],
    ["end"],
]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "issue 10 #5: a handled exception kept in a local loses its __traceback__ across a pause; passes on main as of 08165bb, kept as a regression test"

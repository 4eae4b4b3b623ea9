# ruff: noqa: F841
"""Issue 10 #5: an exception in flight through a finally block that pauses loses its __traceback__; passes on main as of 08165bb, kept as a regression test.

Found by the generative differential tester (tests/engine/fuzz) in seed 10, program 162 --exclude deep-recursion,dict-iter,exc-chain,goto-closure,label-in-finally,locals,module-object,refusal,super,traceback, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (out:p28), serialized (out:p28), fresh_process (out:p28).
"""

# First difference (event 2, mode in_process):
#   oracle: ['out', 'p28 (\'ValueError\', ("invalid literal for int() with base 10: \'q18 3\'",), \'-\', \'-\', False, True)\n']
#   engine: ['out', 'p28 (\'ValueError\', ("invalid literal for int() with base 10: \'q18 3\'",), \'-\', \'-\', False, False)\n']
from autograms import autograms_function
from autograms.functional import reply
from autograms.memory import set_persistent_globals


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


class Oops(Exception):
    pass


class Other(Exception):
    pass


with set_persistent_globals():
    total = 0


@autograms_function(conv_scope="normal")
def h9(xs10, a11):
    global total
    try:
        try:
            n17 = int(f"q18 {a11}")
        except (Oops, Other) as e20:
            pass
        finally:
            total += len(reply(a11))
    except ValueError as e27:
        print("p28", show(e27))


@autograms_function()
def main():
    items0 = "a"
    n0 = 3
    n8 = h9(items0, n0)


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = [""]

#: the oracle's transcript: what plain Python does
EXPECTED = [
    ["out", ""],
    ["reply", "3"],
    [
        "out",
        "p28 ('ValueError', (\"invalid literal for int() with base 10: 'q18 3'\",), '-', '-', "
        "False, True)\n",
    ],
    ["end"],
]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "issue 10 #5: an exception in flight through a finally block that pauses loses its __traceback__; passes on main as of 08165bb, kept as a regression test"

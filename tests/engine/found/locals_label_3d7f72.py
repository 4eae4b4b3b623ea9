# ruff: noqa: B007, F841
"""Issue 10 #7: locals() lists the engine's hidden slots (__ag_s0, a for-loop iterator); passes on main as of 08165bb, kept as a regression test.

Found by the generative differential tester (tests/engine/fuzz) in seed 8, program 4 --exclude deep-recursion,dict-iter,exc-chain,goto-closure,label-in-finally,module-object,pausing-finally,refusal,super,traceback --focus locals, minimized.
On CPython 3.12 the engine departs from the oracle (this program run as plain
Python) in: in_process (out:p20), serialized (out:p20), fresh_process (out:p20).
"""

# First difference (event 0, mode in_process):
#   oracle: ['out', "p20 {'t11': 'yes', 'items13': 'yes', 'i14': 'y'}\np20 {'t11': 'yes', 'items13': 'yes', 'i14': 'e'}\np20 {'t11': 'yes', 'items13': 'yes', 'i14': 's'}\n"]
#   engine: ['out', "p20 {'t11': 'yes', 'items13': 'yes', '__ag_s0': <str_ascii_iterator object at 0x7fb6fdb2f970>, 'i14': 'y'}\np20 {'t11': 'yes', 'items13': 'yes', '__ag_s0': <str_ascii_iterator object at 0x7fb6fdb2f970>, 'i14': 'e'}\np20 {'t11': 'yes', 'items13': 'yes', '__ag_s0': <str_ascii_iterator object
from autograms import autograms_function


class Box10:
    @staticmethod
    @autograms_function()
    def m12(t11):
        items13 = t11
        for i14 in items13:
            print("p20", locals())


@autograms_function()
def main():
    n25 = Box10.m12("yes", ADDRESS="L8")


@autograms_function()
def chatbot():
    result = main()
    "result"
    return result


SCRIPT = []

#: the oracle's transcript: what plain Python does
EXPECTED = [
    [
        "out",
        "p20 {'t11': 'yes', 'items13': 'yes', 'i14': 'y'}\n"
        "p20 {'t11': 'yes', 'items13': 'yes', 'i14': 'e'}\n"
        "p20 {'t11': 'yes', 'items13': 'yes', 'i14': 's'}\n",
    ],
    ["end"],
]

#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)
DIVERGES = {}

REASON = "issue 10 #7: locals() lists the engine's hidden slots (__ag_s0, a for-loop iterator); passes on main as of 08165bb, kept as a regression test"

#: the program the oracle runs (GOTO/RETURNTO as loops, refused pauses raise)
REFERENCE = """\
from tests.engine.fuzz.oracle import Jump, autograms_function


class Box10:
    @staticmethod
    @autograms_function()
    def m12(t11):
        items13 = t11
        for i14 in items13:
            print('p20', locals())


@autograms_function()
def main():
    while True:
        try:
            n25 = Box10.m12('yes')
        except Jump as jump:
            if jump.label != 'L8':
                raise
            continue
        break


@autograms_function()
def chatbot():
    result = main()
    'result'
    return result
"""

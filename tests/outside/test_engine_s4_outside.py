"""Outside tests (s4) of issue 10: a resumed program behaves as the same program in plain Python.

Bots a team would write -- a package with helper modules, classes with state and properties,
dataclasses, generators, closures, decorators of their own, ``global``/``nonlocal``, context
managers, random/datetime/decimal values, try/except/finally around replies, recursion -- run as
plain Python (``reply`` takes the next message) and through ``Autogram`` in process, with
serialize/deserialize every turn and with a fresh process per turn (``Autogram.save``/``load``);
the transcripts must be equal.
"""

import sys

import pytest

from tests.outside import s4e_support as S


@pytest.fixture
def folder(tmp_path):
    path = str(tmp_path)
    yield path
    if path in sys.path:
        sys.path.remove(path)


ALL = ("inproc", "serde")
FRESH = ("inproc", "serde", "fresh")
MSGS = ["hi", "a", "b", "c", "d", "e", "f", "g"]


def check(folder, modules, messages=MSGS, modes=ALL, plain=None):
    if isinstance(modules, str):
        modules = {"bot": modules}
    res = S.all_modes(folder, modules, messages, modes=modes, plain=plain)
    for mode in modes:
        assert res[mode] == res["plain"], (mode, res)
    return res


# --- a package with helper modules ---------------------------------------------------------

PACKAGE = {
    "helpers": """
        #HEADER
        import dataclasses

        @dataclasses.dataclass
        class Order:
            items: list = dataclasses.field(default_factory=list)
            note: str = ""

            @property
            def count(self):
                return len(self.items)

            def add(self, item):
                self.items.append(item.strip().lower())
                return self

        @autograms_function()
        def ask_item(order, n):
            text = reply(f"item {n}? ({order.count} so far)")
            return order.add(text)
        """,
    "bot": """
        #HEADER
        from .helpers import Order, ask_item

        @autograms_function()
        def chatbot():
            order = Order()
            for n in range(3):
                order = ask_item(order, n)
            reply(f"{order} {order.count}")
        """,
}


def test_package_with_a_dataclass_and_a_helper_module_resumes(folder):
    check(folder, PACKAGE, [" hi", " Pizza", "COLA ", "x"], modes=FRESH)


def test_class_with_state_properties_and_a_method_that_pauses(folder):
    check(
        folder,
        """
        #HEADER
        class Cart:
            def __init__(self):
                self._items = {}

            @property
            def total(self):
                return sum(self._items.values())

            @total.setter
            def total(self, v):
                self._items = {"all": v}

            @autograms_function()
            def fill(self):
                while True:
                    t = reply(f"add (total {self.total})?")
                    if t == "c":
                        return self.total
                    self._items[t] = self._items.get(t, 0) + 1

        @autograms_function()
        def chatbot():
            cart = Cart()
            n = cart.fill()
            cart.total = n * 10
            reply(f"{n} {cart.total} {cart._items}")
        """,
    )


def test_loops_over_dict_items_set_and_sorted_with_pauses(folder):
    check(
        folder,
        """
        #HEADER
        @autograms_function()
        def chatbot():
            prefs = {"size": None, "crust": None, "cheese": None}
            for k, v in prefs.items():
                prefs[k] = reply(f"{k}?")
            tags = set()
            for k in sorted(prefs):
                tags.add(prefs[k])
            for t in sorted(tags):
                reply(f"tag {t}")
            reply(f"{prefs}")
        """,
        MSGS + ["h", "i"],
    )


def test_try_except_finally_around_replies(folder):
    check(
        folder,
        """
        #HEADER
        @autograms_function()
        def chatbot():
            log = []
            for i in range(2):
                try:
                    n = int(reply(f"number {i}?"))
                    log.append(n)
                except ValueError as e:
                    log.append(str(e)[:20])
                    reply("not a number")
                else:
                    log.append("ok")
                finally:
                    log.append(reply("finally?"))
            reply(f"{log}")
        """,
        ["hi", "x", "y", "3", "z", "w"],
    )


def test_recursion_with_pauses_at_each_level(folder):
    check(
        folder,
        """
        #HEADER
        @autograms_function()
        def ask_tree(depth):
            if depth == 0:
                return [reply("leaf?")]
            here = reply(f"depth {depth}?")
            return [here] + ask_tree(depth - 1) + [depth]

        @autograms_function()
        def chatbot():
            reply(f"{ask_tree(3)}")
        """,
    )


def test_own_decorator_that_is_itself_decorated_resumes(folder):
    check(
        folder,
        """
        #HEADER
        import functools

        CALLS = []

        def traced(f):
            @autograms_function()
            @functools.wraps(f)
            def wrapper(*a, **k):
                CALLS.append(f.__name__)
                r = f(*a, **k)
                return f"<{r}>"
            return wrapper

        @traced
        @autograms_function()
        def ask(q):
            return reply(q)

        @autograms_function()
        def chatbot():
            x = ask("one")
            y = ask("two")
            reply(f"{x} {y}")
        """,
        modes=("inproc", "serde"),
    )


def test_closures_with_nonlocal_counters_and_global(folder):
    check(
        folder,
        """
        #HEADER
        TOTAL = 0

        @autograms_function()
        def chatbot():
            global TOTAL
            TOTAL = 0
            count = 0

            def bump(by):
                nonlocal count
                count += by
                return count

            adders = [lambda x, i=i: x + i for i in range(3)]
            for i in range(2):
                t = reply(f"bump {i} {count}")
                bump(len(t))
                TOTAL += adders[i](count)
            reply(f"{count} {TOTAL} {bump(0)}")
        """,
        modes=("inproc", "serde"),
    )


def test_context_manager_class_around_a_reply(folder):
    check(
        folder,
        """
        #HEADER
        EVENTS = []

        class Span:
            def __init__(self, name):
                self.name = name

            def __enter__(self):
                EVENTS.append("enter " + self.name)
                return self

            def __exit__(self, et, ev, tb):
                EVENTS.append(f"exit {self.name} {et.__name__ if et else None}")
                return et is KeyError

        @autograms_function()
        def chatbot():
            del EVENTS[:]
            with Span("a") as s:
                t = reply(f"in {s.name}")
            with Span("b"):
                u = reply("in b")
                raise KeyError(u)
            reply(f"{t} {u} {EVENTS}")
        """,
        modes=("inproc", "serde"),
    )


def test_random_datetime_decimal_values_in_locals(folder):
    check(
        folder,
        """
        #HEADER
        import datetime
        import decimal
        import fractions
        import random

        @autograms_function()
        def chatbot():
            rng = random.Random(7)
            first = rng.random()
            when = datetime.datetime(2024, 2, 29, 12, 30, tzinfo=datetime.timezone.utc)
            delta = datetime.timedelta(days=1, seconds=5)
            price = decimal.Decimal("19.99")
            frac = fractions.Fraction(1, 3)
            t = reply(f"{first:.6f}")
            second = rng.random()
            u = reply(f"{second:.6f} {when + delta} {price * 3} {frac * 3}")
            reply(f"{rng.randint(1, 1000)} {t} {u}")
        """,
        ["hi", "a", "b", "c"],
        modes=FRESH,
    )


def test_own_code_object_in_a_local_resumes(folder):
    check(
        folder,
        """
        #HEADER
        import inspect

        def helper():
            pass

        @autograms_function()
        def chatbot():
            c1 = helper.__code__
            c2 = inspect.currentframe().f_code
            t = reply("one")
            c3 = inspect.currentframe().f_code  # after a resume too
            u = reply(f"{c3.co_name}")
            reply(f"{c1.co_name} {c2.co_name} {c2.co_argcount} {c3.co_varnames[:2]} {t} {u}")
        """,
        ["hi", "a", "b", "c"],
        modes=FRESH,
    )


def test_other_functions_code_object_in_a_local_resumes(folder):
    check(
        folder,
        """
        #HEADER
        def helper(a, b=1):
            pass

        @autograms_function()
        def chatbot():
            c1 = helper.__code__
            t = reply("one")
            reply(f"{c1.co_name} {c1.co_argcount} {c1 == helper.__code__} {t}")
        """,
        ["hi", "a", "b"],
        modes=FRESH,
    )


# --- objects whose life ends with the pause ------------------------------------------------


def test_temporary_directory_in_a_local_still_exists_after_a_resume(folder):
    check(
        folder,
        """
        #HEADER
        import os
        import tempfile

        @autograms_function()
        def chatbot():
            td = tempfile.TemporaryDirectory()
            path = os.path.join(td.name, "notes.txt")
            with open(path, "w") as f:
                f.write("saved")
            t = reply(f"{os.path.exists(td.name)}")
            ok = os.path.exists(path)
            td.cleanup()
            reply(f"{ok} {os.path.exists(td.name)} {t}")
        """,
        ["hi", "a", "b"],
        modes=FRESH,
    )


def test_finalizer_of_a_live_local_runs_once_when_the_program_drops_it(folder):
    check(
        folder,
        """
        #HEADER
        EV = []

        class Res:
            def __init__(self, n):
                self.n = n

            def __del__(self):
                EV.append(f"del {self.n}")

        @autograms_function()
        def chatbot():
            del EV[:]
            r = Res(1)
            t = reply(f"{EV}")
            u = reply(f"{EV} {r.n}")
            del r
            reply(f"{EV} {t} {u}")
        """,
        ["hi", "a", "b", "c"],
    )


# --- refusals: clear, at the pause, naming what is at fault -------------------------------


def _first_error(folder, source, messages):
    import importlib

    from autograms import Autogram

    pkg = S.write_package(folder, {"bot": source}, "inproc")
    bot = importlib.import_module(pkg + ".bot")
    ag = Autogram(root_function=bot.chatbot, test_mode=True)
    text, memory = ag.reply(messages[0])
    for msg in messages[1:]:
        try:
            text, memory = ag.reply(msg, memory_object=memory)
        except Exception as e:  # noqa: BLE001
            return ag, memory, e
    return ag, memory, None


UNSAVED = {
    "sqlite_connection": ("import sqlite3", "sqlite3.connect(':memory:')", ["sqlite3.Connection"]),
    "thread_local": ("import threading", "threading.local()", ["_local"]),
    "mappingproxy": ("import types", "types.MappingProxyType({'a': 1})", ["mappingproxy"]),
}


@pytest.mark.parametrize("case", sorted(UNSAVED))
def test_unsaveable_local_is_refused_naming_the_local_and_its_type(folder, case):
    imp, expr, words = UNSAVED[case]
    ag, memory, err = _first_error(
        folder,
        f"""
        #HEADER
        {imp}

        @autograms_function()
        def chatbot():
            a = reply("first")
            held = {expr} if a == "bad" else None
            b = reply("second " + a)
            del held
            reply("third " + b)
        """,
        ["hi", "bad"],
    )
    assert err is not None
    msg = str(err)
    assert "'held'" in msg and all(w in msg for w in words), msg
    # the session stays at its last good state
    text, memory = ag.reply("good", memory_object=memory)
    assert text == "second good"
    text, memory = ag.reply("x", memory_object=ag.deserialize(ag.serialize(memory)))
    assert text == "third x"


@pytest.mark.parametrize(
    "stmt",
    [
        "cfg = types.MappingProxyType({'a': 1})\n            t = reply('two')",
        "with decimal.localcontext(prec=5):\n                t = reply('two')",
    ],
)
def test_refusal_of_a_value_dill_cannot_save_does_not_blame_builtins_loads(folder, stmt):
    ag, memory, err = _first_error(
        folder,
        f"""
        #HEADER
        import decimal
        import types

        @autograms_function()
        def chatbot():
            a = reply("first")
            {stmt}
            reply("end " + a + t)
        """,
        ["hi", "a"],
    )
    assert err is None or "builtins.loads" not in str(err), str(err)


# --- a module's function called with a pausing argument ----------------------------------

MODULE_CALL_HELPERS = """
    #HEADER
    def normalize(t):
        return t.strip().lower()

    @autograms_function()
    def ask(q):
        return reply(q)
    """


@pytest.mark.parametrize(
    "expr",
    [
        "json.loads(reply('json?'))",
        "helpers.normalize(reply('q?'))",
        "helpers.normalize(helpers.ask('q?'))",
        "math.floor(float(reply('n?')))",
        "json.dumps({'a': reply('q?')}, sort_keys=True)",
        "collections.Counter(reply('q?'))",
        "FORMATS['up'](reply('q?'))",
    ],
)
def test_module_function_called_with_a_pausing_argument_resumes(folder, expr):
    check(
        folder,
        {
            "helpers": MODULE_CALL_HELPERS,
            "bot": f"""
            #HEADER
            import collections
            import json
            import math

            from . import helpers

            FORMATS = {{"up": str.upper}}

            @autograms_function()
            def chatbot():
                first = reply("first")
                try:
                    d = {expr}
                except ValueError as e:
                    d = type(e).__name__
                reply(f"{{d}} {{first}}")
            """,
        },
        ["hi", "a", " 12 ", "b"],
    )


@pytest.mark.parametrize(
    "expr",
    [
        "os.path.join('a', reply('q?'))",
        "datetime.date.fromisoformat(reply('d?'))",
        "U.up(reply('q?'))",
        "U().down(reply('q?'))",
    ],
)
def test_class_and_nested_module_functions_called_with_a_pausing_argument_resume(folder, expr):
    check(
        folder,
        f"""
        #HEADER
        import datetime
        import os

        class U:
            @staticmethod
            def up(t):
                return t.upper()

            def down(self, t):
                return t.lower()

        @autograms_function()
        def chatbot():
            try:
                d = {expr}
            except ValueError as e:
                d = type(e).__name__
            reply(f"{{d}}")
        """,
        ["hi", "2020-01-02", "b"],
    )


# --- module-level objects (README: "come back as the very same objects") -------------------


@pytest.mark.parametrize(
    "holder, get",
    [
        ("[YES, NO]", "h[0]"),
        ("(YES, 1)", "h[0]"),
        ("{'yes': YES}", "h['yes']"),
        ("Vocab(YES, {'yes': YES})", "h.extra['yes']"),
    ],
)
def test_module_level_list_inside_a_local_container_is_the_modules_list(folder, holder, get):
    check(
        folder,
        f"""
        #HEADER
        import dataclasses

        YES = ["yes", "y"]
        NO = ["no", "n"]

        @dataclasses.dataclass
        class Vocab:
            words: list
            extra: dict

        @autograms_function()
        def chatbot():
            h = {holder}
            t = reply("word?")
            {get}.append(t)
            reply(f"{{YES}} {{{get} is YES}}")
        """,
        ["hi", "a", "b"],
    )


# --- a handled exception's own attributes after a pause in its except block ------------------

EXCEPTIONS = {
    "unicode_decode_error": (
        'b"\\\\xff".decode("utf-8")',
        "UnicodeDecodeError",
        ["encoding", "object", "start", "end", "reason"],
    ),
    "syntax_error": (
        'compile("x = (", "<bot>", "exec")',
        "SyntaxError",
        ["filename", "lineno", "offset", "text", "msg"],
    ),
    "module_not_found": (
        'importlib.import_module("no_such_mod_s4e")',
        "ImportError",
        ["name", "path", "msg"],
    ),
    "system_exit": ("raise SystemExit(3)", "SystemExit", ["code"]),
    "json_decode_error": ('json.loads("{bad")', "json.JSONDecodeError", ["msg", "pos", "lineno"]),
}
LOST = {
    "file_not_found": (
        'open("/nonexistent/s4e")',
        "OSError",
        ["errno", "filename", "strerror", "filename2"],
    ),
    "oserror_two_files": (
        'raise OSError(13, "denied", "/a", None, "/b")',
        "OSError",
        ["errno", "filename", "strerror", "filename2"],
    ),
    "attribute_error": ('"x".nope', "AttributeError", ["name", "obj"]),
    "name_error": ("undefined_name_s4e", "NameError", ["name"]),
}


def _exception_bot(stmt, cls, names):
    return f"""
        #HEADER
        import importlib
        import json

        @autograms_function()
        def chatbot():
            try:
                {stmt}
            except {cls} as e:
                t = reply("caught")
                got = tuple(getattr(e, n, "MISSING") for n in {names!r})
                reply(f"{{got}} {{str(e)}} {{t}}")
            reply("end")
        """


@pytest.mark.parametrize("case", sorted(EXCEPTIONS))
def test_handled_exception_keeps_its_attributes_across_a_pause(folder, case):
    check(folder, _exception_bot(*EXCEPTIONS[case]), ["hi", "a", "b", "c"])


@pytest.mark.parametrize("case", sorted(LOST))
def test_handled_oserror_attributeerror_nameerror_keep_their_attributes_across_a_pause(
    folder, case
):
    check(folder, _exception_bot(*LOST[case]), ["hi", "a", "b", "c"])


# --- a decorator of the team's own, written as a class ---------------------------------------

CLASS_DECORATOR = """
    #HEADER
    import functools

    class Logged:
        calls = []

        def __init__(self, f):
            functools.update_wrapper(self, f)
            self.f = f

        CALL_DECORATOR
        def __call__(self, *a, **k):
            Logged.calls.append(self.f.__name__)
            return "[" + self.f(*a, **k) + "]"

    @Logged
    @autograms_function()
    def ask(q):
        return reply(q)

    @autograms_function()
    def chatbot():
        del Logged.calls[:]
        a = ask("one")
        b = ask(q="two")
        reply(f"{a} {b} {Logged.calls}")
    """


def test_class_based_decorator_with_a_decorated_call_resumes_or_is_refused_at_the_pause(folder):
    from autograms import ContinuationError

    src = CLASS_DECORATOR.replace("CALL_DECORATOR", "@autograms_function()")
    try:
        check(folder, src, ["hi", "a", "b", "c"])
    except ContinuationError:
        pass  # refused at the pause: fine
    import importlib

    from autograms import Autogram

    pkg = S.write_package(folder, {"bot": src}, "inproc")
    bot = importlib.import_module(pkg + ".bot")
    ag = Autogram(root_function=bot.chatbot, test_mode=True)
    try:
        text, memory = ag.reply("hi")
    except ContinuationError:
        return  # refused at the pause
    text, memory = ag.reply("a", memory_object=memory)
    assert text == "two"


def test_class_based_decorator_with_a_plain_call_is_refused_at_the_pause_naming_it(folder):
    import importlib

    from autograms import Autogram, ContinuationError

    src = CLASS_DECORATOR.replace("CALL_DECORATOR", "")
    pkg = S.write_package(folder, {"bot": src}, "inproc")
    bot = importlib.import_module(pkg + ".bot")
    ag = Autogram(root_function=bot.chatbot, test_mode=True)
    with pytest.raises(ContinuationError) as info:
        ag.reply("hi")
    assert "Logged.__call__" in str(info.value)

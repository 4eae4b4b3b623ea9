"""Issue 10's reproducers, written again by the session 12 outside tester (engb), with variants.

Each case: `source` (a bot module without its autograms imports), `messages` (the user's
turns), optionally `reference` (an equivalent plain-Python source when the bot jumps) and
`expect` ("plain": the engine's transcript must be plain Python's in every mode; or
("refused", REASON, turn): the engine must refuse at that turn's pause, naming REASON).
"""

from __future__ import annotations

import textwrap


def case(source, messages, reference=None, expect="plain"):
    return {
        "source": textwrap.dedent(source),
        "reference": textwrap.dedent(reference) if reference else None,
        "messages": list(messages),
        "expect": expect,
    }


MSGS = ["m1", "m2", "m3", "m4", "m5", "m6"]

# ---------------------------------------------------------------- 1. zero-argument super()

SUPER = {
    "super_method_after_pause": case(
        """
        class Base:
            def hi(self, x):
                return f"base-hi {x} {type(self).__name__}"

        class Child(Base):
            @autograms_function()
            def ask(self):
                a = reply("p")
                return super().hi(a)

        @autograms_function()
        def chatbot():
            r = Child().ask()
            reply(r)
        """,
        MSGS[:2],
    ),
    "super_three_levels_each_pausing": case(
        """
        class A:
            @autograms_function()
            def run(self, acc):
                acc.append("A:" + reply("in A"))
                return acc

        class B(A):
            @autograms_function()
            def run(self, acc):
                acc.append("B:" + reply("in B"))
                return super().run(acc)

        class C(B):
            @autograms_function()
            def run(self, acc):
                acc.append("C:" + reply("in C"))
                out = super().run(acc)
                acc.append("C2:" + reply("after"))
                return out

        @autograms_function()
        def chatbot():
            reply(repr(C().run([])))
        """,
        MSGS[:5],
    ),
    "super_in_classmethod_and_decorated_init": case(
        """
        class Base:
            def __init__(self, name):
                self.name = name

            @classmethod
            def make(cls):
                return f"made {cls.__name__}"

        class Child(Base):
            @autograms_function()
            def __init__(self):
                n = reply("name?")
                super().__init__(n)

            @classmethod
            @autograms_function()
            def build(cls):
                reply("building")
                return super().make()

        @autograms_function()
        def chatbot():
            c = Child()
            s = Child.build()
            reply(f"{c.name} {s} {type(c).__name__}")
        """,
        MSGS[:3],
    ),
    "super_after_resume_in_loop_with_self_rebinding_check": case(
        """
        class Base:
            def tag(self):
                return "B"

        class Child(Base):
            def tag(self):
                return "C" + super().tag()

            @autograms_function()
            def loop(self):
                out = []
                for i in range(3):
                    out.append(reply(f"q{i}") + super().tag() + self.tag())
                return out

        @autograms_function()
        def chatbot():
            reply(repr(Child().loop()))
        """,
        MSGS[:4],
    ),
}

# ---------------------------------------------------------------- 2. built-ins, constructors, class bodies

INDIRECT = {
    "map_after_earlier_pause_refused": case(
        """
        @autograms_function()
        def ask(x):
            return reply(f"ask {x}")

        @autograms_function()
        def chatbot():
            first = reply("first")
            got = list(map(ask, [1, 2]))
            reply(f"{first} {got!r}")
        """,
        MSGS[:3],
        expect=("refused", "indirect call", 1),
    ),
    "sorted_key_after_earlier_pause_refused": case(
        """
        @autograms_function()
        def key(x):
            return reply(f"key {x}")

        @autograms_function()
        def chatbot():
            first = reply("first")
            got = sorted([3, 1], key=key)
            reply(f"{first} {got!r}")
        """,
        MSGS[:3],
        expect=("refused", "indirect call", 1),
    ),
    "min_key_first_turn_refused": case(
        """
        @autograms_function()
        def key(x):
            return reply(f"key {x}")

        @autograms_function()
        def chatbot():
            got = min([3, 1], key=key)
            reply(f"{got!r}")
        """,
        MSGS[:3],
        expect=("refused", "indirect call", 0),
    ),
    "decorated_init_gives_instance": case(
        """
        class K:
            @autograms_function()
            def __init__(self, tag):
                self.tag = tag
                self.answer = reply(f"init {tag}")

        @autograms_function()
        def chatbot():
            first = reply("first")
            k = K("a")
            j = [K("b")][0]
            reply(f"{first} {type(k).__name__} {k.tag} {k.answer} {j.tag} {j.answer}")
        """,
        MSGS[:4],
    ),
    "decorated_init_subclass_and_factory_table": case(
        """
        class Base:
            @autograms_function()
            def __init__(self):
                self.answer = reply(f"init {type(self).__name__}")

        class Sub(Base):
            pass

        FACTORIES = {"s": Sub, "b": Base}

        @autograms_function()
        def chatbot():
            made = [FACTORIES[k]() for k in ()]  # nothing paused in a comprehension
            x = FACTORIES["s"]()
            y = Sub()
            reply(f"{type(x).__name__} {x.answer} {type(y).__name__} {y.answer} {made}")
        """,
        MSGS[:3],
    ),
    "undecorated_init_after_pause_refused": case(
        """
        @autograms_function()
        def ask(q):
            return reply(q)

        class K:
            def __init__(self):
                self.answer = ask("init")

        @autograms_function()
        def chatbot():
            first = reply("first")
            k = K()
            reply(f"{first} {k.answer}")
        """,
        MSGS[:3],
        expect=("refused", "constructor", 1),
    ),
    "class_body_refused_first_turn": case(
        """
        @autograms_function()
        def chatbot():
            class C:
                attr = reply("q")
            reply(f"C is {C!r}")
        """,
        MSGS[:2],
        expect=("refused", "class body", 0),
    ),
    "class_body_refused_after_pause": case(
        """
        @autograms_function()
        def chatbot():
            first = reply("first")
            class C:
                attr = reply("q")
            reply(f"{first} {C.attr}")
        """,
        MSGS[:3],
        expect=("refused", "class body", 1),
    ),
    "decorated_new_refused": case(
        """
        class K:
            @autograms_function()
            def __new__(cls):
                self = object.__new__(cls)
                self.answer = reply("new")
                return self

        @autograms_function()
        def chatbot():
            first = reply("first")
            k = K()
            reply(f"{first} {type(k).__name__} {k.answer}")
        """,
        MSGS[:3],
        expect=("refused", "constructor", 1),
    ),
    "init_subclass_pause_refused": case(
        """
        @autograms_function()
        def ask(q):
            return reply(q)

        class Base:
            def __init_subclass__(cls):
                cls.answer = ask("subclass")

        @autograms_function()
        def chatbot():
            first = reply("first")
            class Sub(Base):
                pass
            reply(f"{first} {Sub.answer}")
        """,
        MSGS[:3],
        expect=("refused", None, 1),
    ),
    "functools_reduce_refused": case(
        """
        import functools

        @autograms_function()
        def add(a, b):
            return a + reply(f"add {a} {b}")

        @autograms_function()
        def chatbot():
            first = reply("first")
            got = functools.reduce(add, ["x", "y", "z"])
            reply(f"{first} {got}")
        """,
        MSGS[:4],
        expect=("refused", "indirect call", 1),
    ),
    "str_format_calls_dunder_format_refused": case(
        """
        class Q:
            @autograms_function()
            def __format__(self, spec):
                return reply("fmt")

        @autograms_function()
        def chatbot():
            first = reply("first")
            got = f"<{Q()}>"
            reply(f"{first} {got}")
        """,
        MSGS[:3],
        expect=("refused", None, 1),
    ),
}

# ---------------------------------------------------------------- 3. pending return through with/finally

PENDING = {
    "return_through_with_in_try_finally": case(
        """
        class W:
            def __enter__(self):
                return self
            def __exit__(self, *exc):
                return False

        @autograms_function()
        def inner():
            try:
                with W():
                    return reply("a") + "+m"
            finally:
                reply("f")

        @autograms_function()
        def chatbot():
            reply(f"got {inner()!r}")
        """,
        MSGS[:3],
    ),
    "contextmanager_return_through_finally_pausing_twice": case(
        """
        import contextlib

        LOG = []

        @contextlib.contextmanager
        def cm(tag, log):
            log.append("enter " + tag)
            try:
                yield tag
            finally:
                log.append("exit " + tag)

        @autograms_function()
        def inner(log):
            try:
                with cm("a", log), cm("b", log):
                    return [reply("a"), log[:]]
            finally:
                x = reply("f1")
                log.append(x + reply("f2"))

        @autograms_function()
        def chatbot():
            log = []
            out = inner(log)
            reply(f"got {out!r} {log!r}")
        """,
        MSGS[:4],
        expect=("refused", "unpicklable", 0),
    ),
    "break_and_continue_pending_through_finally": case(
        """
        @autograms_function()
        def chatbot():
            out = []
            for i in range(4):
                try:
                    if i == 1:
                        continue
                    if i == 3:
                        break
                    out.append(i)
                finally:
                    out.append(reply(f"fin {i}"))
            else:
                out.append("else")
            reply(repr(out))
        """,
        MSGS[:5],
    ),
    "exception_pending_through_finally_pause": case(
        """
        @autograms_function()
        def inner():
            try:
                raise KeyError("k")
            finally:
                reply("cleanup")

        @autograms_function()
        def chatbot():
            try:
                inner()
            except KeyError as e:
                reply(f"caught {e!r} {type(e.__context__).__name__}")
        """,
        MSGS[:3],
    ),
    "return_in_finally_overrides_pending_after_pause": case(
        """
        @autograms_function()
        def inner():
            try:
                return "body"
            finally:
                x = reply("fin")
                if x == "m1":
                    return "override"

        @autograms_function()
        def chatbot():
            a = inner()
            b = inner()
            reply(f"{a} {b}")
        """,
        MSGS[:3],
    ),
    "pending_return_value_object_identity": case(
        """
        @autograms_function()
        def inner(shared):
            try:
                return shared
            finally:
                shared.append(reply("fin"))

        @autograms_function()
        def chatbot():
            shared = []
            got = inner(shared)
            reply(f"{got is shared} {got!r} {shared!r}")
        """,
        MSGS[:2],
    ),
    "with_exit_suppresses_after_pause_in_body": case(
        """
        import contextlib

        @autograms_function()
        def chatbot():
            with contextlib.suppress(ValueError):
                x = reply("give")
                int(x)
            y = reply("after")
            with contextlib.suppress(ZeroDivisionError):
                try:
                    1 / 0
                finally:
                    reply("fin")
            reply(f"done {y}")
        """,
        MSGS[:4],
    ),
}

# ---------------------------------------------------------------- 4. dict iterators

DICTITER = {
    "dict_items_sees_new_value": case(
        """
        @autograms_function()
        def chatbot():
            d = {"a": 1, "b": 2}
            out = []
            for k, v in d.items():
                reply(f"{k}={v}")
                d["b"] = 20
                out.append((k, v))
            reply(repr(out))
        """,
        MSGS[:3],
    ),
    "dict_size_change_raises": case(
        """
        @autograms_function()
        def chatbot():
            d = {"a": 1, "b": 2}
            try:
                for k in d:
                    reply(k)
                    d["c"] = 30
            except RuntimeError as e:
                reply(f"raised {e}")
            reply(repr(d))
        """,
        MSGS[:4],
    ),
    "dict_values_iter_held_in_local_and_next": case(
        """
        @autograms_function()
        def chatbot():
            d = {"a": 1, "b": 2, "c": 3}
            it = iter(d.values())
            first = next(it)
            reply(f"first {first}")
            d["b"] = 22
            rest = list(it)
            view = d.keys()
            reply(f"{rest} {list(view)}")
            d["z"] = 9
            reply(f"{list(view)}")
        """,
        MSGS[:4],
    ),
    "dict_pop_and_readd_same_size": case(
        """
        @autograms_function()
        def chatbot():
            d = {"a": 1, "b": 2, "c": 3}
            out = []
            try:
                for k in d:
                    out.append(k)
                    reply(k)
                    if k == "a":
                        del d["c"]
                        d["c2"] = 4
            except RuntimeError as e:
                out.append(str(e))
            reply(repr(out))
        """,
        MSGS[:5],
    ),
    "reversed_dict_and_enumerate_items": case(
        """
        @autograms_function()
        def chatbot():
            d = {"a": 1, "b": 2, "c": 3}
            out = []
            for i, (k, v) in enumerate(reversed(d.items())):
                out.append((i, k, v, reply(k)))
                d["a"] = 100
            reply(repr(out))
        """,
        MSGS[:5],
    ),
    "dict_iter_defaultdict_and_set": case(
        """
        import collections

        @autograms_function()
        def chatbot():
            d = collections.defaultdict(list, {"a": [1]})
            s = {1, 2, 3}
            out = []
            try:
                for k in d:
                    reply(k)
                    d["new"].append(1)
            except RuntimeError as e:
                out.append(str(e))
            try:
                for x in s:
                    reply(str(x))
                    s.add(x + 10)
            except RuntimeError as e:
                out.append(str(e))
            reply(repr(out))
        """,
        MSGS[:6],
    ),
}

# ---------------------------------------------------------------- 5. exception chaining

CHAIN = {
    "cause_context_traceback_after_pause": case(
        """
        import traceback

        def fail():
            raise KeyError("inner")

        @autograms_function()
        def chatbot():
            try:
                try:
                    fail()
                except KeyError as e:
                    raise ValueError("outer") from e
            except ValueError as err:
                reply("handled")
                names = [f.name for f in traceback.extract_tb(err.__traceback__)]
                inner = [f.name for f in traceback.extract_tb(err.__cause__.__traceback__)]
                reply(
                    f"{err.__cause__!r} {err.__context__!r} {err.__suppress_context__} "
                    f"{names} {inner}"
                )
        """,
        MSGS[:3],
    ),
    "implicit_context_and_notes_kept_in_local": case(
        """
        @autograms_function()
        def chatbot():
            saved = None
            try:
                try:
                    {}["x"]
                except KeyError:
                    int("zz")
            except ValueError as e:
                e.add_note("note one")
                saved = e
            reply("paused")
            reply(
                f"{type(saved.__context__).__name__} {saved.__notes__} "
                f"{saved.__traceback__ is not None} {saved.__context__.__traceback__ is not None}"
            )
        """,
        MSGS[:3],
    ),
    "bare_raise_after_pause_in_except": case(
        """
        import traceback

        def fail():
            raise OSError(2, "nope", "file.txt")

        @autograms_function()
        def handler():
            try:
                fail()
            except OSError:
                reply("in except")
                raise

        @autograms_function()
        def chatbot():
            try:
                handler()
            except OSError as e:
                names = [f.name for f in traceback.extract_tb(e.__traceback__)]
                reply(f"{e} {e.errno} {e.filename} {names}")
        """,
        MSGS[:3],
    ),
    "exception_group_after_pause": case(
        """
        @autograms_function()
        def chatbot():
            try:
                raise ExceptionGroup("g", [KeyError("a"), ValueError("b")])
            except* KeyError as eg:
                reply(f"keys {eg.exceptions!r}")
                kept = eg
            except* ValueError as eg2:
                reply(f"vals {eg2.exceptions!r}")
            reply(f"{kept!r}")
        """,
        MSGS[:4],
    ),
    "raise_from_none_after_pause": case(
        """
        @autograms_function()
        def chatbot():
            try:
                try:
                    1 / 0
                except ZeroDivisionError:
                    raise LookupError("x") from None
            except LookupError as e:
                reply("wait")
                reply(f"{e.__cause__} {e.__suppress_context__} {type(e.__context__).__name__}")
        """,
        MSGS[:3],
    ),
}

# ---------------------------------------------------------------- 6. module-level objects in locals

MODULE_OBJECTS = {
    "sentinel_list_dict_alias": case(
        """
        MISSING = object()
        ITEMS = []
        TABLE = {"row": []}

        @autograms_function()
        def chatbot():
            v = MISSING
            al = ITEMS
            row = TABLE["row"]
            reply("p1")
            al.append(1)
            row.append(2)
            reply(f"{v is MISSING} {al is ITEMS} {ITEMS} {row is TABLE['row']} {TABLE}")
        """,
        MSGS[:3],
    ),
    "lambda_reading_global_and_weakref": case(
        """
        import weakref

        class Obj:
            pass

        THING = Obj()
        LIMIT = 3
        CHECK = lambda n: n < LIMIT

        @autograms_function()
        def chatbot():
            global LIMIT
            f = CHECK
            w = weakref.ref(THING)
            reply("p1")
            LIMIT = 10
            reply(f"{f is CHECK} {f(5)} {w() is THING}")
        """,
        MSGS[:3],
    ),
    "module_object_inside_local_containers": case(
        """
        YES = object()
        NO = object()
        CHOICES = [YES, NO]

        class Vocab:
            def __init__(self, **kw):
                self.kw = kw

        @autograms_function()
        def chatbot():
            pair = (YES, NO)
            nested = {"a": [YES], "b": {"c": CHOICES}}
            v = Vocab(yes=YES, choices=CHOICES)
            reply("p1")
            reply(
                f"{pair[0] is YES} {nested['a'][0] is YES} {nested['b']['c'] is CHOICES} "
                f"{v.kw['yes'] is YES} {v.kw['choices'] is CHOICES}"
            )
        """,
        MSGS[:3],
    ),
    "module_level_enum_class_function_module": case(
        """
        import enum
        import json
        import collections

        class Color(enum.Enum):
            RED = 1

        def helper():
            return "h"

        @autograms_function()
        def chatbot():
            m = json
            c = Color.RED
            k = Color
            f = helper
            od = collections.OrderedDict
            reply("p1")
            reply(f"{m is json} {c is Color.RED} {k is Color} {f is helper} {od is collections.OrderedDict}")
        """,
        MSGS[:3],
    ),
    "default_argument_and_class_attribute": case(
        """
        class Registry:
            items = []

        @autograms_function()
        def collect(x, acc=[]):
            acc.append(reply(f"collect {x}"))
            return acc

        @autograms_function()
        def chatbot():
            a = collect(1)
            b = collect(2)
            items = Registry.items
            reply("p")
            items.append(1)
            reply(f"{a is b} {a} {Registry.items} {items is Registry.items}")
        """,
        MSGS[:4],
    ),
    "module_level_set_and_bytearray_alias": case(
        """
        SEEN = set()
        BUF = bytearray(b"ab")
        FROZEN = frozenset({1, 2})

        @autograms_function()
        def chatbot():
            s = SEEN
            b = BUF
            fz = FROZEN
            reply("p1")
            s.add(1)
            b.append(99)
            reply(f"{s is SEEN} {SEEN} {b is BUF} {BUF} {fz is FROZEN}")
        """,
        MSGS[:3],
    ),
}

# ---------------------------------------------------------------- 7. instrumentation showing through

INTROSPECTION = {
    "locals_before_and_after_pause": case(
        """
        @autograms_function()
        def chatbot():
            a = 1
            before = sorted(locals())
            b = reply(f"{before}")
            after = sorted(locals())
            v = sorted(vars())
            d = sorted(dir())
            reply(f"{after} {v} {d}")
        """,
        MSGS[:2],
    ),
    "locals_inside_loop_with_and_except": case(
        """
        import contextlib

        @autograms_function()
        def chatbot():
            for i in range(2):
                with contextlib.nullcontext():
                    try:
                        raise KeyError(i)
                    except KeyError as e:
                        x = reply(f"{sorted(locals())}")
                        y = sorted(locals())
            reply(f"{y} {sorted(locals())}")
        """,
        MSGS[:3],
    ),
    "code_varnames_and_argcount": case(
        """
        import inspect

        @autograms_function()
        def inner(a, b=2, *args, c, **kw):
            code = inspect.currentframe().f_code
            r = reply(f"{code.co_varnames[:6]} {code.co_argcount} {code.co_kwonlyargcount}")
            code = inspect.currentframe().f_code
            return f"{code.co_varnames[:6]} {code.co_argcount} {code.co_kwonlyargcount} {code.co_name}"

        @autograms_function()
        def chatbot():
            reply(inner(1, c=3))
        """,
        MSGS[:2],
    ),
    "traceback_after_resume_has_only_user_frames": case(
        """
        import traceback
        import sys

        def boom():
            raise KeyError("k")

        @autograms_function()
        def middle():
            reply("mid")
            boom()

        @autograms_function()
        def chatbot():
            try:
                middle()
            except KeyError as e:
                tb = traceback.extract_tb(e.__traceback__)
                names = [f.name for f in tb]
                own = [f.filename == __file__ for f in tb]
                reply(f"{names} {own}")
        """,
        MSGS[:2],
    ),
    "stack_after_resume_has_only_user_frames": case(
        """
        import traceback

        def where():
            stack = traceback.extract_stack()
            first = next(i for i, f in enumerate(stack) if f.filename == __file__)
            return [(f.name, f.filename == __file__) for f in stack[first:]]

        @autograms_function()
        def inner():
            reply("wait")
            return where()

        @autograms_function()
        def chatbot():
            reply(repr(inner()))
        """,
        MSGS[:2],
    ),
    "sys_exc_info_in_except_after_pause": case(
        """
        import sys

        @autograms_function()
        def chatbot():
            try:
                raise KeyError("x")
            except KeyError:
                reply("wait")
                t, v, tb = sys.exc_info()
                reply(f"{t.__name__} {v!r} {tb is not None} {tb.tb_frame.f_code.co_name}")
        """,
        MSGS[:3],
    ),
    "f_locals_of_frame_after_pause": case(
        """
        import inspect

        @autograms_function()
        def chatbot():
            a = 1
            reply("wait")
            names = sorted(inspect.currentframe().f_locals)
            reply(f"{names}")
        """,
        MSGS[:2],
    ),
}

# ---------------------------------------------------------------- 8. deep pauses


def deep(depth):
    return case(
        f"""
        @autograms_function()
        def down(n):
            if n == 0:
                return reply("bottom")
            return down(n - 1) + "."

        @autograms_function()
        def chatbot():
            r = down({depth})
            reply(f"{{len(r)}}")
        """,
        MSGS[:2],
        expect="plain-or-refused",
    )


DEEP = {f"deep_{n}": deep(n) for n in (300, 400, 600, 900)}
DEEP["deep_1500_with_limit_raised_at_run_time"] = case(
    """
    import sys

    @autograms_function()
    def down(n):
        if n == 0:
            return reply("bottom")
        return down(n - 1) + "."

    @autograms_function()
    def chatbot():
        sys.setrecursionlimit(4000)
        r = down(1500)
        reply(f"{len(r)}")
    """,
    MSGS[:3],
    expect="plain-or-refused",
)
DEEP["deep_1500_with_limit_raised_at_import"] = case(
    DEEP["deep_1500_with_limit_raised_at_run_time"]["source"]
    .replace("import sys\n", "import sys\n\nsys.setrecursionlimit(4000)\n")
    .replace("    sys.setrecursionlimit(4000)\n", ""),
    MSGS[:3],
    expect="plain-or-refused",
)

# ---------------------------------------------------------------- 10. GOTO to a label above a local's first assignment

PIZZA_REFERENCE = """
SIZES = {"small": 8, "medium": 10, "large": 12}

@autograms_function()
def chatbot():
    while True:
        size = reply("What size: small, medium or large?")
        if size not in SIZES:
            reply("Sorry, only small, medium or large.")
            continue
        break
    while True:
        answer = reply("How many?")
        try:
            count = int(answer)
        except ValueError:
            reply("Please type a whole number.")
            continue
        break
    reply(f"{count} x {size}")
    total = count * SIZES[size]
    reply(f"total {total}")
"""

PIZZA = """
SIZES = {"small": 8, "medium": 10, "large": 12}

@autograms_function()
def chatbot():
    size = reply("What size: small, medium or large?", ADDRESS="ask_size")
    if size not in SIZES:
        reply("Sorry, only small, medium or large.")
        GOTO("ask_size")
    answer = reply("How many?", ADDRESS="ask_count")
    try:
        count = int(answer)
    except ValueError:
        reply("Please type a whole number.")
        GOTO("ask_count")
    reply(f"{count} x {size}")
    total = count * SIZES[size]
    reply(f"total {total}")
"""

GOTOS = {
    "pizza_bad_size_first": case(
        PIZZA, ["huge", "ok", "large", "two", "ok", "3", "ok"], PIZZA_REFERENCE
    ),
    "pizza_all_good": case(PIZZA, ["small", "2", "ok"], PIZZA_REFERENCE),
    "pizza_bad_twice": case(
        PIZZA, ["x", "ok", "y", "ok", "medium", "z", "ok", "1", "ok"], PIZZA_REFERENCE
    ),
    "goto_reads_unbound_local_raises": case(
        """
        @autograms_function()
        def chatbot():
            tries = 0
            a = reply("a?", ADDRESS="top")
            if a == "m1":
                b = "bound"
            tries += 1
            if tries < 2:
                reply(f"tries {tries}")
                del b
                GOTO("top")
            reply(f"b is {b}")
        """,
        ["m1", "m2", "m3", "m4"],
        """
        @autograms_function()
        def chatbot():
            tries = 0
            while True:
                a = reply("a?")
                if a == "m1":
                    b = "bound"
                tries += 1
                if tries < 2:
                    reply(f"tries {tries}")
                    del b
                    continue
                break
            reply(f"b is {b}")
        """,
    ),
    "goto_label_inside_expression_reruns_statement": case(
        """
        @autograms_function()
        def chatbot():
            n = 0
            seen = []
            while n < 3:
                n += 1
                seen.append(n)
                age = int("0" + reply(f"age? {n}", ADDRESS="age").strip("m") or "0") if n < 99 else 0
                if age < 3:
                    GOTO("age")
            reply(f"{n} {seen} {age}")
        """,
        ["m1", "m2", "m3", "m4"],
        """
        @autograms_function()
        def chatbot():
            n = 0
            seen = []
            while n < 3:
                n += 1
                seen.append(n)
                while True:
                    age = int("0" + reply(f"age? {n}").strip("m") or "0") if n < 99 else 0
                    if age < 3:
                        continue
                    break
            reply(f"{n} {seen} {age}")
        """,
    ),
    "returnto_runs_finally_and_exit_once": case(
        """
        import contextlib

        class W:
            def __init__(self, log, tag):
                self.log, self.tag = log, tag
            def __enter__(self):
                self.log.append("in " + self.tag)
            def __exit__(self, *exc):
                self.log.append("out " + self.tag)

        @autograms_function()
        def leaf(log):
            with W(log, "leaf"):
                try:
                    x = reply("leaf?")
                    if x == "back":
                        RETURNTO("menu")
                    return x
                finally:
                    log.append("fin")

        @autograms_function()
        def chatbot():
            log = []
            rounds = 0
            choice = reply("menu?", ADDRESS="menu")
            rounds += 1
            got = leaf(log)
            reply(f"{rounds} {choice} {got} {log}")
        """,
        ["a", "back", "b", "c", "ok"],
        """
        import contextlib

        class W:
            def __init__(self, log, tag):
                self.log, self.tag = log, tag
            def __enter__(self):
                self.log.append("in " + self.tag)
            def __exit__(self, *exc):
                self.log.append("out " + self.tag)

        class Jump(Exception):
            pass

        @autograms_function()
        def leaf(log):
            with W(log, "leaf"):
                try:
                    x = reply("leaf?")
                    if x == "back":
                        raise Jump
                    return x
                finally:
                    log.append("fin")

        @autograms_function()
        def chatbot():
            log = []
            rounds = 0
            while True:
                try:
                    choice = reply("menu?")
                    rounds += 1
                    got = leaf(log)
                except Jump:
                    continue
                break
            reply(f"{rounds} {choice} {got} {log}")
        """,
    ),
}

ALL = {}
for _group in (
    SUPER,
    INDIRECT,
    PENDING,
    DICTITER,
    CHAIN,
    MODULE_OBJECTS,
    INTROSPECTION,
    DEEP,
    GOTOS,
):
    ALL.update(_group)

# ---------------------------------------------------------------- found this session: a refusal the program sees

REFUSAL_IN_FLIGHT = {
    "open_file_then_finally_pauses": case(
        """
        import os
        import tempfile

        @autograms_function()
        def chatbot():
            path = os.path.join(tempfile.gettempdir(), f"s12_engb_{os.getpid()}.txt")
            with open(path, "w") as out:
                out.write("x")
            f = open(path)
            try:
                a = reply("a")
            finally:
                f.close()
                b = reply("f")
            reply(f"{a} {b}")
        """,
        MSGS[:3],
        expect=("refused", None, 0),
    ),
    "contextmanager_then_finally_pauses_after_earlier_pause": case(
        """
        import contextlib

        @contextlib.contextmanager
        def opened():
            yield "res"

        @autograms_function()
        def chatbot():
            start = reply("start")
            try:
                with opened() as r:
                    a = reply("a " + r)
            finally:
                b = reply("f")
            reply(f"{start} {a} {b}")
        """,
        MSGS[:4],
        expect=("refused", None, 1),
    ),
    "comprehension_then_finally_pauses": case(
        """
        @autograms_function()
        def chatbot():
            try:
                a = [reply(f"q{i}") for i in range(2)]
            finally:
                b = reply("f")
            reply(f"{a} {b}")
        """,
        MSGS[:4],
        expect=("refused", None, 0),
    ),
    "refusal_caught_by_except_exception": case(
        """
        import threading

        @autograms_function()
        def chatbot():
            lock = threading.Lock()
            try:
                a = reply("a")
            except Exception as e:
                a = "caught " + type(e).__name__
            del lock
            b = reply(f"then {a}")
            reply(f"{a} {b}")
        """,
        MSGS[:3],
        expect=("refused", None, 0),
    ),
    "refusal_caught_by_retry_loop": case(
        """
        @autograms_function()
        def ask_all(questions):
            return [reply(q) for q in questions]

        @autograms_function()
        def chatbot():
            name = reply("name?")
            for attempt in range(3):
                try:
                    answers = ask_all(["age?", "city?"])
                    break
                except Exception:
                    reply("Sorry, something went wrong, let us try again.")
            else:
                answers = []
            reply(f"{name} {answers}")
        """,
        MSGS[:6],
        expect=("refused", None, 1),
    ),
    "refusal_caught_by_except_base_exception": case(
        """
        @autograms_function()
        def chatbot():
            try:
                a = {reply(f"q{i}") for i in range(2)}
            except BaseException as e:
                a = type(e).__name__
            b = reply(f"f {a}")
            reply(f"{a} {b}")
        """,
        MSGS[:4],
        expect=("refused", None, 0),
    ),
}

REFUSAL_IN_FLIGHT["refusal_swallowed_by_contextlib_suppress"] = case(
    """
    import contextlib

    @autograms_function()
    def survey():
        return {q: reply(q) for q in ("age?", "city?")}

    @autograms_function()
    def chatbot():
        answers = {}
        name = reply("name?")
        with contextlib.suppress(Exception):
            answers = survey()
        reply(f"{name} {answers}")
    """,
    MSGS[:5],
    expect=("refused", None, 1),
)

ALL.update(REFUSAL_IN_FLIGHT)

# a refusal whose message should name what is refused, but another pause on the way out speaks instead
REFUSAL_MESSAGES = {
    "lock_in_callee_caller_finally_pauses": (
        case(
            """
            import threading

            @autograms_function()
            def inner():
                lock = threading.Lock()
                return reply("inner")

            @autograms_function()
            def chatbot():
                try:
                    a = inner()
                finally:
                    b = reply("f")
                reply(f"{a} {b}")
            """,
            MSGS[:3],
        ),
        ("'lock'", "inner"),
    ),
    "lock_in_with_block_whose_exit_pauses": (
        case(
            """
            import threading

            class W:
                def __enter__(self):
                    return self

                @autograms_function()
                def __exit__(self, *exc):
                    reply("exit")

            @autograms_function()
            def chatbot():
                lock = threading.Lock()
                with W():
                    a = reply("a")
                reply(f"{a}")
            """,
            MSGS[:3],
        ),
        ("'lock'",),
    ),
}

ALL.update({name: pair[0] for name, pair in REFUSAL_MESSAGES.items()})

# A new process has its own module state (README, "Per-session globals"): a default argument the
# program filled in an earlier turn is empty there, as for the same program restarted.
MODULE_OBJECTS["default_argument_and_class_attribute"]["modes"] = ("in_process", "serialized")

# ---------------------------------------------------------------- the README's "What is refused", sentence by sentence


def refused(source, turn, reason=None, names=(), messages=MSGS[:4]):
    made = case(source, messages, expect=("refused", reason, turn))
    made["names"] = tuple(names)
    return made


README_REFUSALS = {
    "list_comprehension_message": refused(
        """
        @autograms_function()
        def chatbot():
            first = reply("first")
            got = [reply(f"q{i}") for i in range(2)]
            reply(f"{got}")
        """,
        1,
        "comprehension",
        ("cannot pause inside a list comprehension",),
    ),
    "set_and_dict_comprehension_first_turn": refused(
        """
        @autograms_function()
        def chatbot():
            got = {k: reply(k) for k in ("a", "b")}
            reply(f"{got}")
        """,
        0,
        "comprehension",
        ("comprehension",),
    ),
    "lambda_frame": refused(
        """
        @autograms_function()
        def chatbot():
            first = reply("first")
            ask = lambda q: reply(q)
            got = ask("via lambda")
            reply(f"{got}")
        """,
        1,
        None,
        ("lambda",),
    ),
    "generator_expression_frame": refused(
        """
        @autograms_function()
        def chatbot():
            first = reply("first")
            got = tuple(reply(q) for q in ("a", "b"))
            reply(f"{got}")
        """,
        1,
        None,
        ("generator",),
    ),
    "generator_frame": refused(
        """
        def questions():
            for q in ("a", "b"):
                yield reply(q)

        @autograms_function()
        def chatbot():
            first = reply("first")
            got = []
            for answer in questions():
                got.append(answer)
            reply(f"{got}")
        """,
        1,
        None,
    ),
    "lru_cache_wrapper_named": refused(
        """
        import functools

        @functools.lru_cache
        @autograms_function()
        def ask(q):
            return reply(q)

        @autograms_function()
        def chatbot():
            first = reply("first")
            got = ask("cached")
            reply(f"{got}")
        """,
        1,
        "indirect call",
        ("functools.lru_cache of ask",),
    ),
    "property_getter": refused(
        """
        class P:
            @property
            @autograms_function()
            def value(self):
                return reply("prop")

        @autograms_function()
        def chatbot():
            first = reply("first")
            got = P().value
            reply(f"{got}")
        """,
        1,
        "not a call",
    ),
    "operator_dunder": refused(
        """
        class N:
            @autograms_function()
            def __add__(self, other):
                return reply("add") + other

        @autograms_function()
        def chatbot():
            first = reply("first")
            got = N() + "x"
            reply(f"{got}")
        """,
        1,
        "not a call",
    ),
    "iteration_next": refused(
        """
        class It:
            def __init__(self):
                self.n = 0

            def __iter__(self):
                return self

            @autograms_function()
            def __next__(self):
                self.n += 1
                if self.n > 2:
                    raise StopIteration
                return reply(f"next {self.n}")

        @autograms_function()
        def chatbot():
            first = reply("first")
            got = [x for x in ()]
            for x in It():
                got.append(x)
            reply(f"{got}")
        """,
        1,
        "not a call",
    ),
    "undecorated_between_decorated": refused(
        """
        @autograms_function()
        def ask(q):
            return reply(q)

        def middle():
            out = ask("deep")
            return out + "!"

        @autograms_function()
        def chatbot():
            first = reply("first")
            got = middle()
            reply(f"{got}")
        """,
        1,
        "not instrumented",
        ("middle",),
    ),
    "nested_plain_helper_continuing": refused(
        """
        @autograms_function()
        def chatbot():
            suffix = "!"

            def helper(q):
                return reply(q).upper() + suffix

            first = reply("first")
            got = helper("nested")
            reply(f"{got}")
        """,
        1,
        "helper continues",
        ("helper",),
    ),
    "plain_helper_pausing_in_its_own_try": refused(
        """
        def helper(q):
            try:
                answer = reply(q)
            except ValueError:
                answer = "?"
            return answer.upper()

        @autograms_function()
        def chatbot():
            first = reply("first")
            got = helper("in try")
            reply(f"{got}")
        """,
        1,
        "helper continues",
        ("helper",),
    ),
    "pause_in_enter": refused(
        """
        class W:
            @autograms_function()
            def __enter__(self):
                return reply("enter")

            def __exit__(self, *exc):
                return False

        @autograms_function()
        def chatbot():
            first = reply("first")
            with W() as got:
                pass
            reply(f"{got}")
        """,
        1,
        "with statement",
    ),
    "module_level_lock_in_local": refused(
        """
        import threading

        LOCK = threading.Lock()

        @autograms_function()
        def chatbot():
            first = reply("first")
            guard = LOCK
            got = reply("with lock")
            reply(f"{got}")
        """,
        1,
        "unpicklable",
        ("'guard'", "lock"),
    ),
    "started_generator_in_local": refused(
        """
        def numbers():
            yield 1
            yield 2

        @autograms_function()
        def chatbot():
            g = numbers()
            next(g)
            got = reply("gen")
            reply(f"{got} {next(g)}")
        """,
        0,
        "unpicklable",
        ("'g'", "generator"),
    ),
    "socket_in_local": refused(
        """
        import socket

        @autograms_function()
        def chatbot():
            s = socket.socket()
            try:
                got = reply("sock")
            finally:
                s.close()
            reply(f"{got}")
        """,
        0,
        "unpicklable",
        ("'s'", "socket"),
    ),
    "thread_in_local": refused(
        """
        import threading

        @autograms_function()
        def chatbot():
            t = threading.Thread(target=print)
            got = reply("thread")
            reply(f"{got}")
        """,
        0,
        "unpicklable",
        ("'t'",),
    ),
    "memoryview_in_local": refused(
        """
        @autograms_function()
        def chatbot():
            mv = memoryview(b"abc")
            got = reply("mv")
            reply(f"{got} {bytes(mv)}")
        """,
        0,
        None,
        ("'mv'", "memoryview"),
    ),
    "runtime_wrapper_not_found_again": refused(
        """
        import functools

        def logged(f):
            @functools.wraps(f)
            def wrapper(*args, **kwargs):
                got = f(*args, **kwargs)
                return got + "!"
            return autograms_function()(wrapper)

        def helper():
            return reply("wrapped")

        @autograms_function()
        def chatbot():
            first = reply("first")
            w = logged(helper)
            got = w()
            reply(f"{got}")
        """,
        1,
        None,
    ),
}

README_RESUMES = {
    "plain_helpers_post_process_and_loop": case(
        """
        def ask_clean(q):
            return reply(q).strip().lower()

        def ask_many(qs):
            out = []
            for q in qs:
                out.append(ask_clean(q))
            return out

        @autograms_function()
        def chatbot():
            got = ask_many(["a", "b"])
            again = ask_clean("c")
            reply(f"{got} {again}")
        """,
        [" M1 ", "M2", " x "],
    ),
    "closed_file_stringio_match_unstarted_generator": case(
        """
        import io
        import os
        import re
        import tempfile
        import decimal

        def numbers(n):
            yield from range(n)

        @autograms_function()
        def chatbot():
            path = os.path.join(tempfile.gettempdir(), f"s12_engb_cf_{os.getpid()}.txt")
            with open(path, "w") as fid:
                fid.write("abc")
            buf = io.StringIO("hello world")
            buf.read(6)
            m = re.search(r"(o)(r)", "hello world")
            g = numbers(3)
            ctx = decimal.getcontext()
            reply("p")
            ctx.prec = 5
            try:
                fid.read()
                closed = "readable"
            except ValueError:
                closed = "closed"
            os.remove(path)
            reply(
                f"{fid.name == path} {fid.mode} {closed} {buf.read()} {m.group(0)} {m.span(2)} "
                f"{list(g)} {ctx is decimal.getcontext()} {decimal.getcontext().prec}"
            )
        """,
        MSGS[:3],
    ),
    "callables_looked_up_at_run_time": case(
        """
        import functools

        @autograms_function()
        def ask(q, tag=""):
            return reply(q) + tag

        class Asker:
            @autograms_function()
            def __call__(self, q):
                return reply(q) + "#"

            @autograms_function()
            def named(self):
                return reply("named")

        HANDLERS = {"k": ask}

        @autograms_function()
        def chatbot():
            a = HANDLERS["k"]("h")
            b = functools.partial(ask, "p", tag="+")()
            c = Asker()("call")
            d = getattr(Asker(), "named")()
            reply(f"{a} {b} {c} {d}")
        """,
        MSGS[:5],
    ),
    "module_level_wrapper_resumes": case(
        """
        import functools

        def logged(f):
            @functools.wraps(f)
            def wrapper(*args, **kwargs):
                got = f(*args, **kwargs)
                return got + "!"
            return autograms_function()(wrapper)

        @autograms_function()
        def ask(q):
            return reply(q)

        ask = logged(ask)

        @autograms_function()
        def ask2(q):
            return reply(q) + "?"

        ask2 = logged(logged(ask2))

        @autograms_function()
        def chatbot():
            reply(f"{ask('one')} {ask2('two')}")
        """,
        MSGS[:3],
    ),
    "goto_in_plain_helper_targets_caller_label": case(
        """
        def check(answer):
            if not answer.isdigit():
                reply("digits please")
                GOTO("age")
            return int(answer)

        @autograms_function()
        def chatbot():
            tries = 0
            tries += 1
            age = check(reply("age?", ADDRESS="age"))
            reply(f"{age} {tries}")
        """,
        ["x", "ok", "12", "ok"],
        """
        class Jump(Exception):
            pass

        def check(answer):
            if not answer.isdigit():
                reply("digits please")
                raise Jump
            return int(answer)

        @autograms_function()
        def chatbot():
            tries = 0
            tries += 1
            while True:
                try:
                    age = check(reply("age?"))
                except Jump:
                    continue
                break
            reply(f"{age} {tries}")
        """,
    ),
}

ALL.update(README_REFUSALS)
ALL.update(README_RESUMES)

GOTO_REFUSALS = {
    "goto_to_label_from_a_variable": refused(
        """
        @autograms_function()
        def chatbot():
            name = "ask" + "_age"
            age = reply("age?", ADDRESS=name)
            if not age.isdigit():
                GOTO("ask_age")
            reply(age)
        """,
        1,
        "unknown label",
        ("ADDRESS=",),
        ["x", "1", "ok"],
    ),
    "goto_into_loop_from_outside": refused(
        """
        @autograms_function()
        def chatbot():
            first = reply("first")
            for i in range(2):
                got = reply(f"loop {i}", ADDRESS="inside")
            if first == "m1":
                GOTO("inside")
            reply(got)
        """,
        3,
        "jump into block",
    ),
    "goto_out_of_with": refused(
        """
        import contextlib

        @autograms_function()
        def chatbot():
            first = reply("first", ADDRESS="top")
            with contextlib.nullcontext():
                again = reply("inside")
                if again == "m2":
                    GOTO("top")
            reply(again)
        """,
        2,
        "jump skips cleanup",
    ),
    "goto_out_of_finally_with_exception_pending": refused(
        """
        @autograms_function()
        def chatbot():
            first = reply("first", ADDRESS="top")
            try:
                if first == "m1":
                    raise KeyError("pending")
            finally:
                again = reply("inside")
                if again == "m2":
                    GOTO("top")
            reply(again)
        """,
        2,
        "jump skips cleanup",
        messages=["m1", "m2", "m3", "m4", "m5"],
    ),
}

ALL.update(GOTO_REFUSALS)

# A GOTO out of a finally entered without an exception acts as `continue` in the loop version
GOTOS.update(
    {
        "goto_out_of_finally_return_pending": case(
            """
    @autograms_function()
    def inner():
        first = reply("first", ADDRESS="top")
        try:
            return "returned " + first
        finally:
            again = reply("inside")
            if again == "m2":
                GOTO("top")
    @autograms_function()
    def chatbot():
        reply(inner())
    """,
            ["m1", "m2", "m3", "m4", "m5"],
            """
    @autograms_function()
    def inner():
        while True:
            first = reply("first")
            try:
                return "returned " + first
            finally:
                again = reply("inside")
                if again == "m2":
                    continue
    @autograms_function()
    def chatbot():
        reply(inner())
    """,
        ),
        "goto_out_of_except_handler": case(
            """
    @autograms_function()
    def chatbot():
        first = reply("first", ADDRESS="top")
        try:
            raise KeyError(first)
        except KeyError as e:
            again = reply(f"inside {e}")
            if again == "m2":
                GOTO("top")
        reply(again)
    """,
            ["m1", "m2", "m3", "m4", "m5"],
            """
    @autograms_function()
    def chatbot():
        while True:
            first = reply("first")
            try:
                raise KeyError(first)
            except KeyError as e:
                again = reply(f"inside {e}")
                if again == "m2":
                    continue
            break
        reply(again)
    """,
        ),
    }
)
ALL.update(GOTOS)


# ---------------------------------------------------------------- more of what users write (session 12)

M = MSGS
MORE = {
    "del_local_then_read_after_pause": case(
        """
    @autograms_function()
    def chatbot():
        x = 1
        y = 2
        del x
        r = reply("p")
        try:
            print(x)
        except UnboundLocalError as e:
            r = r + " unbound " + str(e)
        if r.startswith("m"):
            z = 5
        r2 = reply(r)
        try:
            r2 = r2 + str(z)
        except UnboundLocalError as e:
            r2 = "z unbound"
        reply(r2)
    """,
        M,
    ),
    "bound_method_and_self_shared": case(
        """
    class C:
        def __init__(self):
            self.n = 0
        def inc(self):
            self.n += 1
            return self.n
    @autograms_function()
    def chatbot():
        o = C()
        f = o.inc
        f()
        reply("p")
        f()
        reply(f"{o.n} {f.__self__ is o}")
    """,
        M,
    ),
    "super_object_in_local": case(
        """
    class Base:
        def hi(self):
            return "base"
    class Child(Base):
        @autograms_function()
        def run(self):
            s = super()
            reply("p")
            return s.hi()
    @autograms_function()
    def chatbot():
        reply(Child().run())
    """,
        M,
    ),
    "local_class_and_instances": case(
        """
    import dataclasses
    @autograms_function()
    def chatbot():
        class Local:
            def __init__(self, v):
                self.v = v
        @dataclasses.dataclass
        class Point:
            x: int
            y: int = 0
        a = Local(1)
        p = Point(1)
        reply("p")
        b = Local(2)
        reply(f"{isinstance(a, Local)} {type(a) is type(b)} {a.v} {p == Point(1)} {p}")
    """,
        M,
    ),
    "self_referencing_containers": case(
        """
    @autograms_function()
    def chatbot():
        a = []
        a.append(a)
        d = {}
        d["self"] = d
        t = (a, d)
        reply("p")
        reply(f"{a[0] is a} {d['self'] is d} {t[0] is a} {repr(a)} {repr(d)}")
    """,
        M,
    ),
    "assert_message_pauses": case(
        """
    @autograms_function()
    def chatbot():
        first = reply("first")
        try:
            assert first == "zz", reply("assert message")
        except AssertionError as e:
            reply(f"assert {e}")
    """,
        M,
    ),
    "with_two_items_second_pauses": case(
        """
    class Rec:
        def __init__(self, log, tag):
            self.log, self.tag = log, tag
        def __enter__(self):
            self.log.append("in " + self.tag)
            return self.tag
        def __exit__(self, *e):
            self.log.append("out " + self.tag)
    @autograms_function()
    def chatbot():
        log = []
        with Rec(log, "a") as a, Rec(log, reply("tag?")) as b:
            log.append(reply(f"{a} {b}"))
        reply(repr(log))
    """,
        M,
    ),
    "slice_and_del_with_pauses": case(
        """
    @autograms_function()
    def chatbot():
        s = "abcdefgh"
        d = {"m1": 1, "m2": 2, "k": 3}
        x = s[len(reply("a")):len(reply("b")) + 3]
        del d[reply("key?")]
        reply(f"{x} {sorted(d)}")
    """,
        ["m1", "m22", "m2", "ok"],
    ),
    "format_percent_and_str_format": case(
        """
    @autograms_function()
    def chatbot():
        a = "%s-%s" % (reply("a"), reply("b"))
        b = "{0}|{k}".format(reply("c"), k=reply("d"))
        reply(a + b)
    """,
        M,
    ),
    "star_args_and_kwargs_pause": case(
        """
    def show(*args, **kw):
        return f"{args} {sorted(kw.items())}"
    @autograms_function()
    def chatbot():
        base = ["x"]
        out = show(*base, reply("a"), *[reply("b")], k=reply("c"), **{"z": reply("d")})
        reply(out)
    """,
        M,
    ),
    "many_locals_p1": case(
        "@autograms_function()\ndef chatbot():\n"
        + "".join(f"    v{i} = {i}\n" for i in range(40))
        + "    r = reply('p')\n"
        + "    reply(str(["
        + ", ".join(f"v{i}" for i in range(40))
        + "]) + r)\n",
        M,
    ),
    "long_function_extended_args": case(
        "@autograms_function()\ndef chatbot():\n    acc = []\n    for i in range(2):\n"
        + "".join(f"        acc.append({i} * i if i % 2 else {i})\n" for i in range(300))
        + "        acc.append(reply(f'loop {i} {sum(acc)}'))\n"
        + "".join(f"        acc.append(-{i})\n" for i in range(300))
        + "    reply(str(sum(acc[:-1])) + str(len(acc)))\n",
        M,
    ),
    "traceback_line_numbers_after_resume": case(
        """
    import traceback
    def boom(x):
        raise KeyError(x)
    @autograms_function()
    def middle():
        a = reply("mid")
        b = [1, 2, 3]
        return boom(a + "-" + "long argument text that pushes the column of this call well past column one hundred and twenty eight")
    @autograms_function()
    def chatbot():
        try:
            middle()
        except KeyError as e:
            reply(str([(f.name, f.lineno, f.colno if hasattr(f, 'colno') else None) for f in traceback.extract_tb(e.__traceback__)]))
    """,
        M,
    ),
    "nan_and_inf_and_negzero": case(
        """
    import math
    @autograms_function()
    def chatbot():
        x = float("nan")
        lst = [x, -0.0, math.inf]
        reply("p")
        reply(f"{x in lst} {math.copysign(1, lst[1])} {lst[2]}")
    """,
        M,
    ),
    "int_subclass_with_attrs_and_str_subclass": case(
        """
    class Tagged(int):
        pass
    class Name(str):
        def shout(self):
            return self.upper() + self.suffix
    @autograms_function()
    def chatbot():
        t = Tagged(5)
        t.tag = "five"
        n = Name("ada")
        n.suffix = "!"
        reply("p")
        reply(f"{t + 1} {t.tag} {type(t).__name__} {n.shout()} {type(n).__name__}")
    """,
        M,
    ),
    "dataclass_variants": case(
        """
    import dataclasses
    @dataclasses.dataclass(frozen=True)
    class F:
        a: int
        b: tuple = ()
    @dataclasses.dataclass(slots=True)
    class S:
        a: int
        items: list = dataclasses.field(default_factory=list)
    @autograms_function()
    def chatbot():
        f = F(1, (2,))
        s = S(1)
        s.items.append(f)
        reply("p")
        s.items.append(F(1, (2,)))
        reply(f"{f} {s} {s.items[0] is f} {hash(f) == hash(F(1, (2,)))} {s.items[0] == s.items[1]}")
    """,
        M,
    ),
    "exception_group_star_pause": case(
        """
    @autograms_function()
    def chatbot():
        log = []
        try:
            try:
                raise ExceptionGroup("g", [KeyError("a"), ValueError("b"), TypeError("c")])
            except* KeyError as eg:
                log.append(reply(f"keys {eg.exceptions!r}"))
            except* ValueError as eg:
                log.append(reply(f"vals {eg.exceptions!r}"))
                raise RuntimeError("again")
        except* TypeError as rest:
            log.append(repr(rest.exceptions))
        except* RuntimeError as r:
            log.append(repr(r.exceptions))
        reply(repr(log))
    """,
        M,
    ),
    "for_else_pause_in_else": case(
        """
    @autograms_function()
    def chatbot():
        out = []
        for i in range(2):
            out.append(i)
        else:
            out.append(reply("else"))
        while len(out) < 5:
            out.append(reply("while"))
            if out[-1] == "m3":
                break
        else:
            out.append(reply("while else"))
        reply(repr(out))
    """,
        M,
    ),
    "generator_not_started_and_used_up": case(
        """
    @autograms_function()
    def chatbot():
        data = [1, 2, 3]
        g = (x * 2 for x in data)
        h = iter(data)
        next(h)
        m = map(str, data)
        reply("p")
        data.append(4)
        reply(f"{list(g)} {list(h)} {list(m)}")
    """,
        M,
    ),
}

# issue 10 (7): the engine's hidden locals seen through the frame (f_locals, what pdb shows)
HIDDEN_LOCALS = {
    "f_locals_in_loop_with_except": case(
        """
        import contextlib
        import inspect
        import sys

        @autograms_function()
        def chatbot():
            out = []
            for i in range(2):
                with contextlib.nullcontext():
                    try:
                        raise KeyError(i)
                    except KeyError as e:
                        x = reply(f"q{i}")
                        out.append(sorted(inspect.currentframe().f_locals))
                        out.append(sorted(sys._getframe().f_locals))
            reply(repr(out))
        """,
        MSGS,
    ),
    "caller_f_locals_after_resume": case(
        """
        import sys

        @autograms_function()
        def inner():
            reply("inner")
            return sorted(sys._getframe(1).f_locals)

        @autograms_function()
        def chatbot():
            acc = []
            for i in range(2):
                acc.append(inner())
            reply(repr(acc))
        """,
        MSGS,
    ),
    "f_locals_before_first_pause": case(
        """
    import inspect
    @autograms_function()
    def chatbot():
        out = []
        for i in range(1):
            out.append(sorted(inspect.currentframe().f_locals))
        for j in "a":
            x = reply(str(sorted(inspect.currentframe().f_locals)))
        reply(repr(out))
    """,
        M,
    ),
    "locals_dict_snapshot_held": case(
        """
    @autograms_function()
    def chatbot():
        a = 1
        snap = locals()
        reply("p")
        a = 2
        reply(f"{sorted(snap)} {snap['a']}")
    """,
        M,
    ),
}

ALL.update(MORE)
ALL.update(HIDDEN_LOCALS)

"""Function shapes: methods, closures, argument kinds, recursion, deep chains, exec'd code."""

import functools

from tests.engine.harness import Case, checkpoint, resumable


class Interviewer:
    prefix = "Q"

    def __init__(self, name):
        self.name = name
        self.answers = []

    @resumable
    def ask(self, question):
        self.answers.append(checkpoint(f"{self.prefix}:{self.name}:{question}"))
        return len(self.answers)

    @resumable
    def interview(self, questions):
        for question in questions:
            self.ask(question)
        return self.answers

    @classmethod
    @resumable
    def create_and_run(cls, name):
        interviewer = cls(name)
        interviewer.ask("first")
        return cls.shout(interviewer.answers[0]) + checkpoint("classmethod done")

    @staticmethod
    @resumable
    def shout(text):
        return text.upper() + checkpoint(("static", text))


@resumable
def methods():
    bot = Interviewer("ana")
    answers = bot.interview(["a", "b"])
    return answers, Interviewer.create_and_run("bo")


@resumable
def closures_share_cells():
    count = 0
    names = []

    def bump(step):
        nonlocal count
        count += step
        return count

    names.append(checkpoint(("count", count)))
    bump(2)
    names.append(checkpoint(("count", count)))
    bump(3)
    return count, names, bump(0)


@resumable
def argument_kinds(a, b=2, *rest, key="k", flag=False, **extra):
    first = checkpoint((a, b, rest, key, flag, sorted(extra)))
    return a, b, rest, key, flag, extra, first


@resumable
def recursion(n):
    if n == 0:
        return [checkpoint("bottom")]
    return [n, *recursion(n - 1), checkpoint(("up", n))]


@resumable
def level5(seed):
    l5a, l5b, l5c = seed, seed * 2, [seed]
    l5c.append(checkpoint(("level5", seed)))
    return l5a + l5b, l5c


@resumable
def level4(seed):
    acc = []
    for i in range(2):
        acc.append(level5(seed + i))
    return acc


@resumable
def level3(seed):
    try:
        return {"three": level4(seed)}
    finally:
        print("level3 finally")


@resumable
def level2(seed):
    with open_marker("two"):
        return [level3(seed), checkpoint("level2 tail")]


@resumable
def five_deep():
    return level2(1)


class open_marker:  # noqa: N801 - reads like the built-in it stands in for
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        print("enter", self.name)

    def __exit__(self, *exc):
        print("exit", self.name)


def plain_helper(question):
    print("plain helper runs before the pause")
    return checkpoint(question)


@resumable
def pause_through_plain_helper():
    first = plain_helper("asked by a helper")
    second = plain_helper("again")
    return first + second


@resumable
def many_locals():
    v00 = v01 = v02 = v03 = v04 = v05 = v06 = v07 = 0
    v08 = v09 = v10 = v11 = v12 = v13 = v14 = v15 = 1
    o, p = 15, 16
    p, o = o, p
    q = o + p
    r = checkpoint(("many", o, p, q))
    s = r + str(p + o)
    v15, v14 = v14 + 1, v15 + 2
    total = v00 + v01 + v02 + v03 + v04 + v05 + v06 + v07 + v08 + v09 + v10 + v11 + v12 + v13
    return (o, p, q, r, s, v14, v15, total + checkpoint("again"))


_EXEC_SOURCE = """
def defined_by_exec(n):
    total = 0
    for i in range(n):
        total += int(checkpoint(("exec", i)))
    return total
"""
exec(_EXEC_SOURCE, globals())
resumable(defined_by_exec)  # noqa: F821 - defined by exec above


@resumable
def calls_exec_defined():
    return defined_by_exec(2) * 10  # noqa: F821


CASES = {
    "methods": Case(methods, (), ["1", "2", "3", "4", "5"]),
    "closures_share_cells": Case(closures_share_cells, (), ["x", "y"]),
    "argument_kinds": Case(argument_kinds, (1,), ["go"], {"flag": True, "zz": 1}),
    "argument_kinds_varargs": Case(argument_kinds, (1, 3, 4, 5), ["go"], {"key": "q"}),
    "recursion": Case(recursion, (3,), ["b", "u1", "u2", "u3"]),
    "five_deep": Case(five_deep, (), ["a", "b", "c"]),
    "pause_through_plain_helper": Case(pause_through_plain_helper, (), ["x", "y"]),
    "many_locals": Case(many_locals, (), ["r", "7"]),
    "exec_defined": Case(calls_exec_defined, (), ["1", "2"]),
}


def passing_wrapper(function):
    """A decorator whose wrapper only passes the result through (like @autograms_node)."""

    def wrapper(*args, **kwargs):
        print("wrapper before", function.__name__)
        return function(*args, **kwargs)

    _mark_transparent(wrapper)
    return wrapper


def _mark_transparent(wrapper):
    from tests.engine.harness import REFERENCE

    if not REFERENCE:
        from autograms import _frames

        _frames.mark_transparent(wrapper)


@passing_wrapper
@resumable
def wrapped_node(question):
    first = checkpoint(("node asks", question))
    return first + checkpoint("node asks again")


@passing_wrapper
def wrapped_plain(question):
    return checkpoint(("plain node asks", question))


@resumable
def through_transparent_wrappers():
    return wrapped_node("q1"), wrapped_plain("q2")


CASES["through_transparent_wrappers"] = Case(through_transparent_wrappers, (), ["a", "b", "c"])


def logged(function):
    @resumable
    @functools.wraps(function)
    def wrapper(*args):
        return "<" + function(*args) + ">"

    return wrapper


@logged
@resumable
def wrapped_ask(question):
    return checkpoint(question)


@resumable
def through_an_instrumented_wraps_wrapper():
    # the wrapper takes the name of the function it wraps: both frames resume, each its own
    return wrapped_ask("first"), wrapped_ask("second")


CASES["through_an_instrumented_wraps_wrapper"] = Case(
    through_an_instrumented_wraps_wrapper, (), ["a", "b"]
)


class Bracketed:
    """A decorator written as a class: the module name finds an instance, not a function."""

    def __init__(self, function):
        functools.update_wrapper(self, function)
        self.function = function

    @resumable
    def __call__(self, *args, **kwargs):
        return "[" + self.function(*args, **kwargs) + "]"


@Bracketed
@resumable
def bracketed_ask(question):
    suffix = question.upper()
    join = lambda answer: answer + suffix  # noqa: E731 - a closure found under the decorator
    return join(checkpoint(question))


@resumable
def through_a_class_based_decorator():
    # both frames resume: the object's __call__ and the function its __wrapped__ names
    return bracketed_ask("first"), bracketed_ask(question="second")


CASES["through_a_class_based_decorator"] = Case(through_a_class_based_decorator, (), ["a", "b"])

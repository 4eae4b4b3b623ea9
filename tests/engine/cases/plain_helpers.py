"""Undecorated helpers that do more after their pausing call: they resume where they paused,
as plain Python runs them (post-processing, several pauses, loops, partial expressions,
methods, helpers calling helpers, exceptions raised into the decorated caller)."""

import functools

from tests.engine.harness import Case, checkpoint, resumable


def ask_clean(question):
    return checkpoint(question).strip().upper() + "!"


def ask_twice(question):
    first = checkpoint(question)
    second = checkpoint(question + "?")
    return first + "+" + second


def collect(questions, sep=","):
    answers = []
    for question in questions:
        answers.append(checkpoint(question))
    print("collected", len(answers))
    return sep.join(answers)


def framed(question, left="<"):
    return left.upper() + "[" + checkpoint(question) + "]" + left


def each_item(table):
    seen = []
    for key, value in table.items():
        seen.append(f"{key}={value}:{checkpoint(key)}")
        table["late"] = 0 if len(table) < 3 else table["late"]
    return seen


def update_items(table):
    for key, value in table.items():
        table[key] = f"{value}{checkpoint(key)}"
    return len(table)


def ask_clean_twice(question):
    return ask_clean(question) + ask_twice(question + "!")


def parse_number(question):
    return int(checkpoint(question)) * 2


class Form:
    def __init__(self, title):
        self.title = title
        self.fields = []

    def field(self, name):
        self.fields.append(checkpoint(f"{self.title}:{name}"))
        return len(self.fields)


def logged(function):
    """A plain decorator whose wrapper only passes the function's result on."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        return function(*args, **kwargs)

    return wrapper


@logged
@logged
def ask_wrapped(question, suffix="!"):
    return checkpoint(question).strip() + suffix


def keyed_answers(questions):
    answer = checkpoint(questions[0])  # read by the comprehensions below: a cell on 3.11
    table = {question: answer for question in questions}
    return table, [[answer + str(n) for n in range(2)] for _ in questions[:2]]


def prefixed(prefix, words):
    # prefix, a parameter, is a cell variable on 3.11 (the comprehensions read it)
    first = [prefix + word for word in words]
    prefix = checkpoint(prefix) + prefix
    return first, sorted({prefix + word for word in words})


def last_word(question):
    # the comprehension's function is made before its iterable pauses (3.11), and binds
    # `last` in this frame through its cell
    last = "-"
    words = [(last := word.upper()) for word in checkpoint(question).split()]
    return words, last, [last for _ in words]


class LabelledForm(Form):
    def field(self, name):
        count = super().field(name)  # zero-argument super(): the method's __class__ cell
        return f"{count}:{self.fields[-1]}"


@resumable
def post_processing():
    return ask_clean(" a ") + ask_twice("b")


@resumable
def loops_and_expressions():
    listed = collect(["q1", "q2", "q3"], sep="|")
    return listed, framed("mid", left="l")


@resumable
def dict_items_in_a_helper():
    table = {"x": 1, "y": 2}
    count = update_items(table)
    seen = each_item(table)  # grows the dict it iterates: RuntimeError, as in plain Python
    return count, seen


@resumable
def helpers_calling_helpers():
    return ask_clean_twice("c")


@resumable
def helper_resumed_then_called_by_another():
    first = ask_clean("direct")  # ask_clean resumes on its own first...
    return first, ask_clean_twice("via")  # ...then called by a helper that continues too


@resumable
def method_of_a_plain_class():
    form = Form("f")
    counts = [form.field("name"), form.field("age")]
    return counts, form.fields


@resumable
def method_using_zero_argument_super():
    form = LabelledForm("s")
    return form.field("first") + form.field("second"), form.fields


@resumable
def through_decorator_wrappers():
    first = ask_wrapped("w1")
    return first + ask_wrapped("w2", suffix="?") + ask_clean("after")


@resumable
def error_raised_into_the_caller():
    results = []
    for question in ("n1", "n2"):
        try:
            results.append(parse_number(question))
        except ValueError as exc:
            results.append(f"bad: {exc}")
    return results


@resumable
def comprehensions_in_helpers():
    table, nested = keyed_answers(["k1", "k2"])
    return sorted(table.items()), nested, prefixed("p", ["a", "b"]), last_word("words?")


CASES = {
    "post_processing": Case(post_processing, (), [" x ", "y", "z"]),
    "loops_and_expressions": Case(loops_and_expressions, (), ["a", "b", "c", "d"]),
    "dict_items_in_a_helper": Case(dict_items_in_a_helper, (), ["1", "2", "3"]),
    "helpers_calling_helpers": Case(helpers_calling_helpers, (), ["p", "q", "r"]),
    "helper_resumed_then_called_by_another": Case(
        helper_resumed_then_called_by_another, (), ["d", "v1", "v2", "v3"]
    ),
    "method_of_a_plain_class": Case(method_of_a_plain_class, (), ["ann", "42"]),
    "method_using_zero_argument_super": Case(
        method_using_zero_argument_super, (), ["one", "two", "end"]
    ),
    "through_decorator_wrappers": Case(through_decorator_wrappers, (), [" a ", "b", "c", "z"]),
    "error_raised_into_the_caller": Case(error_raised_into_the_caller, (), ["7", "seven"]),
    "comprehensions_in_helpers": Case(comprehensions_in_helpers, (), ["x", "y", "one two"]),
}

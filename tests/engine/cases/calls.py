"""Ways of calling a pausing function that do resume: the call instruction calls it itself, or
through a wrapper that returns what it returns (a partial, an object's __call__)."""

import functools

from tests.engine.harness import Case, checkpoint, resumable


@resumable
def asked(question, suffix=""):
    return checkpoint(question) + suffix


class Steps:
    @resumable
    def step_name(self):
        return checkpoint("name?")

    @resumable
    def step_age(self):
        return checkpoint("age?")

    @resumable
    def __call__(self, question):
        return checkpoint(("called", question))


class Greeter:
    @classmethod
    @resumable
    def make(cls, greeting):
        name = checkpoint(("greeting", greeting))
        return functools.partial(str.format, "{} {}!", greeting, name)


def pick(name):
    return {"asked": asked}[name]


@resumable
def dispatch_by_getattr():
    steps = Steps()
    first = checkpoint("start")
    answers = []
    for name in ("name", "age"):
        answers.append(getattr(steps, f"step_{name}")())
    return first, answers


@resumable
def dispatch_by_subscript():
    handlers = {"a": asked, "b": Steps().step_name}
    first = handlers["a"]("via dict", "!")
    return first, handlers["b"](), checkpoint("after")


@resumable
def callable_from_a_call():
    first = pick("asked")("from a call")
    return first, pick("asked")("again", "?")


@resumable
def classmethod_result_called():
    # 3.11/3.12: the outer call's NULL was pushed by the load of Greeter, under the method
    return Greeter.make("hello")(), checkpoint("done")


@resumable
def classmethod_called_with_a_pausing_argument():
    # the bound classmethod under the pausing call is saved (and found again in a new
    # process, whichever code variant the dialog layer runs it with)
    return Greeter.make(asked("greeting?"))(), checkpoint("done")


@resumable
def through_partial():
    ask_twice = functools.partial(asked, suffix="+partial")
    first = ask_twice("partial one")
    return first, ask_twice("partial two"), checkpoint("done")


@resumable
def through_call_method():
    steps = Steps()
    first = steps("first")
    return first, steps("second")


@resumable
def super_after_resume():
    return Child().greet("x")


class Base:
    def greet(self, name):
        return f"base greets {name}"


class Child(Base):
    @resumable
    def greet(self, name):
        name = checkpoint(("child", name))
        return super().greet(name) + "/" + super(Child, self).greet(checkpoint("again"))  # noqa: UP008 - both forms


class Account:
    @resumable
    def __init__(self, owner, *, currency="EUR"):
        self.owner = owner
        self.balance = int(checkpoint(("opening balance for", owner)))
        self.currency = checkpoint("currency?") or currency

    def __repr__(self):
        return f"{type(self).__name__}({self.owner}, {self.balance} {self.currency})"


class Savings(Account):
    @resumable
    def __init__(self, owner):
        super().__init__(owner)
        self.rate = checkpoint("rate?")


@resumable
def constructors():
    first = checkpoint("start")
    opened = Account("ana")
    saving = Savings("bo")
    try:
        failed = Account("cy")
    except ValueError as exc:
        failed = f"failed: {exc}"
    return first, opened, saving, saving.rate, failed


class ReturnsAValue:
    @resumable
    def __init__(self):
        checkpoint("in __init__")
        return 5


@resumable
def constructor_returning_a_value():
    try:
        ReturnsAValue()
    except TypeError as exc:
        return str(exc)


class Made:
    @resumable
    def __init__(self, tag):
        self.tag = checkpoint(("init", tag))


MAKERS = {"made": Made}


@resumable
def wrappers_from_expressions():
    # the wrapper is what an expression gives, not a name the call loads
    table = {"part": functools.partial(asked, suffix="+p"), "obj": Steps()}
    a = table["part"]("table partial")
    b = table["obj"]("table object")
    c = functools.partial(asked, "inline partial", "+i")()
    d = functools.partial(asked, "inline partial 2")("+j")
    e = Steps()("inline object")
    made = MAKERS["made"]("from a table")
    return a, b, c, d, e, made.tag, type(made).__name__


@resumable
def counted_in_a_cell(count, tag):
    # `count` is a cell variable, changed before the pause: the partial's argument the call
    # lent its callable's slot (3.11/3.12) is no longer what the frame holds
    def bump():
        nonlocal count
        count += 1

    bump()
    return count, checkpoint(("counted", count, tag))


@resumable
def partial_of_a_cell_parameter():
    first = functools.partial(counted_in_a_cell, 5)("t")
    second = functools.partial(counted_in_a_cell, [1])("u")
    return first, second


CASES = {
    "partial_of_a_cell_parameter": Case(partial_of_a_cell_parameter, (), ["a", "b", "c"]),
    "wrappers_from_expressions": Case(
        wrappers_from_expressions, (), ["p", "o", "i", "j", "s", "m", "z"]
    ),
    "dispatch_by_getattr": Case(dispatch_by_getattr, (), ["s", "n", "a"]),
    "dispatch_by_subscript": Case(dispatch_by_subscript, (), ["x", "y", "z"]),
    "callable_from_a_call": Case(callable_from_a_call, (), ["p", "q"]),
    "classmethod_result_called": Case(classmethod_result_called, (), ["ann", "x"]),
    "classmethod_called_with_a_pausing_argument": Case(
        classmethod_called_with_a_pausing_argument, (), ["hi", "bob", "x"]
    ),
    "through_partial": Case(through_partial, (), ["p", "q", "r"]),
    "through_call_method": Case(through_call_method, (), ["p", "q"]),
    "super_after_resume": Case(super_after_resume, (), ["p", "q"]),
    "constructors": Case(constructors, (), ["go", "100", "USD", "5", "", "0.1", "x"]),
    "constructor_returning_a_value": Case(constructor_returning_a_value, (), ["x"]),
}

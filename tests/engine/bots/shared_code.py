"""Functions that share one code object, each with a closure (or an instance) of its own: a
decorator factory's decorated ``functools.wraps`` wrappers (two stacked, both of one name;
one over an undecorated helper), a class-based decorator's decorated ``__call__``, a
factory's decorated functions and decorated methods of classes a factory built. Each paused
frame must resume with its own closure, as plain Python runs it."""

import functools

from autograms import autograms_function
from autograms.functional import reply


def tagged(tag):
    def decorate(function):
        @autograms_function()
        @functools.wraps(function)
        def wrapper(question, again=False):
            result = function(question)
            if again:
                result += "|" + reply(f"{tag} again {function.__name__}")
            return f"{tag}({result})"

        return wrapper

    return decorate


@tagged("a")
@autograms_function()
def ask_a(question):
    return reply("a " + question).strip()


@tagged("b")
@autograms_function()
def ask_b(question):
    return reply("b " + question).upper()


@tagged("x")
@tagged("y")
@autograms_function()
def ask_xy(question):
    return "xy" + reply("xy " + question)


@tagged("p")
def ask_p(question):
    return reply("p " + question) + "!"


class Framed:
    def __init__(self, function):
        self.function = function
        functools.update_wrapper(self, function)

    @autograms_function()
    def __call__(self, question):
        return "[" + self.function(question) + "]" + self.__name__


@Framed
@autograms_function()
def ask_f1(question):
    return reply("f1 " + question)


@Framed
@autograms_function()
def ask_f2(question):
    return reply("f2 " + question).title() + reply("f2 more")


def make_asker(prefix, name):
    def asker(question):
        return prefix + ":" + reply(prefix + " " + question)

    asker.__name__ = asker.__qualname__ = name
    return autograms_function()(asker)


asker_hi = make_asker("hi", "asker_hi")
asker_yo = make_asker("yo", "asker_yo")


def make_desk(name, greeting):
    def ask(self, question):
        answer = reply(greeting + " " + question)
        return greeting + "@" + type(self).__name__ + ":" + answer

    ask.__qualname__ = name + ".ask"
    return type(name, (), {"ask": autograms_function()(ask)})


DeskHi = make_desk("DeskHi", "hi")
DeskYo = make_desk("DeskYo", "yo")


@autograms_function()
def chatbot():
    first = ask_a("one") + ask_b("two", again=True)
    second = ask_xy("three", again=True) + ask_p("four", again=True)
    third = ask_f1("five") + ask_f2("six")
    desk = DeskYo()
    fourth = asker_yo("seven") + asker_hi("eight") + DeskHi().ask("nine") + desk.ask("ten")
    return reply(" / ".join([first, second, third, fourth]))

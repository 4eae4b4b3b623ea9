"""Module-level support code a generated program may use: exception types, a context manager,
observation helpers, module-level objects. Only the pieces a program names are written into
it, so a minimized program stays short and every program is a standalone module."""

from __future__ import annotations

import re

#: (name, source) in the order they are written; a piece is included when its name appears
#: in the program or in another included piece.
SNIPPETS: list[tuple[str, str]] = [
    ("suppress", "from contextlib import suppress"),
    ("sys", "import sys"),
    ("traceback", "import traceback"),
    ("weakref", "import weakref"),
    ("functools", "import functools"),
    ("io", "import io"),
    ("asyncio", "import asyncio"),
    ("enum", "import enum"),
    ("typing", "import typing"),
    ("OrderedDict", "from collections import OrderedDict"),
    ("itertools", "import itertools"),
    ("deque", "from collections import deque"),
    ("Counter", "from collections import Counter"),
    ("defaultdict", "from collections import defaultdict"),
    ("ChainMap", "from collections import ChainMap"),
    ("namedtuple", "from collections import namedtuple"),
    ("dataclass", "from dataclasses import dataclass, field"),
    ("datetime", "import datetime"),
    ("decimal", "import decimal"),
    ("fractions", "import fractions"),
    ("re", "import re"),
    ("random", "import random"),
    ("string", "import string"),
    (
        "kind",
        '''
def kind(exc_type):
    """An exception type's name ("ContinuationError" for any refusal); "signal" for the
    BaseExceptions jumps travel as."""
    if exc_type is None or exc_type is type(None):
        return "-"
    if any(cls.__name__ == "ContinuationError" for cls in exc_type.__mro__):
        return "ContinuationError"
    return exc_type.__name__ if issubclass(exc_type, Exception) else "signal"
''',
    ),
    (
        "show",
        '''
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
''',
    ),
    (
        "tb_names",
        '''
def tb_names(exc):
    """The functions an exception's traceback passes through."""
    return [entry.name for entry in traceback.extract_tb(exc.__traceback__)]
''',
    ),
    (
        "num",
        '''
def num(text):
    """A number from a message: its value if it is one, else its length."""
    text = text.strip()
    return int(text) if text.lstrip("-").isdigit() else len(text)
''',
    ),
    (
        "fmt",
        """
def fmt(*parts, sep="/"):
    return sep.join(str(part) for part in parts)
""",
    ),
    ("Oops", "class Oops(Exception):\n    pass"),
    ("Other", "class Other(Exception):\n    pass"),
    (
        "CM",
        '''
class CM:
    """Reports its enter and exit; swallows the exception types it is given."""

    def __init__(self, name, swallow=()):
        self.name = name
        self.swallow = swallow

    def __enter__(self):
        print("enter", self.name)
        return self.name

    def __exit__(self, exc_type, exc, tb):
        print("exit", self.name, kind(exc_type))
        return exc_type is not None and issubclass(exc_type, self.swallow)
''',
    ),
    ("SENTINEL", "SENTINEL = object()"),
    ("CONFIG", 'CONFIG = {"greeting": "hello", "limit": 3}'),
    ("WORDS", 'WORDS = ["alpha", "beta", "gamma"]'),
    (
        "Tool",
        """
class Tool:
    def __init__(self, name):
        self.name = name

    def label(self, text):
        return f"{self.name}<{text}>"
""",
    ),
    ("TOOL", 'TOOL = Tool("tool")'),
    ("FACTOR", "FACTOR = 3"),
    ("SCALE", "SCALE = lambda value: value * FACTOR"),
    (
        "ask_plain",
        '''
def ask_plain(question):
    """Undecorated: a pause resumes after its call, which is plain Python here because
    the reply is the last thing it does."""
    return reply(question)
''',
    ),
    (
        "ask_clean",
        '''
def ask_clean(question):
    """Undecorated, post-processing its reply: the caller must get the processed text."""
    return reply(question).strip().upper() + "!"
''',
    ),
    (
        "ask_twice",
        '''
def ask_twice(question):
    """Undecorated, with code after its first reply."""
    first = reply(question)
    second = reply(question + "?")
    return first + "+" + second
''',
    ),
    (
        "ask_each",
        '''
def ask_each(question):
    """Undecorated, pausing in a loop (its iterator and a method pair are under the call)."""
    answers = []
    for suffix in ("a", "b"):
        answers.append(reply(question + suffix))
    return "|".join(answers)
''',
    ),
    (
        "ask_framed",
        '''
def ask_framed(question, left="<"):
    """Undecorated, pausing inside an expression with computed parts before the call."""
    return left.upper() + str(len(question)) + "[" + reply(question) + "]" + left
''',
    ),
    (
        "ask_both",
        '''
def ask_both(question):
    """Undecorated, calling undecorated helpers that continue after their replies."""
    return ask_clean(question) + ":" + ask_twice(question)
''',
    ),
    (
        "Pad",
        '''
class Pad:
    """A plain class whose plain method pauses and keeps the answer on the instance."""

    def __init__(self, tag):
        self.tag = tag
        self.notes = []

    def ask(self, question):
        self.notes.append(reply(f"{self.tag}:{question}"))
        return f"{self.tag}{len(self.notes)}:{self.notes[-1]}"
''',
    ),
    (
        "rebind_and_ask",
        '''
@autograms_function()
def rebind_and_ask(name, question):
    """Rebinds a module global its caller loaded before calling it, then pauses."""
    globals()[name] = "rebound"
    return reply(question)
''',
    ),
    (
        "Speaker",
        """
class Speaker:
    def say(self, text):
        return "old:" + text
""",
    ),
    ("new_say", 'def new_say(text):\n    return "new:" + text'),
    (
        "swap_and_ask",
        '''
@autograms_function()
def swap_and_ask(speaker, question):
    """Replaces a method its caller looked up before calling it, then pauses."""
    speaker.say = new_say
    return reply(question)
''',
    ),
    (
        "collect",
        '''
@autograms_function()
def collect(item, acc=[]):
    """A mutable default held across a pause: it must still be the default afterwards."""
    answer = reply(f"collect {item}")
    return fmt(acc is collect.__defaults__[0], item, answer)
''',
    ),
    ("TABLE", 'TABLE = {"row": ["r"]}'),
    ("Registry", 'class Registry:\n    items = ["i"]'),
    (
        "BOT",
        """
class Bot:
    def __init__(self):
        self.seen = ["s"]


BOT = Bot()
""",
    ),
    (
        "Delegate",
        '''
class Delegate:
    """Forwards every attribute it lacks to its target."""

    def __init__(self, target):
        self.target = target

    def __getattr__(self, name):
        return getattr(self.target, name)
''',
    ),
    (
        "logged",
        '''
def logged(function):
    """A decorator whose wrapper is itself decorated, as the engine's refusal advises."""

    @autograms_function()
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        return "<" + function(*args, **kwargs) + ">"

    return wrapper
''',
    ),
    (
        "Asker",
        """
class Asker:
    def __init__(self, prefix):
        self.prefix = prefix

    @autograms_function()
    def __call__(self, question):
        return self.prefix + reply(question)
""",
    ),
    (
        "Greeter",
        """
class Greeter:
    @autograms_function()
    def __init__(self, tag):
        self.answer = reply(f"init {tag}")
""",
    ),
    ("FACTORIES", 'FACTORIES = {"greeter": Greeter}'),
    (
        "AskingExit",
        """
class AskingExit:
    def __enter__(self):
        return "entered"

    @autograms_function()
    def __exit__(self, exc_type, exc, tb):
        self.answer = __refused__reply("exit?")
        return False
""",
    ),
    (
        "words",
        """
def words(text):
    yield from text.split()
    yield "end"
""",
    ),
    (
        "Point",
        """
@dataclass
class Point:
    x: int
    y: int
""",
    ),
    (
        "Order",
        """
@dataclass
class Order:
    size: str
    items: list = field(default_factory=list)

    @property
    def count(self):
        return len(self.items)
""",
    ),
    (
        "Slotted",
        """
class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a):
        self.a = a
""",
    ),
    (
        "Positive",
        '''
class Positive:
    """A descriptor refusing negative numbers."""

    def __set_name__(self, owner, name):
        self.name = "_" + name

    def __get__(self, obj, objtype=None):
        return getattr(obj, self.name)

    def __set__(self, obj, value):
        if value < 0:
            raise ValueError("negative")
        setattr(obj, self.name, value)
''',
    ),
    (
        "Account",
        """
class Account:
    balance = Positive()

    def __init__(self, balance):
        self.balance = balance
""",
    ),
    (
        "Person",
        """
class Person:
    def __init__(self, tag):
        self.tag = tag

    def describe(self):
        return "person:" + self.tag
""",
    ),
    (
        "Member",
        """
class Member(Person):
    def __init__(self, tag):
        super().__init__(tag + "!")

    def describe(self):
        return "member/" + super().describe()
""",
    ),
    ("Pair", 'Pair = namedtuple("Pair", "a b")'),
    ("Color", "class Color(enum.Enum):\n    RED = 1\n    GREEN = 2"),
    ("Flags", "class Flags(enum.Flag):\n    A = 1\n    B = 2"),
    (
        "make_counter",
        """
def make_counter(start):
    count = start

    def step():
        nonlocal count
        count += 1
        return count

    return step
""",
    ),
    (
        "ask_args",
        """
@autograms_function()
def ask_args(prefix, *args, sep="/", **kwargs):
    answer = reply(prefix + sep.join(args))
    return fmt(prefix, args, sep, sorted(kwargs.items()), answer)
""",
    ),
    (
        "ask_kwonly",
        """
@autograms_function()
def ask_kwonly(a, b=2, *, c, d=4):
    answer = reply(f"kw {a} {b} {c} {d}")
    return fmt(a, b, c, d, answer)
""",
    ),
    (
        "BadInput",
        """
class BadInput(ValueError):
    def __init__(self, text, code):
        super().__init__(text)
        self.code = code
""",
    ),
    (
        "parse_twice",
        '''
@logged
@logged
@autograms_function()
def parse_twice(tag):
    """Wrapped twice; raises after a resume, through both wrappers."""
    answer = reply("parse " + tag)
    if not answer.lstrip("-").isdigit():
        raise BadInput(answer, len(answer))
    return answer
''',
    ),
    (
        "Ticker",
        '''
class Ticker:
    """Prints every evaluation of a subexpression around a pause: each must show once."""

    def __init__(self):
        self.count = 0

    def __call__(self, value):
        self.count += 1
        print("tick", self.count, type(value).__name__)
        return value
''',
    ),
    (
        "Holder",
        '''
class Holder:
    """Targets for augmented assignments: attributes, a list, a dict, a property."""

    def __init__(self):
        self.text = "h"
        self.items = ["a", "b", "c"]
        self.map = {"k": "v"}
        self.count = 0
        self._total = 10

    @property
    def total(self):
        return self._total

    @total.setter
    def total(self, value):
        print("set total", value)
        self._total = value
''',
    ),
    (
        "args_of",
        """
def args_of(*args, **kwargs):
    return args, sorted(kwargs.items())
""",
    ),
    (
        "apply_after",
        '''
@autograms_function()
def apply_after(fn, question):
    """Pauses, then calls back the function it was given (a closure of its caller)."""
    answer = reply(question)
    return fn(len(answer))
''',
    ),
    (
        "descend",
        '''
@autograms_function()
def descend(depth, acc):
    """Pauses at every depth on the way down and again on the way up."""
    if depth <= 0:
        return acc
    answer = reply(f"down {depth} {acc}")
    inner = descend(depth - 1, acc + answer[:1])
    return answer + ":" + inner + "|" + reply(f"up {depth}")
''',
    ),
    (
        "ping",
        """
@autograms_function()
def ping(depth):
    if depth <= 0:
        return "."
    return "i" + reply(f"ping {depth}") + pong(depth - 1)


@autograms_function()
def pong(depth):
    if depth <= 0:
        return ","
    answer = reply(f"pong {depth}")
    return f"o{answer}{ping(depth - 1)}{len(answer)}"
""",
    ),
    (
        "unwind",
        '''
@autograms_function()
def unwind(depth):
    """Raises at the bottom after a pause; each depth's finally pauses while it unwinds."""
    try:
        if depth <= 0:
            raise Oops(reply("bottom"))
        return unwind(depth - 1) + "?"
    finally:
        print("unwind", depth, reply(f"finally {depth}"))
''',
    ),
    (
        "Desk",
        '''
class Desk:
    """Decorated methods of every kind, calling each other."""

    prefix = "desk"

    def __init__(self, tag):
        self.tag = tag

    @autograms_function()
    def __call__(self, question):
        return self.tag + ":" + reply(question)

    @classmethod
    @autograms_function()
    def make(cls, question):
        return cls(cls.norm(reply(question)))

    @staticmethod
    @autograms_function()
    def norm(text):
        return text.strip().lower()[:12] or "none"

    @autograms_function()
    def ask(self, question):
        return type(self).norm(reply(question)) + "@" + self.prefix

    @logged
    @autograms_function()
    def wrapped(self, question):
        return reply(question) + "/" + self.tag
''',
    ),
    (
        "SubDesk",
        '''
class SubDesk(Desk):
    """Overrides calling zero-argument super(), in a class method too."""

    prefix = "sub"

    @classmethod
    @autograms_function()
    def make(cls, question):
        made = super().make(question)
        made.tag += "+" + reply("again " + made.tag)
        return made

    @autograms_function()
    def ask(self, question):
        return "[" + super().ask(question) + "]"
''',
    ),
    (
        "settle",
        '''
@autograms_function()
def settle(mode, question):
    """Leaves nested try/finally blocks and a with by return, break, continue or an
    exception while each finally pauses; a return in the outer finally overrides them."""
    for attempt in range(3):
        try:
            try:
                with CM("w" + str(attempt)):
                    if mode == "return":
                        return reply(question) + "+r"
                    if mode == "break":
                        break
                    if mode == "continue" and attempt < 2:
                        continue
                    if mode in ("raise", "override"):
                        raise Oops(reply(question))
            finally:
                print("inner", attempt, reply(f"{question} inner {attempt}"))
        finally:
            if mode == "override":
                return "over" + reply(f"{question} over {attempt}")
    else:
        return "else " + str(attempt)
    return "after " + str(attempt)
''',
    ),
    (
        "rebuild_reduced",
        """
def rebuild_reduced(tag, items):
    return Reduced(tag, items)
""",
    ),
    (
        "Reduced",
        '''
class Reduced:
    """Copied through ``__reduce__`` and a module-level factory."""

    def __init__(self, tag, items):
        self.tag = tag
        self.items = items

    def __reduce__(self):
        return (rebuild_reduced, (self.tag, self.items))

    def view(self):
        return (self.tag, self.items)
''',
    ),
    (
        "Stated",
        '''
class Stated:
    """Copied as a tuple by ``__getstate__``; ``__setstate__`` derives the summary again."""

    def __init__(self, tag):
        self.tag = tag
        self.notes = []
        self.summary = ""

    def note(self, text):
        self.notes.append(text)
        self.summary = "/".join(self.notes)

    def __getstate__(self):
        return (self.tag, self.notes)

    def __setstate__(self, state):
        self.tag, self.notes = state
        self.summary = "/".join(self.notes)

    def view(self):
        return (self.tag, self.notes, self.summary)
''',
    ),
    (
        "KwNew",
        '''
class KwNew:
    """Made by a ``__new__`` with a keyword-only argument (``__getnewargs_ex__``)."""

    def __new__(cls, size, *, tag):
        made = super().__new__(cls)
        made.size = size
        return made

    def __init__(self, size, *, tag):
        self.tag = tag

    def __getnewargs_ex__(self):
        return (self.size,), {"tag": self.tag}

    def view(self):
        return (self.size, self.tag)
''',
    ),
    (
        "Tight",
        '''
class Tight:
    """Slots and no ``__dict__``."""

    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y

    def view(self):
        return (self.x, self.y)
''',
    ),
    (
        "Keyed",
        '''
class Keyed:
    """Hashed by its name and a key of its own dict: a cycle through a hash."""

    def __init__(self, name):
        self.name = name
        self.index = {self: 0}

    def __hash__(self):
        return hash(self.name)

    def __eq__(self, other):
        return isinstance(other, Keyed) and other.name == self.name

    def view(self):
        return (self.name, list(self.index.values()))
''',
    ),
    (
        "Named",
        '''
class Named:
    """Equal by name, hashed by its first letter (so names collide); a member of its peers (a
    set its state holds) and a key of its own links (a dict), by itself or in a tuple."""

    def __init__(self, name, peers):
        self.name = name
        self.peers = peers
        peers.add(self)
        self.links = {self: 0}

    def __hash__(self):
        return hash(self.name[:1])

    def __eq__(self, other):
        return isinstance(other, Named) and other.name == self.name

    def link(self, other, weight):
        self.links[other] = weight
        other.links[(self, weight)] = self.name

    def view(self):
        return (
            self.name,
            sorted(peer.name for peer in self.peers),
            sorted(map(str, self.links.values())),
            self in self.peers,
            self.links.get(self),
        )
''',
    ),
    (
        "Spot",
        '''
@dataclass(frozen=True)
class Spot:
    """A frozen dataclass, hashed by its fields; its bag (left out of hash and equality) is a
    dict keyed by the spot itself."""

    x: int
    y: int
    bag: dict = field(default_factory=dict, hash=False, compare=False)

    def view(self):
        return (self.x, self.y, sorted(map(str, self.bag.values())), self.bag.get(self))
''',
    ),
    (
        "Shelved",
        '''
class Shelved:
    """Copied through __getstate__/__setstate__ (a tuple), hashed by its key, and filed in
    the shelf (a dict) its state holds."""

    def __init__(self, key, shelf):
        self.key = key
        self.shelf = shelf
        shelf[self] = key.upper()

    def __hash__(self):
        return hash(self.key)

    def __eq__(self, other):
        return isinstance(other, Shelved) and other.key == self.key

    def __getstate__(self):
        return (self.key, self.shelf)

    def __setstate__(self, state):
        self.key, self.shelf = state

    def view(self):
        return (self.key, sorted(self.shelf.values()), self.shelf.get(self))
''',
    ),
    (
        "Rebuilt",
        '''
def blank_rebuilt():
    return Rebuilt.__new__(Rebuilt)


class Rebuilt:
    """Copied through __reduce__ (made blank, its name set with its state), hashed by its
    name, and a member of the group (a set) its state holds."""

    def __init__(self, name, group=None):
        self.name = name
        self.group = set() if group is None else group
        self.group.add(self)

    def __reduce__(self):
        return (blank_rebuilt, (), {"name": self.name, "group": self.group})

    def __hash__(self):
        return hash(self.name)

    def __eq__(self, other):
        return isinstance(other, Rebuilt) and other.name == self.name

    def view(self):
        return (self.name, len(self.group), self in self.group)
''',
    ),
    (
        "Node",
        '''
class Node:
    """A tree walked by decorated methods that recurse through its children."""

    def __init__(self, name, children):
        self.name = name
        self.children = children
        self.seen = 0

    @classmethod
    def grow(cls, depth, name):
        children = [cls.grow(depth - 1, name + str(i)) for i in range(2)] if depth > 0 else []
        return cls(name, children)

    @property
    def size(self):
        return 1 + sum(child.size for child in self.children)

    @autograms_function()
    def walk(self, depth):
        self.seen += 1
        answer = reply(f"at {self.name} {self.size}")
        if depth <= 0 or not self.children:
            return self.name + "=" + answer[:3]
        parts = []
        for child in self.children:
            parts.append(child.walk(depth - 1))
        return f"{self.name}({','.join(parts)})[{self.size}]"

    @autograms_function()
    def bounce(self, depth):
        if depth <= 0:
            return "."
        return self.name + reply(f"b {depth}")[:2] + node_bounce(self, depth - 1)


@autograms_function()
def node_bounce(node, depth):
    target = node.children[0] if node.children else node
    return "<" + target.bounce(depth) + ">"
''',
    ),
    (
        "Countdown",
        """
class Countdown:
    def __init__(self, start):
        self.left = start

    def __iter__(self):
        return self

    def __next__(self):
        if self.left <= 0:
            raise StopIteration
        self.left -= 1
        return self.left

    def step(self):
        self.left -= 1
        return self.left
""",
    ),
    (
        "Reading",
        """
class Reading(typing.NamedTuple):
    label: str
    value: int = 0
""",
    ),
    (
        "Frozen",
        """
@dataclass(frozen=True, slots=True)
class Frozen:
    size: int
    tags: tuple = ()
""",
    ),
    ("Level", "class Level(enum.IntEnum):\n    LOW = 1\n    HIGH = 2"),
    ("Shade", 'class Shade(enum.StrEnum):\n    DARK = "dark"\n    PALE = "pale"'),
    (
        "Lazy",
        '''
class Lazy:
    """A cached_property: computed once, kept in the instance's __dict__."""

    def __init__(self, text):
        self.text = text

    @functools.cached_property
    def total(self):
        print("computing total")
        return len(self.text) * 10
''',
    ),
    (
        "typed_view",
        '''
def typed_view(value):
    """A typed value as plain data: its type, and its fields or its members' name and value."""
    if isinstance(value, enum.Enum):
        return (type(value).__name__, value.name, value.value)
    if hasattr(value, "__dataclass_fields__"):
        return (type(value).__name__, [getattr(value, f) for f in value.__dataclass_fields__])
    if isinstance(value, tuple):
        return (type(value).__name__, tuple(value), value._fields)
    return (type(value).__name__, sorted(vars(value).items()))
''',
    ),
    (
        "tagged",
        '''
def tagged(tag):
    """A decorator factory: every function it wraps gets a decorated wrapper made from one
    code object, with a closure of its own (`tag`, the function), named after the function
    it wraps and bound under that name. With `again`, the wrapper pauses itself too."""

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
''',
    ),
    (
        "ask_a",
        """
@tagged("a")
@autograms_function()
def ask_a(question):
    return reply("a " + question).strip()
""",
    ),
    (
        "ask_b",
        """
@tagged("b")
@autograms_function()
def ask_b(question):
    return reply("b " + question).upper()
""",
    ),
    (
        "ask_xy",
        '''
@tagged("x")
@tagged("y")
@autograms_function()
def ask_xy(question):
    """Two wrappers of one code object, both named ask_xy."""
    return "xy" + reply("xy " + question)
''',
    ),
    (
        "ask_p",
        '''
@tagged("p")
def ask_p(question):
    """An undecorated helper under a decorated wrapper: resumed as a plain helper."""
    return reply("p " + question) + "!"
''',
    ),
    (
        "Framed",
        '''
class Framed:
    """A class-based decorator: one decorated __call__ for every function it wraps, each
    instance holding its own."""

    def __init__(self, function):
        self.function = function
        functools.update_wrapper(self, function)

    @autograms_function()
    def __call__(self, question):
        return "[" + self.function(question) + "]" + self.__name__
''',
    ),
    (
        "ask_f1",
        """
@Framed
@autograms_function()
def ask_f1(question):
    return reply("f1 " + question)
""",
    ),
    (
        "ask_f2",
        """
@Framed
@autograms_function()
def ask_f2(question):
    return reply("f2 " + question).title() + reply("f2 more")
""",
    ),
    (
        "make_asker",
        '''
def make_asker(prefix, name):
    """A factory of decorated functions of one code object, each renamed before it is
    decorated and bound under that name."""

    def asker(question):
        return prefix + ":" + reply(prefix + " " + question)

    asker.__name__ = asker.__qualname__ = name
    return autograms_function()(asker)
''',
    ),
    ("asker_hi", 'asker_hi = make_asker("hi", "asker_hi")'),
    ("asker_yo", 'asker_yo = make_asker("yo", "asker_yo")'),
    (
        "make_desk",
        '''
def make_desk(name, greeting):
    """A class factory: classes whose decorated methods share one code object."""

    def ask(self, question):
        answer = reply(greeting + " " + question)
        return greeting + "@" + type(self).__name__ + ":" + answer

    ask.__qualname__ = name + ".ask"
    return type(name, (), {"ask": autograms_function()(ask)})
''',
    ),
    ("DeskHi", 'DeskHi = make_desk("DeskHi", "hi")'),
    ("DeskYo", 'DeskYo = make_desk("DeskYo", "yo")'),
    (
        "wrapped_now",
        '''
def wrapped_now(function):
    """Decorates a wrapper made while the program runs, bound to no name: a new process
    could not find it, so a pause inside it is refused."""

    @autograms_function()
    @functools.wraps(function)
    def made(*args):
        return "~" + function(*args)

    return made
''',
    ),
    (
        "gen_answers",
        """
def gen_answers():
    yield __refused__reply("g1")
    yield __refused__reply("g2")
""",
    ),
]


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}\b", text) is not None


def support_for(program_text: str) -> tuple[str, str]:
    """The imports and the definitions `program_text` needs, in dependency order."""
    needed: set[str] = set()
    pending = [program_text]
    while pending:
        text = pending.pop()
        for name, source in SNIPPETS:
            if name not in needed and _mentions(text, name):
                needed.add(name)
                pending.append(source)
    imports = [
        src for name, src in SNIPPETS if name in needed and src.startswith(("import", "from"))
    ]
    pieces = [src.strip() for name, src in SNIPPETS if name in needed and src not in imports]
    return "\n".join(imports), "\n\n\n".join(pieces)

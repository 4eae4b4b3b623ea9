"""Locals that hold module-level objects, or objects reached from them (a dict's item, a
class's or instance's attribute, a function's default): after a resume they are the module's
own objects."""

import importlib
import re
import weakref

from autograms import autograms_function
from autograms.functional import reply

MISSING = object()
ITEMS = [1, 2]
TABLE = {"row": [1, 2, 3]}
SIZES = ("small", "large")
PATTERN = re.compile(r"a+b")


class Thing:
    def __init__(self):
        self.count = 0


THING = Thing()
BIG = list(range(20000))


class Holder:
    def __init__(self, items):
        self.items = items


def helper():
    return "helper"


def read_items():
    return ITEMS


alias = helper
SETTINGS = {"row": [1], "inner": {"k": 1}}


class Registry:
    items = []

    @staticmethod
    def make(acc=[]):  # noqa: B006 - the shared default is the point
        return acc

    def method(self, acc=[], *, seen={}):  # noqa: B006
        return acc, seen


REGISTRY = Registry()
REGISTRY.seen = []


def collect(acc=[], *, log=[]):  # noqa: B006
    return acc, log


items_reader = lambda: ITEMS  # noqa: E731 - a module-level lambda bound to a name


@autograms_function()
def chatbot(user_reply=None):
    v, items, table, sizes, pattern = MISSING, ITEMS, TABLE, SIZES, PATTERN
    cls, fn, lam, big, thing = Thing, alias, items_reader, BIG, THING
    ref = weakref.ref(THING)
    nested = lambda: ITEMS  # noqa: E731 - reads the module global after the resume
    pending, table_keys = iter(ITEMS), iter(TABLE)
    holder, error, append = Holder(ITEMS), ValueError(ITEMS), ITEMS.append

    row, inner, registry_items, seen = (
        SETTINGS["row"],
        SETTINGS["inner"],
        Registry.items,
        REGISTRY.seen,
    )
    (acc, log), static_default = collect(), Registry.make()
    method_acc, method_seen = REGISTRY.method()

    def default(x=ITEMS):
        return x

    def through_cell():
        return items

    reply("paused holding module objects")
    identities = [
        v is MISSING,
        items is ITEMS,
        table is TABLE,
        sizes is SIZES,
        pattern is PATTERN,
        cls is Thing,
        fn is helper,
        lam is items_reader,
        lam() is ITEMS,
        big is BIG,
        thing is THING,
        ref() is THING,
        nested() is ITEMS,
        next(pending) == 1,
        next(table_keys) == "row",
        holder.items is ITEMS,
        error.args[0] is ITEMS,
        append.__self__ is ITEMS,
        default() is ITEMS,
        through_cell() is ITEMS,
        row is SETTINGS["row"],
        inner is SETTINGS["inner"],
        registry_items is Registry.items,
        seen is REGISTRY.seen,
        acc is collect()[0] and log is collect()[1],
        static_default is Registry.make(),
        method_acc is REGISTRY.method()[0] and method_seen is Registry().method()[1],
    ]
    items.append(3)
    seen_by_module = list(ITEMS)
    items.pop()
    reply(f"identities {identities}; module sees {seen_by_module}")
    return identities


@autograms_function()
def row_holder():
    table, row, nested, big = TABLE, TABLE["row"], [ITEMS], {"big": BIG}
    reply("holding TABLE, TABLE['row'], [ITEMS] and a dict holding BIG")
    return reply(
        f"table is TABLE: {table is TABLE}; row is TABLE['row']: {row is TABLE['row']}; "
        f"nested[0] is ITEMS: {nested[0] is ITEMS}; big['big'] is BIG: {big['big'] is BIG}"
    )


CACHE = None


@autograms_function()
def rebound_global():
    global CACHE
    CACHE = {"loaded": True}
    cache = CACHE
    reply("holding a global bound while the program runs")
    return reply(f"cache is CACHE: {cache is CACHE}, {cache}")


@autograms_function()
def imported_between_pauses():
    reply("nothing imported yet")
    late = importlib.import_module("tests.engine.values.imported_late")
    marker = late.MARKER
    reply("holding an object of a module imported after the first pause")
    return reply(f"marker is MARKER: {marker is late.MARKER}")

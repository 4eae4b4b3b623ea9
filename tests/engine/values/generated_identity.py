"""A bot holding values generated from a seed (its first message) whose identity or type plain
pickle gets wrong: unions of types (``int | None``), modules made at run time, families of
classes defined inside the paused function (bases, classes a method makes), and one NaN float
shared by a local and containers. At each pause it reports what plain Python would see of
them; the resumed runs must agree (test_values.py)."""

import random
import types

from autograms import autograms_function
from autograms.functional import reply

MAX_PAUSES = 4
FAMILIES = ("union", "module", "classes", "nan")
_TYPES = (int, str, type(None), float, bytes, list[int], dict[str, int], tuple[int, ...])
_SAMPLES = (0, "s", None, 1.5, b"b", [1], {"k": 1}, (1,))


def make_plan(seed):
    rng = random.Random(seed)
    families = rng.sample(FAMILIES, rng.randint(1, len(FAMILIES)))
    return {
        "families": families,
        "union": rng.sample(range(len(_TYPES)), rng.randint(2, 4)),
        "attributes": rng.randint(0, 3),
        "self_reference": rng.random() < 0.5,
        "depth": rng.randint(1, 4),
        "makes": [rng.randint(0, 3) for _ in range(4)],
        "holders": rng.sample(HOLDERS, rng.randint(1, len(HOLDERS))),
        "in_a_cell": rng.random() < 0.5,
        "pauses": rng.randint(1, MAX_PAUSES),
    }


def describe(seed):
    return repr(make_plan(seed))


def make_union(indexes):
    union = _TYPES[indexes[0]]
    for index in indexes[1:]:
        union = union | _TYPES[index]
    return union


def make_classes(depth, makes):
    """A chain of local classes, each a subclass of the one before, whose `make` builds an
    instance of another class of the chain (a closure over the list of them)."""
    chain = []

    class Root:
        def make(self):
            return chain[makes[0] % len(chain)]()

    chain.append(Root)
    for level in range(1, depth):
        parent = chain[-1]

        class Level(parent):
            def make(self, level=level):
                return chain[makes[level % len(makes)] % len(chain)]()

        chain.append(Level)
    return chain


class Other:
    """An object held beside the NaN (a container of it may be part of a cycle)."""

    def __init__(self, holder=None):
        self.holder = holder


def holding(kind, value):
    other = Other()
    if kind == "list":
        return [value]
    if kind == "dict_key":
        return {value: "key"}
    if kind == "dict_value":
        return {"value": value}
    if kind == "set":
        return {value}
    if kind == "tuple":
        return (value, "pair")
    if kind == "list_with_objects":
        other.holder = held = [other, value]
    elif kind == "dict_with_objects":
        other.holder = held = {"other": other, value: "key", "value": value}
    else:  # "set_with_objects"
        other.holder = held = {other, value}
    return held


def contains(kind, holder, value):
    if kind in ("dict_value", "dict_with_objects"):
        return value in holder.values() and holder.get(value) == "key"
    return value in holder


HOLDERS = ["list", "dict_key", "dict_value", "set", "tuple", "list_with_objects",
           "dict_with_objects", "set_with_objects"]  # fmt: skip


@autograms_function()
def nan_in_a_cell(kinds, pauses):
    """The NaN a closure reads (a cell variable) and containers hold, across pauses."""
    nan = float("nan")
    read = lambda: nan  # noqa: E731 - makes `nan` a cell variable
    holders = {kind: holding(kind, nan) for kind in kinds}
    for turn in range(pauses):
        seen = [contains(kind, holder, nan) for kind, holder in holders.items()]
        reply(f"cell turn {turn}: {seen} {read() is nan}")


def report(plan, union, module, module_holder, chain, instances, nan, nan_holders):
    seen = []
    if union is not None:
        plain = tuple(arg for arg in union.__args__ if type(arg) is type)
        seen.append([isinstance(sample, plain) for sample in _SAMPLES])
        seen.append([kind in union.__args__ for kind in _TYPES])
        seen.append([repr(union), union == make_union(plan["union"]), hash(union) == hash(union)])
    if module is not None:
        names = sorted(name for name in vars(module) if not name.startswith("__"))
        seen.append([module.__name__, names, module_holder[0] is module])
        seen.append([getattr(module, "me", None) is module, getattr(module, "items", None)])
    if chain is not None:
        seen.append([[issubclass(a, b) for b in chain] for a in chain])
        seen.append([[isinstance(obj, cls) for cls in chain] for obj in instances])
        seen.append([type(obj.make()) in chain for obj in instances])
    if nan is not None:
        seen.append([contains(kind, holder, nan) for kind, holder in nan_holders.items()])
    return seen


@autograms_function()
def chatbot():
    plan = make_plan(int(reply("seed?")))
    families = plan["families"]
    union = make_union(plan["union"]) if "union" in families else None
    module = module_holder = None
    if "module" in families:
        module = types.ModuleType(f"made_{len(plan['union'])}")
        for number in range(plan["attributes"]):
            setattr(module, f"a{number}", number * 7)
        module.items = [1, [2]]
        if plan["self_reference"]:
            module.me = module
        module_holder = [module]
    chain = instances = None
    if "classes" in families:
        chain = make_classes(plan["depth"], plan["makes"])
        instances = [cls() for cls in chain]
    nan = nan_holders = None
    if "nan" in families:
        nan = float("nan")
        nan_holders = {}
        for kind in plan["holders"]:  # a loop: on 3.11 a comprehension makes `nan` a cell
            nan_holders[kind] = holding(kind, nan)
    if "nan" in families and plan["in_a_cell"]:
        nan_in_a_cell(plan["holders"], plan["pauses"])
    schema = {"field": union}
    for turn in range(plan["pauses"]):
        seen = report(plan, union, module, module_holder, chain, instances, nan, nan_holders)
        reply(f"turn {turn}: {seen} {schema['field'] is union}")
        if module is not None:
            module.items.append(turn)
    return None

"""Generated programs holding subclasses of built-in and standard-library classes across a pause.

A table of library classes, each subclassed by the program in one of several shapes
(`VARIANTS`): extra attributes, an ``__init__`` or ``__new__`` taking an argument of its own,
``__slots__``, a reference to itself (as an attribute, and as an item where the class holds
items), an instance dictionary shared with a local and a second object. Each program builds
one object per class, pauses, prints what plain Python sees, changes the objects, pauses
again and prints again; tests/engine/test_library_subclasses.py compares the transcript with
plain Python's.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Base:
    name: str  # the class, as the program spells it
    args: str  # arguments that make an instance
    show: str  # an expression of `obj` printing its value as the library class sees it
    change: str  # a statement changing `obj` (or "" for immutable values)
    made_by: str  # "init" or "new": where a subclass takes an argument of its own
    slots: bool = True  # whether a subclass may declare non-empty __slots__
    items: str = ""  # a statement putting `obj` inside itself ("" where it cannot hold itself)
    own_argument: bool = True  # whether a subclass taking an argument of its own is tried


BASES = (
    Base("collections.Counter", "a=1", "sorted(obj.items())", 'obj["b"] += 2', "init"),
    Base(
        "collections.defaultdict",
        "list",
        "(sorted(obj.items(), key=str), obj.default_factory)",
        'obj["k"].append(1)',
        "init",
        items='obj["me"] = obj',
    ),
    Base(
        "collections.OrderedDict",
        "a=1, b=2",
        "list(obj.items())",
        'obj["z"] = 3; obj.move_to_end("a")',
        "init",
        items='obj["me"] = obj',
    ),
    Base(
        "collections.deque",
        "[1, 2], maxlen=4",
        "(list(obj), obj.maxlen)",
        "obj.append(9); obj.rotate(1)",
        "init",
        items="obj.append(obj)",
    ),
    Base(
        "dict",
        "a=1",
        "sorted(obj.items(), key=str)",
        'obj["b"] = 2',
        "init",
        items='obj["me"] = obj',
    ),
    Base(
        "list",
        "[3, 1]",
        "list(obj)",
        "obj.extend([5]); obj.sort(key=str)",
        "init",
        items="obj.append(obj)",
    ),
    Base("set", "[1, 2]", "sorted(obj, key=str)", "obj.add(7)", "init"),
    Base("frozenset", "[1, 2]", "sorted(obj)", "", "new"),
    Base("datetime.datetime", "2024, 1, 31, 12", "obj.isoformat()", "", "new"),
    Base("datetime.date", "2024, 2, 29", "(obj.isoformat(), obj.weekday())", "", "new"),
    Base("datetime.time", "1, 2", "obj.isoformat()", "", "new"),
    Base("datetime.timedelta", "1, 5", "obj.total_seconds()", "", "new"),
    Base("decimal.Decimal", '"1.50"', "str(obj * 2)", "", "new"),
    Base("fractions.Fraction", "1, 3", "obj * 3", "", "new"),
    Base("ipaddress.IPv4Address", '"10.0.0.1"', "str(obj + 1)", "", "init"),
    Base(
        "pathlib.PurePosixPath",
        '"/a/b.txt"',
        "(str(obj), obj.suffix)",
        "",
        "init",
        own_argument=False,  # 3.11's PurePath.__new__ takes every argument as a path part
    ),
    Base("array.array", '"i", [1, 2]', "obj.tolist()", "obj.append(3)", "new"),
    Base("functools.partial", "max, 1", "(obj(5), obj.args)", "", "new"),
    Base("str", '"text"', "obj.upper()", "", "new", False),
    Base("int", "5", "obj + 1", "", "new", False),
    Base("tuple", "(1, 2)", "obj + (3,)", "", "new", False),
)

VARIANTS = ("attributes", "own_argument", "slots", "cycle", "shared_dict", "counting_methods")

#: a subclass whose methods that add items count their calls in an attribute
_COUNTING = """
class {name}({base}):
    def __init__(self, *args, **kwargs):
        self.calls = 0
        super().__init__(*args, **kwargs)

    def __setitem__(self, key, value):
        self.calls += 1
        super().__setitem__(key, value)

    def update(self, *args, **kwargs):
        self.calls += 1
        super().update(*args, **kwargs)

    def extend(self, items):
        self.calls += 1
        super().extend(items)

    def append(self, item):
        self.calls += 1
        super().append(item)

    def add(self, item):
        self.calls += 1
        super().add(item)
"""


def _subclass(base: Base, variant: str, index: int) -> str | None:
    """The class definition of one subclass, or None where the variant does not apply."""
    name = f"K{index}"
    if variant == "counting_methods":
        holds_items = base.made_by == "init" and base.change
        return _COUNTING.format(name=name, base=base.name) if holds_items else None
    if variant == "slots":
        if not base.slots:
            return None
        return f"""
class {name}({base.name}):
    __slots__ = ("tag", "__hidden")

    def hide(self, value):
        self.__hidden = value

    def reveal(self):
        return self.__hidden
"""
    if variant == "own_argument":
        if not base.own_argument:
            return None
        if base.made_by == "init":
            return f"""
class {name}({base.name}):
    def __init__(self, owner, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner
"""
        return f"""
class {name}({base.name}):
    def __new__(cls, owner, *args, **kwargs):
        self = super().__new__(cls, *args, **kwargs)
        self.owner = owner
        return self
"""
    return f"\nclass {name}({base.name}):\n    pass\n"


def _make(base: Base, variant: str, index: int) -> str:
    args = f'"owner{index}", {base.args}' if variant == "own_argument" else base.args
    return f"K{index}({args})"


def _setup(base: Base, variant: str) -> list[str]:
    if variant == "attributes":
        return ["obj.note = [type(obj).__name__]"]
    if variant == "slots":
        return ['obj.tag = "T"', 'obj.hide("secret")']
    if variant == "cycle":
        return ["obj.me = obj", *([base.items] if base.items else [])]
    if variant == "shared_dict":
        return ["obj.__dict__ = shared", "twin.__dict__ = shared"]
    return []


def _report(base: Base, variant: str) -> str:
    common = f"type(obj).__name__, {base.show}"
    if variant == "attributes":
        return f"print({common}, obj.note)"
    if variant == "own_argument":
        return f"print({common}, obj.owner)"
    if variant == "counting_methods":
        return f"print({common}, obj.calls)"
    if variant == "slots":
        return f"print({common}, obj.tag, obj.reveal())"
    if variant == "cycle":
        inside = "any(item is obj for item in (obj.values() if hasattr(obj, 'values') else obj))"
        held = inside if base.items else "None"
        return f"print(type(obj).__name__, obj.me is obj, {held})"
    return f"print({common}, obj.__dict__ is shared, twin.__dict__ is shared, sorted(shared))"


def program(variant: str) -> str:
    """One program holding a subclass of every library class in `BASES` in shape `variant`."""
    classes, made, after = [], [], []
    for index, base in enumerate(BASES):
        definition = _subclass(base, variant, index)
        if definition is None:
            continue
        classes.append(definition)
        position = len(classes) - 1
        made.append(f"objs.append(obj := {_make(base, variant, index)})")
        if variant == "shared_dict":
            made.append(f"twins.append(twin := {_make(base, variant, index)})")
        made += _setup(base, variant)
        after.append(f"obj, twin = objs[{position}], (twins or objs)[{position}]")
        after.append(_report(base, variant))
        if base.change and variant != "cycle":
            after += [base.change, _report(base, variant)]
        if variant == "shared_dict":
            after += [f"obj.seen = {index}", 'print(twin.seen, shared["seen"])']
        if variant == "attributes":
            after += ['obj.note.append("after")', _report(base, variant)]
    return (
        "import array, collections, datetime, decimal, fractions, functools, ipaddress\n"
        "import pathlib\n"
        "from autograms import autograms_function\n"
        "from autograms.functional import reply\n"
        + "".join(classes)
        + "\n\n@autograms_function()\ndef chatbot():\n"
        + '    objs, twins, shared = [], [], {"start": 1}\n'
        + "".join(f"    {line}\n" for line in made)
        + "    for turn in range(2):\n"
        + '        reply(f"turn {turn}?")\n'
        + "".join(f"        {line}\n" for line in after)
        + '    reply("end")\n'
    )

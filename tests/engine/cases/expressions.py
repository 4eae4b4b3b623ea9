"""Pauses inside expressions: the value stack under the call must come back exactly."""

from types import SimpleNamespace

from tests.engine.harness import Case, checkpoint, resumable

BASE = 100
REGISTRY = []
COUNTER = 0
PREFIX = "p0"


class Box:
    def __init__(self, value):
        self.value = value
        self.items = []

    def add(self, item):
        self.items.append(item)
        return len(self.items)


@resumable
def child(n):
    return int(checkpoint(f"child {n}")) * n


@resumable
def arithmetic():
    base = 7
    return base + child(2) * 2 - BASE // child(1)


@resumable
def calls_as_arguments():
    parts = []
    parts.append(str(len("abc")) + checkpoint("first") + str(child(3)))
    return max(1, child(1), 5 if checkpoint("cond") else 6), parts


@resumable
def method_on_local_and_global():
    box = Box(1)
    box.add(checkpoint("add 1"))
    REGISTRY.append(checkpoint("register"))
    registered = REGISTRY[-1]  # the module's own list, not a copy (module state is not saved)
    count = box.add(box.value + int(checkpoint("add 2")))
    return box.items, count, registered


@resumable
def displays_and_fstrings():
    name = "n"
    pair = (name, checkpoint("tuple"))
    mapping = {"k": checkpoint("dict value"), checkpoint("dict key"): 2}
    listing = [1, checkpoint("list"), 3]
    text = f"{name}-{checkpoint('fstring')!r}-{len(listing):03d}"
    return pair, sorted(mapping.items()), listing, text


@resumable
def several_statements_on_one_line():
    a = checkpoint("a")
    b = checkpoint("b")
    c = a + b  # noqa: E702
    return c


@resumable
def multi_line_call():
    result = combine(
        checkpoint("first line"),
        "middle",
        checkpoint(
            "third line",
        ),
    )
    return result


def combine(*parts):
    return "/".join(parts)


@resumable
def augmented_assignments():
    box = Box(0)
    values = {"x": 1}
    box.value += int(checkpoint("attr"))
    values["x"] += int(checkpoint("subscript"))
    values["y"] = values["x"] * int(checkpoint("store"))
    return box.value, values


@resumable
def chained_comparisons_and_boolean_ops():
    low = 3
    ok = low < int(checkpoint("middle")) < 10 and checkpoint("and") or checkpoint("or")
    return ok


@resumable
def unpacking_and_starred():
    first, *rest = checkpoint("seq")
    merged = [*rest, *checkpoint("more")]
    kwargs = {"sep": checkpoint("sep")}
    return first, merged, combine(*merged, **{}) if kwargs["sep"] else None


@resumable
def print_between_turns():
    print("before", 1)
    value = checkpoint("q")
    print("after", value, sep="|")
    return value


@resumable
def return_of_pause():
    return checkpoint("last words")


@resumable
def aliasing_kept():
    shared = [1]
    view = {"list": shared}
    extra = checkpoint("pause")
    shared.append(extra)
    return view["list"] is shared, view


@resumable
def rebind_and_pause():
    global COUNTER, PREFIX
    COUNTER += 1
    PREFIX = "p1"
    return checkpoint("rebind")


@resumable
def globals_read_before_a_pausing_call():
    # the value plain Python already loaded, not the global's value at the resume
    global COUNTER, PREFIX
    COUNTER, PREFIX = 0, "p0"
    first = [COUNTER, PREFIX, rebind_and_pause()]
    PREFIX = "q"
    second = (PREFIX, (PREFIX := "walrus"), checkpoint("walrus"))
    return first, second


class Settings:
    greeting = "hello"
    table = {"k": "v0"}
    nested = SimpleNamespace(value=1)


class Speaker:
    def say(self, text):
        return "old:" + text


def new_say(text):
    return "new:" + text


@resumable
def change_settings_and_pause():
    Settings.greeting, Settings.table["k"] = "changed", "v1"
    Settings.nested = SimpleNamespace(value=2)
    return checkpoint("changed")


@resumable
def swap_say_and_pause(speaker):
    speaker.say = new_say
    return checkpoint("swap")


@resumable
def loads_read_before_a_pausing_call():
    # module attribute chains and a looked-up method keep the object plain Python had
    # loaded before the call that changes them
    Settings.greeting, Settings.table["k"] = "hello", "v0"
    Settings.nested = SimpleNamespace(value=1)
    first = [Settings.greeting, Settings.nested.value, change_settings_and_pause()]
    Settings.table["k"] = "v0"
    second = (Settings.table["k"], change_settings_and_pause())
    speaker = Speaker()
    said = speaker.say(swap_say_and_pause(speaker))
    return first, second, said, speaker.say("again")


def plain_helper(question):
    return checkpoint(question)


def plain_helper_keeping_the_answer(question):
    answer = checkpoint(question)
    return answer


def plain_helper_saying(text):
    checkpoint(text)


def plain_helper_returning_a_constant(text):
    plain_helper_saying(text)
    return "constant"


@resumable
def through_plain_helpers_returning_the_answer():
    said = plain_helper_saying("said"), plain_helper_returning_a_constant("said again")
    return plain_helper("plain") + "|" + plain_helper_keeping_the_answer("kept"), said


CASES = {
    "globals_read_before_a_pausing_call": Case(globals_read_before_a_pausing_call, (), ["a", "b"]),
    "loads_read_before_a_pausing_call": Case(loads_read_before_a_pausing_call, (), ["a", "b", "s"]),
    "through_plain_helpers_returning_the_answer": Case(
        through_plain_helpers_returning_the_answer, (), ["s", "t", "x", "y"]
    ),
    "arithmetic": Case(arithmetic, (), ["5", "2"]),
    "calls_as_arguments": Case(calls_as_arguments, (), ["x", "1", "2", "", "4"]),
    "method_on_local_and_global": Case(method_on_local_and_global, (), ["a", "b", "3"]),
    "displays_and_fstrings": Case(displays_and_fstrings, (), ["t", "v", "k", "l", "f"]),
    "several_statements_on_one_line": Case(several_statements_on_one_line, (), ["1", "2"]),
    "multi_line_call": Case(multi_line_call, (), ["A", "C"]),
    "augmented_assignments": Case(augmented_assignments, (), ["4", "5", "6"]),
    "chained_comparisons": Case(chained_comparisons_and_boolean_ops, (), ["5", "", "or!"]),
    "unpacking_and_starred": Case(unpacking_and_starred, (), [[1, 2, 3], (4,), "-"]),
    "print_between_turns": Case(print_between_turns, (), ["v"]),
    "return_of_pause": Case(return_of_pause, (), ["bye"]),
    "aliasing_kept": Case(aliasing_kept, (), [2]),
}

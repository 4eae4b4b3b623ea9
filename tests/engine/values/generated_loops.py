"""A bot running a loop generated from a seed (its first message): a dict, OrderedDict, set or
list, an iterator over it (items, keys, values, reversed, enumerate, zip, a view), and at each step a
few actions among pausing and changing the container. Plain Python decides what the loop
sees; the resumed runs must agree (test_values.py)."""

import random
from collections import OrderedDict

from autograms import autograms_function
from autograms.functional import reply

MAX_PAUSES = 14
STEPS = 8
KINDS = ("items", "keys", "values", "reversed", "view", "enumerate", "zip", "set", "list")
ORDERED = ("od_items", "od_keys", "od_values", "od_reversed", "od_view")
ACTIONS = {
    "dict": ("pause", "pause", "set", "add", "delete_last", "delete_first", "swap", "clear"),
    "ordered": ("pause", "pause", "set", "add", "delete_last", "swap", "clear", "move"),
    # set layouts are not kept by a copy: only changes of size, which stop the loop
    "set": ("pause", "pause", "add", "discard"),
    "list": ("pause", "pause", "append", "pop", "insert", "setitem"),
}


def family(kind):
    if kind.startswith("od_"):
        return "ordered"
    return kind if kind in ("set", "list") else "dict"


def make_plan(seed):
    rng = random.Random(seed)
    kind = rng.choice(KINDS + ORDERED)
    actions = ACTIONS[family(kind)]
    steps = [
        ["pause"] * (rng.random() < 0.7) + [rng.choice(actions) for _ in range(rng.randint(0, 2))]
        for _ in range(STEPS)
    ]
    return kind, rng.randint(1, 5), steps


def describe(seed):
    return repr(make_plan(seed))


def make_container(kind, size):
    if family(kind) == "ordered":
        return OrderedDict((f"k{number}", number) for number in range(size))
    if family(kind) == "dict":
        return {f"k{number}": number for number in range(size)}
    if kind == "set":
        return {number * 3 for number in range(size)}
    return list(range(size))


def iterate(kind, container):
    kind = kind.removeprefix("od_")
    if kind == "items":
        return iter(container.items())
    if kind == "values":
        return iter(container.values())
    if kind == "reversed":
        return reversed(container)
    if kind == "view":
        return container.keys()
    if kind == "enumerate":
        return enumerate(container.items())
    if kind == "zip":
        return zip(container.keys(), container.values(), strict=False)
    return iter(container)


def change_mapping(action, container, counter):
    keys = list(container)
    if action == "set" and keys:
        container[keys[0]] = counter
    elif action == "add":
        container[f"n{counter}"] = counter
    elif action == "delete_last" and keys:
        del container[keys[-1]]
    elif action == "delete_first" and keys:
        del container[keys[0]]
    elif action == "swap" and keys:
        del container[keys[-1]]
        container[f"s{counter}"] = counter
    elif action == "clear":
        container.clear()
    elif action == "move" and keys:
        container.move_to_end(keys[0])


def change(kind, action, container, counter):
    if family(kind) in ("dict", "ordered"):
        change_mapping(action, container, counter)
    elif kind == "set":
        if action == "add":
            container.add(100 + counter)
        elif action == "discard" and container:
            container.discard(min(container))
    elif action == "append":
        container.append(counter)
    elif action == "pop" and container:
        container.pop()
    elif action == "insert":
        container.insert(0, counter)
    elif action == "setitem" and container:
        container[-1] = counter


def show(container):
    if isinstance(container, OrderedDict):
        return dict(container)  # its repr differs between Pythons
    return sorted(container) if isinstance(container, set) else container


@autograms_function()
def run_plan(kind, size, steps):
    container = make_container(kind, size)
    answers = []
    counter = 0
    try:
        for position, item in enumerate(iterate(kind, container)):
            if position >= len(steps):
                break
            for action in steps[position]:
                counter += 1
                if action == "pause":
                    answers.append(reply(f"at {item!r}: {show(container)!r}"))
                else:
                    change(kind, action, container, counter)
    except RuntimeError as exc:
        reply(f"RuntimeError: {exc}")
    return answers, show(container)


@autograms_function()
def chatbot():
    seed = int(reply("seed?"))
    answers, container = run_plan(*make_plan(seed))
    reply(f"done: {answers} {container!r}")

"""Instrumented functions with enter/leave hooks that log into EVENTS."""

from autograms import _frames

EVENTS: list = []


def hooks(name):
    return _frames.FrameHooks(
        enter=lambda: EVENTS.append(("enter", name)),
        leave=lambda exc: EVENTS.append(("leave", name, type(exc).__name__ if exc else None)),
    )


def child(fail):
    answer = _frames.pause("child asks")
    if fail:
        raise ValueError(answer)
    return answer


def parent(fail):
    try:
        return child(fail)
    except ValueError:
        return "recovered"


def jumper():
    return leaf_returnto()


def leaf_returnto():
    if ("marker",) not in EVENTS:
        EVENTS.append(("marker",))
        _frames.returnto("again")
    return "done"


def outer():
    return jumper(ADDRESS="again")


for _function, _name in (
    (child, "child"),
    (parent, "parent"),
    (jumper, "jumper"),
    (leaf_returnto, "leaf"),
    (outer, "outer"),
):
    _frames.instrument(_function, hooks(_name))

"""When plain code drops an iterator, a context manager, a handled exception or a partly
evaluated expression's item, the instrumented code must drop it too: finalizers run at the same
moment."""

import gc

from tests.engine.harness import Case, checkpoint, resumable


def numbers(events):
    try:
        yield 1
        yield 2
    finally:
        events.append("generator closed")


class Watched:
    def __init__(self, events, name):
        self.events = events
        self.name = name

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __del__(self):
        self.events.append(f"{self.name} released")


@resumable
def break_releases_the_iterator():
    events = [checkpoint("before the loop")]
    for n in numbers(events):
        events.append(str(n) + str(len(events)))
        break
    events.append("after the loop")
    return events


@resumable
def with_block_releases_its_manager():
    events = []
    with Watched(events, "manager"):
        events.append(checkpoint("inside with"))
    events.append("after with")
    return events


@resumable
def handled_exception_is_released():
    events = []
    try:
        raise KeyError("k")
    except KeyError as exc:
        events.append(len(exc.args) + int(checkpoint("in except")))
    gc.disable()
    try:
        gc.collect()
        for _ in range(3):
            try:
                raise ValueError("v")
            except ValueError as exc:
                events.append(len(exc.args))
        events.append(("cyclic garbage", gc.collect()))
    finally:
        gc.enable()
    return events


@resumable
def spilled_temporary_is_released():
    events = []
    box = [Watched(events, "first"), checkpoint("in a list display")]
    box.clear()
    events.append("after clear")
    pair = (Watched(events, "second"), str(len(events)))
    del pair
    events.append("after del")
    return events


CASES = {
    "break_releases_the_iterator": Case(break_releases_the_iterator, (), ["!"]),
    "with_block_releases_its_manager": Case(with_block_releases_its_manager, (), ["x"]),
    "handled_exception_is_released": Case(handled_exception_is_released, (), ["1"]),
    "spilled_temporary_is_released": Case(spilled_temporary_is_released, (), ["x"]),
}

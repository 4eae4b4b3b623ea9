"""Pauses inside with blocks: __exit__ runs once, at the real end of the block."""

import contextlib

from tests.engine.harness import Case, checkpoint, resumable


class Recorder:
    """A pure-Python context manager that logs and can suppress."""

    def __init__(self, name, suppress=False):
        self.name = name
        self.suppress = suppress
        self.log = []

    def __enter__(self):
        self.log.append(f"enter {self.name}")
        print(f"enter {self.name}")
        return self

    def __exit__(self, kind, value, traceback):
        self.log.append(f"exit {self.name} {kind.__name__ if kind else None}")
        print(f"exit {self.name} {kind.__name__ if kind else None}")
        return self.suppress


@resumable
def with_body():
    with Recorder("a") as recorder:
        recorder.log.append(checkpoint("inside with"))
    return recorder.log


@resumable
def nested_with_and_loop():
    outer = Recorder("outer")
    with outer, Recorder("inner") as inner:
        for n in range(2):
            inner.log.append(checkpoint(("loop", n)))
    return outer.log, inner.log


@resumable
def suppressing_manager_does_not_swallow_pause():
    manager = Recorder("quiet", suppress=True)
    with manager:
        answer = checkpoint("inside suppressing with")
        if answer == "fail":
            raise ValueError("suppressed")
    return answer, manager.log


@resumable
def exception_after_resume_goes_to_exit():
    manager = Recorder("m")
    try:
        with manager:
            value = int(checkpoint("number?"))
    except ValueError:
        value = "not a number"
    return value, manager.log


@resumable
def with_suppress():
    result = "unset"
    with contextlib.suppress(KeyError):
        result = checkpoint("inside suppress")
        result = {}[result]
    return result


@resumable
def pause_in_exit_chain():
    first = Recorder("one")
    with first:
        pass
    second = Recorder("two")
    with second:
        marker = checkpoint("second block")
    return first.log + second.log + [marker]


@resumable
def returned_through_with_and_pausing_finally():
    try:
        with Recorder("w"):
            return checkpoint("value?") + "+m"
    finally:
        print("finally got", checkpoint("in finally"))


@resumable
def return_value_survives_pausing_finally():
    value = returned_through_with_and_pausing_finally()
    return value, checkpoint(("caller got", value))


@resumable
def returned_from_loop_in_with_through_pausing_finally():
    try:
        with Recorder("outer"), Recorder("inner"):
            for n in range(3):
                if checkpoint(("more?", n)) == "stop":
                    return ("stopped at", n)
    finally:
        checkpoint("cleanup")
    return "ran out"


CASES = {
    "with_body": Case(with_body, (), ["x"]),
    "nested_with_and_loop": Case(nested_with_and_loop, (), ["1", "2"]),
    "suppressing_manager_keeps_pause": Case(suppressing_manager_does_not_swallow_pause, (), ["ok"]),
    "suppressing_manager_suppresses_later": Case(
        suppressing_manager_does_not_swallow_pause, (), ["fail"]
    ),
    "exception_after_resume_to_exit": Case(exception_after_resume_goes_to_exit, (), ["nan"]),
    "with_suppress": Case(with_suppress, (), ["missing"]),
    "pause_in_exit_chain": Case(pause_in_exit_chain, (), ["m"]),
    "return_value_survives_pausing_finally": Case(
        return_value_survives_pausing_finally, (), ["x", "f", "end"]
    ),
    "return_from_loop_in_withs_through_pausing_finally": Case(
        returned_from_loop_in_with_through_pausing_finally, (), ["go", "stop", "c"]
    ),
}

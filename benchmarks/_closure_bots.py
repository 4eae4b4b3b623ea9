"""The bots of the closures benchmark: the same 4-deep conversation, with and without closures
and comprehensions in the paused frames."""

from __future__ import annotations

from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def innermost(tid: int, nums: list[int], total: int) -> str:
    return reply(f"turn {tid}: {nums} {total}")


@autograms_function()
def third_with_closures(tid: int) -> str:
    nums = [tid * k for k in range(4)]  # a comprehension reading a local (a cell on 3.11)

    def scaled(x: int) -> int:  # a nested function over a local
        return x * tid

    return innermost(tid, nums, scaled(2))


@autograms_function()
def third_plain(tid: int) -> str:
    nums = [tid * 0, tid, tid * 2, tid * 3]
    return innermost(tid, nums, tid * 2)


@autograms_function()
def second_with_closures(tid: int) -> str:
    return third_with_closures(tid)


@autograms_function()
def second_plain(tid: int) -> str:
    return third_plain(tid)


@autograms_function()
def with_closures() -> None:
    tid = 0
    while True:
        tid += 1
        second_with_closures(tid)


@autograms_function()
def plain() -> None:
    tid = 0
    while True:
        tid += 1
        second_plain(tid)


BOTS = {"closures": with_closures, "plain": plain}

"""Closures and functions pickle cannot name, held by paused frames."""

import functools

from autograms import autograms_function
from autograms.functional import reply


def twice(function):
    @functools.wraps(function)
    def wrapper(*args):
        return function(*args) * 2

    return wrapper


@autograms_function()
def level3(tid):
    nums = [tid * k for k in range(4)]  # on 3.11 a comprehension reading a local: a cell

    def scaled(x):
        return x * tid

    return reply(f"level3 {tid}: {nums} {scaled(2)}")


@autograms_function()
def counters():
    count = 0

    def bump(step=1):
        nonlocal count
        count += step
        return count

    def factorial(n):
        return 1 if n <= 1 else n * factorial(n - 1)

    @twice
    def doubled(x):
        return x + count

    square = lambda x: x * x  # noqa: E731
    adders = [lambda y, i=i: y + i for i in range(3)]
    late = [lambda: k for k in range(3)]  # noqa: B023 - late binding, as plain Python does
    add_ten = functools.partial(bump, 10)
    bump.calls = "bump's attribute"
    reply(f"before: {bump()} {factorial(4)} {doubled(1)} {square(3)}")
    bump(2)
    add_ten()
    reply(
        f"after: {count} {bump()} {doubled(1)} {[a(1) for a in adders]} {[f() for f in late]} "
        f"{bump.calls} {bump.__qualname__} {bump.__defaults__} {doubled.__wrapped__(1)}"
    )
    return count


@autograms_function()
def local_class():
    class Point:
        def __init__(self, x):
            self.x = x

        def moved(self):
            return Point(self.x + 1)

    point = Point(1)
    move = point.moved
    reply(f"point at {point.x}")
    return move().x, type(point).__qualname__


@autograms_function()
def chatbot():
    tid = 0
    while tid < 3:
        tid += 1
        level3(tid)
    reply(f"counters: {counters()}")
    reply(f"local class: {local_class()}")

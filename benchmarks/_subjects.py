# ruff: noqa: F841 - the deep-stack frames hold locals only so that their snapshots carry them
"""Functions the engine benchmarks run, kept at module level so the engine can instrument them
and a fresh process can find them again by module and qualified name.

Importing this module instruments nothing: `overhead_pairs`, `hooked_pair` and
`instrument_stack` do, and `fifty_copy` gives fresh functions for timing instrumentation itself.
"""

from __future__ import annotations

from types import CodeType, FunctionType
from typing import Any

from autograms._frames import FrameHooks, FunctionInfo, instrument, pause

#: Arguments of the 40-line function: seven items, two of which raise and are handled.
FORTY_ITEMS = [3, 0, 7, -2, 11, 5, 8]
#: Argument of the outermost frame of the deep stack.
STACK_SEED = 7
#: Frames in the deep stack, outermost first.
STACK_DEPTH = 5


def helper(number: int) -> int:
    """A plain callee for the loop and 40-line functions."""
    return number * 2 + 1


def tiny(a: int, b: int) -> int:
    """The smallest function worth instrumenting: one operation."""
    return a + b


def tiny_hooked(a: int, b: int) -> int:
    """`tiny` again, to be instrumented with enter/leave hooks."""
    return a + b


def _enter() -> None:
    """A no-op enter hook."""


def _leave(exc: BaseException | None) -> None:
    """A no-op leave hook."""
    del exc


def loop(count: int) -> list[int]:
    """`count` iterations of a call into a plain helper."""
    acc = []
    for i in range(count):
        acc.append(helper(i))
    return acc


def forty(items: list[int]) -> dict[str, Any]:
    """About 40 lines: loops, try/except, ~20 locals."""
    total = 0
    count = 0
    errors = 0
    largest = None
    smallest = None
    evens: list[int] = []
    odds: list[int] = []
    names: dict[str, int] = {}
    label = "item"
    scale = 3
    offset = 1
    for position, item in enumerate(items):
        value = helper(item) * scale - offset
        try:
            ratio = 100 // item
        except ZeroDivisionError:
            errors += 1
            ratio = 0
        if item < 0:
            try:
                raise ValueError(item)
            except ValueError as exc:
                errors += len(exc.args)
                continue
        total += value + ratio
        count += 1
        if largest is None or value > largest:
            largest = value
        if smallest is None or value < smallest:
            smallest = value
        (evens if value % 2 == 0 else odds).append(value)
        names[f"{label}{position}"] = value
    spread = (largest or 0) - (smallest or 0)
    mean = total / count if count else 0.0
    summary = f"{count} {label}s, {errors} errors"
    return {
        "total": total,
        "mean": mean,
        "spread": spread,
        "evens": evens,
        "odds": odds,
        "names": names,
        "summary": summary,
    }


def fifty(rows: list[dict[str, Any]], limit: int = 10) -> list[str]:
    """About 50 lines with many call sites: the instrumentation-time subject."""
    seen: set[str] = set()
    lines: list[str] = []
    skipped = 0
    failures: list[str] = []
    header = "report".upper()
    accepted = 0
    width = max(len(str(row.get("name", ""))) for row in rows) if rows else 0
    for index, row in enumerate(rows):
        if index >= limit:
            break
        name = str(row.get("name", "")).strip()
        if not name or name in seen:
            skipped += 1
            continue
        seen.add(name)
        accepted += 1
        try:
            score = float(row["score"])
        except (KeyError, TypeError, ValueError) as exc:
            failures.append(f"{name}: {exc!r}")
            continue
        try:
            grade = helper(int(score)) // max(1, len(name))
        finally:
            lines.append(f"{header} {name.ljust(width)}")
        tags = sorted(set(row.get("tags", [])))
        for tag in tags:
            if tag.startswith("_"):
                continue
            lines.append(" ".join([tag, str(len(tag)), name]))
        while grade > 10:
            grade = helper(grade) // 3 - helper(1)
        if grade % 2:
            lines.append(f"odd {grade}")
        elif grade > 5:
            lines.append(f"high {grade}")
        else:
            lines.append(f"low {grade}")
    with _Null() as sink:
        sink.write(len(lines))
    summary = ", ".join(
        part for part in (f"{len(lines)} lines", f"{skipped} skipped", f"{len(failures)} failed")
    )
    lines.insert(0, summary.title())
    lines.extend(failures)
    lines.append(str(sorted(seen)))
    lines.append(f"{accepted} accepted, width {width}")
    return lines


class _Null:
    """A context manager that discards what it is given."""

    def __enter__(self) -> _Null:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def write(self, value: object) -> None:
        del value


def level1(seed: int) -> int:
    """Outermost frame of the deep stack: ~20 locals, a for loop, a pending `+=`."""
    name, title, city, topic = "ada", "dr", "london", "engines"
    count, limit, score, ratio = seed, seed + 10, 0.5, 1.25
    history, tags, options = ["hi", "hello"], ["a", "b", "c"], {"k": 1, "m": 2}
    flags, pair, nothing = (True, False), (seed, seed * 2), None
    first, second, third, total = 1, 2, 3, 0
    for turn in range(count, limit):
        total += level2(turn + first)
    return total + second + third


def level2(seed: int) -> int:
    """Second frame: ~20 locals and a call inside an expression."""
    greeting, farewell, mood, lang = "hello", "bye", "calm", "en"
    retries, budget, weight, bias = 0, 100, 0.75, -0.1
    notes, queue, profile = ["n1"], [seed, seed + 1], {"age": 36, "name": "ada"}
    window, span, marker = (0, 10), range(3), None
    alpha, beta, gamma, delta = 4, 5, 6, 7
    return alpha * level3(seed + beta) + gamma + delta


def level3(seed: int) -> int:
    """Third frame: ~20 locals and a call inside try/except."""
    step, phase, region, unit = "s1", "p0", "eu", "kg"
    depth, width, height, scale = 3, 4, 5, 2.5
    items, stack, lookup = [1, 2, 3], ["x"], {"a": [1], "b": [2]}
    bounds, corner, sentinel = (0.0, 1.0), (1, 1), None
    epsilon, zeta, eta, theta = 8, 9, 10, 11
    try:
        return level4(seed + depth) + epsilon
    except LookupError:
        return zeta + eta + theta


def level4(seed: int) -> int:
    """Fourth frame: ~20 locals and a call in a while loop."""
    key, value, kind, source = "k", "v", "int", "user"
    index, total, factor, offset = 0, 0, 1.5, 3
    buffer, parts, cache = ["a", "b"], ["c"], {1: "one"}
    origin, target, empty = (0, 0), (5, 5), None
    iota, kappa, lam, mu = 12, 13, 14, 15
    while index < 3:
        total = total + level5(seed + index)
        index += 1
    return total + iota + kappa + lam + mu


def level5(seed: int) -> int:
    """Innermost frame: ~20 locals, pauses on every iteration, forever."""
    prompt, answer, state, channel = "next?", "", "open", "chat"
    turns, misses, pressure, temperature = 0, 0, 1.0, 0.2
    transcript, pending, memory = ["start"], [], {"seed": seed}
    span, anchor, last = (seed, seed + 5), (0, 1), None
    nu, xi, omicron, rho = 16, 17, 18, 19
    while True:
        answer = pause(prompt)
        turns += 1
        misses += not answer


#: The deep stack, outermost first.
STACK = (level1, level2, level3, level4, level5)


def _copy_with_code(function: FunctionType, code: CodeType) -> FunctionType:
    copy = FunctionType(
        code,
        function.__globals__,
        function.__name__,
        function.__defaults__,
        function.__closure__,
    )
    copy.__kwdefaults__ = function.__kwdefaults__
    return copy


def plain_copy(info: FunctionInfo) -> FunctionType:
    """An uninstrumented function running the original code of `info`."""
    return _copy_with_code(info.function, info.original_code)


def overhead_pairs() -> dict[str, tuple[FunctionType, FunctionType]]:
    """(plain, instrumented) versions of each call-overhead subject; instruments them."""
    pairs = {}
    for function in (tiny, loop, forty):
        info = instrument(function)
        pairs[function.__name__] = (plain_copy(info), info.function)
    return pairs


def hooked_pair() -> tuple[FunctionType, FunctionType]:
    """(plain, instrumented with no-op hooks) versions of `tiny_hooked`; instruments it."""
    info = instrument(tiny_hooked, FrameHooks(enter=_enter, leave=_leave))
    return plain_copy(info), info.function


def instrument_stack() -> None:
    """Instrument the five deep-stack functions (idempotent)."""
    for function in STACK:
        instrument(function)


def fifty_copy() -> FunctionType:
    """A new, uninstrumented copy of `fifty` (which itself is never instrumented)."""
    return _copy_with_code(fifty, fifty.__code__)

"""Numbers of seconds given by a caller (a lease, a wait, an idle time, a flag): one check and
one wording for every public function and command-line flag that takes one."""

from __future__ import annotations

import math
from collections.abc import Callable


def check_seconds(name: str, value: object, *, positive: bool) -> float:
    """`value` as a float if it is a usable number of seconds: TypeError when it is not a number
    (a bool is not), ValueError when it is NaN, infinite, negative, or zero where it must be
    `positive`. `name` is what the caller calls it, for the message."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}")
    if not (0 < value < math.inf if positive else 0 <= value < math.inf):
        raise ValueError(f"{name} must be {_wanted(positive)}, not {value!r}")
    return float(value)


def seconds_flag(*, positive: bool) -> Callable[[str], float]:
    """An argparse ``type=`` for a flag taking a number of seconds, checked as `check_seconds`
    checks one."""

    def parse(text: str) -> float:
        import argparse  # only command lines parse flags; the stores import this module too

        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (0 < value < math.inf if positive else 0 <= value < math.inf):
            raise argparse.ArgumentTypeError(f"expected {_wanted(positive)}: got {text!r}")
        return value

    parse.__name__ = "positive seconds" if positive else "seconds"
    return parse


def _wanted(positive: bool) -> str:
    return f"a {'positive' if positive else 'non-negative'} finite number of seconds"

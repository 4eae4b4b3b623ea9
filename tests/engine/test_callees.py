"""Telling a frame its caller's call instruction pushed from one that C code called (callees.py):
read from the interpreter's own frame links, on live frames, on every supported Python."""

from __future__ import annotations

import functools
import sys

from autograms._frames import callees


def test_the_frame_layout_the_engine_reads_is_this_interpreters() -> None:
    assert callees._layout_verified()


def _link() -> tuple[bool | None, bool]:
    """(pushed by its caller's call instruction?, one C call between?) for the caller."""
    frame = sys._getframe(1)
    return callees.entered_directly(frame.f_back, frame), callees._one_call_between(
        frame.f_back, frame
    )


def reports() -> tuple:
    return _link()


class Calls:
    def __init__(self) -> None:
        self.seen = _link()

    def method(self) -> tuple:
        return _link()

    def __call__(self) -> tuple:
        return _link()


def test_direct_calls_of_functions_and_methods_are_seen_as_direct() -> None:
    assert reports() == (True, False)
    assert Calls.method(Calls.__new__(Calls)) == (True, False)
    assert getattr(Calls.__new__(Calls), "meth" + "od")() == (True, False)
    assert {"f": reports}["f"]() == (True, False)


def test_calls_from_c_code_are_seen_as_indirect() -> None:
    assert list(map(lambda _: reports(), [0])) == [(True, False)]  # the lambda calls directly
    assert list(map(_through, [0])) == [(False, True)]
    assert sorted([2, 1], key=_through_key) == [1, 2]
    for _ in range(3):  # 3.13 specializes the class call after a few runs
        assert Calls().seen == (False, True)
    assert functools.partial(_through_partial)() == (False, True)
    assert Calls()() == (False, True)


def _through(_: object) -> tuple:
    return _link()


def _through_partial() -> tuple:
    return _link()


def _through_key(number: int) -> int:
    assert _link() == (False, True)
    return number

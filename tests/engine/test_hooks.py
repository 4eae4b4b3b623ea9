"""Frame hooks: `enter` on a fresh call only, `leave` when a frame is left for good."""

from __future__ import annotations

from autograms import _frames
from tests.engine.programs import hooked


def setup_function() -> None:
    hooked.EVENTS.clear()


def test_enter_on_call_leave_on_return_not_on_pause_or_resume() -> None:
    outcome = _frames.run(hooked.parent, (False,))
    assert hooked.EVENTS == [("enter", "parent"), ("enter", "child")]
    finished = _frames.resume(outcome.snapshot, "hi")
    assert finished.value == "hi"
    assert hooked.EVENTS[2:] == [("leave", "child", None), ("leave", "parent", None)]


def test_leave_sees_the_exception_that_leaves_the_frame() -> None:
    outcome = _frames.run(hooked.parent, (True,))
    assert _frames.resume(outcome.snapshot, "bad").value == "recovered"
    assert hooked.EVENTS[2:] == [("leave", "child", "ValueError"), ("leave", "parent", None)]


def test_returnto_leaves_the_frames_in_between_but_not_the_target() -> None:
    assert _frames.run(hooked.outer).value == "done"
    assert hooked.EVENTS == [
        ("enter", "outer"),
        ("enter", "jumper"),
        ("enter", "leaf"),
        ("marker",),
        ("leave", "leaf", "JumpSignal"),
        ("leave", "jumper", "JumpSignal"),
        ("enter", "jumper"),
        ("enter", "leaf"),
        ("leave", "leaf", None),
        ("leave", "jumper", None),
        ("leave", "outer", None),
    ]

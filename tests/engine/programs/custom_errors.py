"""A program paused while it handles an exception whose __init__ needs arguments that its
.args does not hold (pickle's default would call cls(*args) and fail on load)."""

from autograms import _frames


class NeedsTwo(Exception):
    def __init__(self, question, reason):
        super().__init__(f"{question}: {reason}")
        self.question = question
        self.reason = reason


def handles():
    try:
        raise NeedsTwo("ready?", "unclear")
    except NeedsTwo as exc:
        answer = _frames.pause(("handling", str(exc)))
        kept = exc
    return answer, kept.question, kept.reason, type(kept).__name__


_frames.instrument(handles)

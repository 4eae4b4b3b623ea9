"""Fibonacci numbers on request: a loop written with GOTO instead of ``while``.

Shows ``GOTO(destination=...)``: it re-executes the call labelled with that ``ADDRESS`` in the
same function, with the function's current locals. The labelled call here is the ``reply``
that shows a number; after the user answers, the program either advances and jumps back to
that reply, or stops. The whole state (the two last numbers, the position, how many the user
asked for) is plain locals, saved with the session at every pause. No model is needed: the
bot parses the user's words itself. After "stop" it resets its locals and jumps back again,
so it never returns.

Run it:

    autograms run fibonacci
"""

from __future__ import annotations

from autograms import autograms_function
from autograms.functional import GOTO, reply

INTRO = (
    "I list Fibonacci numbers. Say 'next' (or just press enter) for the next one, a number "
    "like '5' to jump ahead that many steps, or 'stop' to finish."
)
STOP_WORDS = ("stop", "quit", "exit", "no", "enough", "done")


def steps_requested(answer: str) -> int:
    """How many steps the user asked to advance: 0 to stop, else at least 1 (capped at 50)."""
    words = answer.strip().lower().split()
    if any(word.strip(".!,") in STOP_WORDS for word in words):
        return 0
    numbers = [int(word) for word in words if word.isdigit()]
    return min(max(numbers[0], 1), 50) if numbers else 1


def advance(previous: int, current: int, steps: int) -> tuple[int, int]:
    """The pair of consecutive Fibonacci numbers `steps` places further on."""
    for _ in range(steps):
        previous, current = current, previous + current
    return previous, current


@autograms_function()
def chatbot() -> None:
    """Show F(0), F(1), ... one per turn; "stop" shows a summary and starts over."""
    position, previous, current = 0, 0, 1
    shown = 0
    reply(f"{INTRO} Ready?", ADDRESS="intro")
    answer = reply(f"F({position}) = {previous}.", ADDRESS="show_number")
    shown += 1
    steps = steps_requested(answer)
    if steps:
        previous, current = advance(previous, current, steps)
        position += steps
        GOTO(destination="show_number")
    reply(
        f"Stopped at F({position}) = {previous}, after showing {shown} number(s). "
        "Say anything to count again from the start.",
        ADDRESS="stopped",
    )
    position, previous, current = 0, 0, 1
    shown = 0
    GOTO(destination="show_number")

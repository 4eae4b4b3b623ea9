"""A pause as deep as the recursion limit allows, with the user's frames only between the
root and the pause: it resumes (every resumed frame is one frame, as it was)."""

import sys

from autograms import autograms_function
from autograms.functional import reply

#: Frames kept free under the recursion limit for reply() and the saving of the session.
HEADROOM = 40


def stack_depth():
    frame, depth = sys._getframe(1), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


@autograms_function()
def down(n):
    if n == 0:
        return reply("at the bottom")
    return down(n - 1) + "."


@autograms_function()
def chatbot():
    depth = sys.getrecursionlimit() - stack_depth() - HEADROOM
    unwound = down(depth)
    return reply(f"unwound {len(unwound) == depth + len(unwound.rstrip('.'))} {unwound[:5]}")

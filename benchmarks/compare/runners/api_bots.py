"""Benchmark bots written against the AutoGRAMS API: they run unchanged on AutoGRAMS 0.5.3 and on
this project (a drop-in re-implementation), whichever `autograms` the interpreter imports.

Decisions call the framework's own `yes_or_no` / `multiple_choice` (so their cost in test mode is
measured) and then follow the seeded script of `dialog_script`, so every framework takes the same
path whatever its test-mode classifier answers.
"""

from __future__ import annotations

import dialog_script as script
from autograms import autograms_function
from autograms.functional import multiple_choice, reply, yes_or_no


def decide_yes(question: str, step: int) -> bool:
    """Ask the framework's yes/no classifier, then take the scripted answer of decision `step`."""
    yes_or_no(question)
    return script.scripted_yes(step)


def decide_choice(question: str, choices: tuple[str, ...], step: int) -> int:
    """Ask the framework's multiple-choice classifier, then take the scripted answer."""
    multiple_choice(question, list(choices))
    return script.scripted_index(step, len(choices))


@autograms_function()
def recruiter():
    """Recruiter-like screening: wait until ready, then rounds of three questions and a
    salary branch (multiple choice, then yes/no), forever."""
    step = 0
    reply(script.GREETING)
    step += 1
    while not decide_yes(script.READY_QUESTION, step):
        reply(script.NOT_READY)
        step += 1
    interview = 0
    while True:
        interview += 1
        reply(script.background_question(interview))
        reply(script.PROJECT_QUESTION)
        reply(script.TOOLS_QUESTION)
        step += 1
        topic = decide_choice(script.SALARY_QUESTION, script.SALARY_CHOICES, step)
        if topic == 0:
            reply(script.SALARY_RANGE)
            step += 1
            if decide_yes(script.RANGE_QUESTION, step):
                reply(script.RANGE_OK)
            else:
                reply(script.NEGOTIATE)
        elif topic == 1:
            reply(script.LATER)
        else:
            reply(script.NEXT_ROUND)


@autograms_function()
def depth_4():
    """Fourth decorated frame of the nested scenario; the recruiter runs in the fifth."""
    recruiter()


@autograms_function()
def depth_3():
    """Third decorated frame of the nested scenario."""
    depth_4()


@autograms_function()
def depth_2():
    """Second decorated frame of the nested scenario."""
    depth_3()


@autograms_function()
def nested_recruiter():
    """Root of the nested scenario: the recruiter paused five decorated frames deep."""
    depth_2()


@autograms_function()
def closures_4(tid, nums, total):
    """Innermost frame of the closures scenario."""
    return reply(f"turn {tid}: {nums} {total}")


@autograms_function()
def closures_3(tid):
    """Third frame: a comprehension reading a local and a nested function over a local."""
    nums = [tid * k for k in range(4)]

    def scaled(x):
        return x * tid

    return closures_4(tid, nums, scaled(2))


@autograms_function()
def closures_2(tid):
    """Second frame of the closures scenario."""
    return closures_3(tid)


@autograms_function()
def closures_root():
    """Root of the closures scenario: one reply per turn, four decorated frames deep."""
    tid = 0
    while True:
        tid += 1
        closures_2(tid)

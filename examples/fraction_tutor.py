"""A fractions tutor: short units, each with a question round and a practice loop.

Shows:

* a ``for`` loop over the units that calls a nested decorated function (`do_unit`) per unit;
  a pause deep inside resumes with the loop position, the unit and every counter intact;
* a question-answering loop (`answer_questions`) that goes on while a yes/no decision says
  the student asked something;
* a practice loop (`practice`) where ``silent_thought`` writes a problem and its answer
  (the student never sees the answer, and the conversation does not remember the thought),
  with attempts and hints tracked in plain locals;
* ``multiple_choice`` driving ``continue``/``break`` ("another problem" or "move on").

`do_unit` takes the unit's title and lesson as arguments, so other bots can reuse it: the
general_tutor example teaches generated units with it.

Run it:

    autograms run fraction_tutor
"""

from __future__ import annotations

from collections.abc import Sequence

from autograms import DecisionError, autograms_function
from autograms.functional import (
    multiple_choice,
    reply,
    reply_instruction,
    set_system_prompt,
    silent_thought,
    yes_or_no,
)

TUTOR_PROMPT = (
    "You are a patient math tutor for a beginner. Explain in at most three short "
    "sentences, use small numbers, and check understanding."
)
#: (title, what the lesson must cover)
UNITS = (
    (
        "what a fraction is",
        "A fraction a/b means a parts out of b equal parts; use a pizza cut into slices.",
    ),
    (
        "equivalent fractions",
        "Multiplying or dividing top and bottom by the same number gives an equal fraction, "
        "for example 1/2 = 2/4 = 3/6.",
    ),
    (
        "adding fractions with the same denominator",
        "Add the tops and keep the bottom, for example 1/5 + 2/5 = 3/5.",
    ),
)
#: tries per practice problem before the answer is shown (a hint after each wrong one)
MAX_TRIES = 2
#: practice problems per unit at most
MAX_PROBLEMS = 3
#: questions answered per unit at most, before practice starts anyway
MAX_QUESTIONS = 3
#: characters of a model-written problem or answer kept (small models ramble)
MAX_TEXT = 300
#: reply tokens at most, and tokens of a written problem or answer
REPLY_TOKENS = 200
THOUGHT_TOKENS = 120
NEXT_CHOICES = ("another practice problem", "move on to the next unit")


def choose(question: str, choices: Sequence[str], default: int) -> int:
    """`multiple_choice`, or `default` when the model gives no usable answer."""
    try:
        return multiple_choice(question, choices)
    except DecisionError:
        return default


def check(question: str, default: bool = False) -> bool:
    """`yes_or_no`, or `default` when the model gives no usable answer."""
    try:
        return yes_or_no(question)
    except DecisionError:
        return default


def short(text: str) -> str:
    """A model's text cut to its first paragraph and `MAX_TEXT` characters."""
    first = text.strip().split("\n\n")[0].strip()
    return first if len(first) <= MAX_TEXT else first[:MAX_TEXT].rsplit(" ", 1)[0] + "..."


@autograms_function()
def chatbot() -> None:
    """Welcome the student, teach every unit, then answer free questions."""
    set_system_prompt(TUTOR_PROMPT)
    reply(
        f"Hi! I'm your fractions tutor. We'll go through {len(UNITS)} short units, each "
        "with a little practice. Ready to begin?",
        ADDRESS="welcome",
    )
    if not check("Is the student ready to begin?", default=True):
        reply_instruction(
            "Answer the student briefly and encouragingly, then say that we are "
            "starting with the first unit now.",
            max_tokens=REPLY_TOKENS,
            ADDRESS="encourage",
        )
    solved = 0
    for index in range(len(UNITS)):
        title, lesson = UNITS[index]
        solved += do_unit(title, lesson)
    reply(
        f"That was the last unit: well done! You solved {solved} practice problem(s). Ask me "
        "anything about fractions.",
        ADDRESS="course_done",
    )
    while True:
        reply_instruction(
            "Answer the student's question about fractions, or suggest a small exercise.",
            max_tokens=REPLY_TOKENS,
            ADDRESS="free_questions",
        )


@autograms_function()
def do_unit(title: str, lesson: str) -> int:
    """Teach one unit, answer questions about it, then practise; returns problems solved."""
    reply_instruction(
        f"Teach the unit '{title}': {lesson} Then ask whether anything is unclear.",
        max_tokens=REPLY_TOKENS,
        ADDRESS="teach",
    )
    answer_questions(MAX_QUESTIONS)
    solved = 0
    for _ in range(MAX_PROBLEMS):
        correct, feedback = practice(title)
        solved += correct
        reply(
            f"{feedback} Would you like another practice problem, or shall we move on?",
            ADDRESS="another_problem",
        )
        if choose("What does the student want to do next?", NEXT_CHOICES, default=1) == 0:
            continue
        break
    return solved


@autograms_function()
def answer_questions(max_questions: int) -> None:
    """Answer while the student's last message is a question (at most `max_questions`)."""
    for _ in range(max_questions):
        if not check("Did the student ask a question or say that something is unclear?"):
            return
        reply_instruction(
            "Answer the student's question simply, then ask whether anything else is unclear.",
            max_tokens=REPLY_TOKENS,
            ADDRESS="answer_question",
        )


@autograms_function()
def practice(title: str) -> tuple[bool, str]:
    """One practice problem with up to `MAX_TRIES` tries and a hint after each wrong one;
    returns whether it was solved and a line of feedback."""
    problem = short(
        silent_thought(
            f"Write one short practice problem about {title} for a "
            "beginner. Write only the problem, not the answer.",
            max_tokens=THOUGHT_TOKENS,
        )
    )
    answer = short(
        silent_thought(
            f"Solve this problem. Give only the final answer.\nProblem: {problem}",
            max_tokens=THOUGHT_TOKENS,
        )
    )
    reply(f"Practice problem: {problem}", ADDRESS="problem")
    for tries in range(1, MAX_TRIES + 1):
        if check(f"The correct answer is: {answer}\nIs the student's answer correct?"):
            return True, "Correct, well done!"
        if tries < MAX_TRIES:
            reply_instruction(
                f"The correct answer is: {answer}\nThe student's answer is wrong. "
                "Give a short hint without revealing the answer, and ask them to "
                "try again.",
                max_tokens=REPLY_TOKENS,
                ADDRESS="hint",
            )
    return False, f"Not quite. The answer is: {answer}"

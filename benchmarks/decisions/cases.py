"""The labelled decisions: what the recruiter and the fraction tutor ask the model, after a
user's message, and the answer a careful reader would give.

Each case is the agent's last message, the user's answer, the question (the bots' own wording)
and the expected answer: "Yes"/"No" for `yes_or_no`, the chosen option for `multiple_choice`.
"""

from __future__ import annotations

from dataclasses import dataclass

from autograms.examples import fraction_tutor, recruiter


@dataclass(frozen=True)
class Case:
    """One labelled decision."""

    #: "recruiter" or "tutor"
    bot: str
    #: the system prompt the bot sets
    system_prompt: str
    #: what the agent said last
    agent: str
    #: what the user answered
    user: str
    #: the decision question
    question: str
    #: the options of a multiple choice (empty: yes or no)
    choices: tuple[str, ...]
    #: "Yes", "No", or one of `choices`
    expected: str

    @property
    def kind(self) -> str:
        return "multiple choice" if self.choices else "yes/no"


def _recruiter(agent: str, question: str, choices: tuple[str, ...] = ()):  # noqa: ANN202
    def case(user: str, expected: str) -> Case:
        return Case("recruiter", recruiter.SYSTEM_PROMPT, agent, user, question, choices, expected)

    return case


def _tutor(agent: str, question: str, choices: tuple[str, ...] = ()):  # noqa: ANN202
    def case(user: str, expected: str) -> Case:
        return Case("tutor", fraction_tutor.TUTOR_PROMPT, agent, user, question, choices, expected)

    return case


_ready = _recruiter(recruiter.GREETING, "Is the candidate ready to start?")
_range = _recruiter(
    f"Thanks for being upfront. Our budget for this role is {recruiter.SALARY_RANGE}. Would "
    "you consider an offer in that range?",
    "Would the candidate accept a salary within the budget?",
)
_benefits = _recruiter(
    "I understand. Would extra benefits, such as more vacation or remote work, make up the "
    "difference for you?",
    "Would the candidate accept extra benefits instead of a higher salary?",
)
_salary = _recruiter(
    f"Thank you. {recruiter.SALARY_QUESTION}",
    recruiter.SALARY_DECISION,
    (recruiter.BELOW, recruiter.WITHIN, recruiter.ABOVE, recruiter.NO_AMOUNT),
)
_begin = _tutor(
    "Hi! I'm your fractions tutor. We'll go through 3 short units, each with a little "
    "practice. Ready to begin?",
    "Is the student ready to begin?",
)
_unclear = _tutor(
    "To add fractions with the same denominator, add the numerators and keep the "
    "denominator: 1/5 + 2/5 = 3/5. Is anything unclear?",
    "Did the student ask a question or say that something is unclear?",
)
_correct = _tutor(
    "Practice problem: What is 1/2 + 1/4?",
    "The correct answer is: 3/4\nIs the student's answer correct?",
)
_next = _tutor(
    "Correct, well done! Would you like another practice problem, or shall we move on?",
    "What does the student want to do next?",
    fraction_tutor.NEXT_CHOICES,
)
ANOTHER, MOVE_ON = fraction_tutor.NEXT_CHOICES

CASES: tuple[Case, ...] = (
    _ready("yes, let's go", "Yes"),
    _ready("Sure, I'm ready.", "Yes"),
    _ready("ready when you are", "Yes"),
    _ready("not yet, give me a minute", "No"),
    _ready("Can we do this later? I'm busy right now.", "No"),
    _ready("no", "No"),
    _range("Yes, that works for me.", "Yes"),
    _range("ok fine, that range is acceptable", "Yes"),
    _range("I could live with 100k, sure", "Yes"),
    _range("that is too low for me", "No"),
    _range("No, I need at least 130k.", "No"),
    _range("I'd rather not go below what I asked for.", "No"),
    _benefits("Remote work would be great, yes.", "Yes"),
    _benefits("More vacation would make it worth it for me.", "Yes"),
    _benefits("No, it's about the money.", "No"),
    _benefits("Benefits don't pay my rent.", "No"),
    _salary("whatever you usually pay juniors", recruiter.WITHIN),
    _salary("a lot more than my current job, and I'm well paid", recruiter.ABOVE),
    _salary("I don't know, what do you offer?", recruiter.NO_AMOUNT),
    _salary("something modest, below the market is fine", recruiter.BELOW),
    _begin("yes!", "Yes"),
    _begin("I guess so", "Yes"),
    _begin("not really, I'm scared of math", "No"),
    _begin("no, not today", "No"),
    _unclear("Why do we keep the denominator?", "Yes"),
    _unclear("I don't get what a denominator is.", "Yes"),
    _unclear("No, it's all clear, thanks.", "No"),
    _unclear("all good", "No"),
    _correct("3/4", "Yes"),
    _correct("three quarters", "Yes"),
    _correct("2/6", "No"),
    _correct("1/8", "No"),
    _next("another one please", ANOTHER),
    _next("give me one more", ANOTHER),
    _next("let's move on", MOVE_ON),
    _next("next unit", MOVE_ON),
)

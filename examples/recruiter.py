"""Daisy, an HR screening bot: the README's demo, made to work even with a tiny local model.

Shows:

* a loop that waits (a few times at most) until the candidate is ready;
* scripted questions whose answers are kept in a plain list, each led in by a one-sentence
  acknowledgement the model writes (``silent_thought``);
* the expected salary classified against the budget: amounts are read and compared in code
  (models, small ones above all, are bad at comparing numbers), and only an answer without a
  readable amount goes to the model, as a multiple choice with a long few-shot question;
* nested yes/no decisions about the candidate's flexibility;
* decisions that never crash the conversation: a model that gives no usable answer
  (``DecisionError``) makes Daisy ask the candidate again (`decide`, `salary_position`);
* module-level constants (`SALARY_RANGE`) in f-strings, and a closing loop.

Decision questions are short, so SmolLM2-135M (the embedded default model) follows them
reasonably; bigger models follow them well.

Run it (with no OpenAI key and no base URL, `autograms run` starts the local model):

    autograms run recruiter
"""

from __future__ import annotations

import re

from autograms import DecisionError, autograms_function
from autograms.functional import (
    multiple_choice,
    reply,
    reply_instruction,
    set_system_prompt,
    silent_thought,
    yes_or_no,
)

COMPANY = "Acme Software"
POSITION = "junior Python developer"
BUDGET = (80_000, 100_000)
SALARY_RANGE = f"${BUDGET[0]:,} to ${BUDGET[1]:,} a year"
SYSTEM_PROMPT = (
    f"You are Daisy, a friendly recruiter at {COMPANY}. You are screening a "
    f"candidate for a {POSITION} job by chat. Answer in one or two short sentences."
)
GREETING = (
    f"Hi, I'm Daisy, a recruiter at {COMPANY}. I have a few quick questions about the "
    f"{POSITION} position. Are you ready to start?"
)
#: how many times Daisy asks whether the candidate is ready before starting anyway
MAX_READY_CHECKS = 3
#: how many times a decision may fail or stay unclear before Daisy moves on
MAX_ATTEMPTS = 2
#: reply tokens for the model's short sentences
SHORT = 60
BACKGROUND_QUESTIONS = (
    "What did you study, and where?",
    "Tell me about your experience with Python.",
    f"Why would you like to work at {COMPANY}?",
)
SALARY_QUESTION = "What yearly salary are you expecting for this role?"
BELOW, WITHIN, ABOVE, NO_AMOUNT = (
    "below the budget",
    "within the budget",
    "above the budget",
    "no amount given",
)
SALARY_DECISION = f"""Our budget is {SALARY_RANGE}. Compare the candidate's salary with it.
Examples:
"around seventy thousand" -> {BELOW}
"sixty grand" -> {BELOW}
"about ninety thousand" -> {WITHIN}
"whatever you usually pay juniors" -> {WITHIN}
"six figures, at least" -> {ABOVE}
"a lot more than my current job" -> {ABOVE}
"I don't know, what do you offer?" -> {NO_AMOUNT}
What did the candidate ask for?"""
HIRING_MANAGER_NEXT = (
    "I'll pass your profile to the hiring manager, who will email you about a technical interview."
)
OUTCOMES = {
    "fits": f"Great, that fits our budget. {HIRING_MANAGER_NEXT}",
    "open": f"No problem, we can talk about salary later. {HIRING_MANAGER_NEXT}",
    "accepts_range": f"Wonderful, thank you for your flexibility. {HIRING_MANAGER_NEXT}",
    "accepts_benefits": (
        f"Thank you. I'll note that you are open to a benefits package. {HIRING_MANAGER_NEXT}"
    ),
    "too_expensive": (
        "I understand. Unfortunately we can't go above our budget for this role, "
        "so we can't move forward this time. Thank you for your time!"
    ),
}
CLOSING = (
    "This conversation is now over. Thank you for your time, and good luck! "
    "(Start a new session to talk to Daisy again.)"
)
_AMOUNT = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(k\b|thousand|grand|million)?", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!])\s")


def salary_amount(text: str) -> int | None:
    """The yearly amount in `text` ("90k", "$90,000", "90 thousand", "between 85 and 95k"),
    the mean when there are several; None when there is none. Bare numbers under 1,000 are
    read as thousands; numbers under 10 (years, counts) are ignored."""
    amounts = []
    for digits, unit in _AMOUNT.findall(text):
        value = float(digits.replace(",", ""))
        if unit.lower() == "million":
            value *= 1_000_000
        elif unit or 10 <= value < 1000:
            value *= 1000
        if value >= 10_000:
            amounts.append(value)
    return round(sum(amounts) / len(amounts)) if amounts else None


def budget_position(amount: int) -> str:
    if amount < BUDGET[0]:
        return BELOW
    return WITHIN if amount <= BUDGET[1] else ABOVE


def first_sentence(text: str, default: str = "Thank you.") -> str:
    """The first sentence of a model's comment (small models ramble on), or `default` when
    that sentence is a question, an apology or too long to be a comment."""
    sentence = _SENTENCE_END.split(text.strip(), maxsplit=1)[0].strip()
    unfit = not sentence or "?" in sentence or "sorry" in sentence.lower() or len(sentence) > 160
    return default if unfit else sentence


def acknowledge() -> str:
    """One short sentence about the candidate's last answer."""
    return first_sentence(
        silent_thought(
            "Write a short, friendly comment on the candidate's answer.", max_tokens=SHORT
        )
    )


def try_yes_or_no(question: str) -> bool | None:
    """`yes_or_no`, or None when the model gives no usable answer."""
    try:
        return yes_or_no(question)
    except DecisionError:
        return None


def try_multiple_choice(question: str, choices: list[str]) -> int | None:
    """`multiple_choice`, or None when the model gives no usable answer."""
    try:
        return multiple_choice(question, choices)
    except DecisionError:
        return None


@autograms_function()
def decide(question: str, ask_again: str) -> bool:
    """A yes/no decision about the candidate's last message; if the model gives no usable
    answer, Daisy asks `ask_again` and decides on the new message (after `MAX_ATTEMPTS`
    failures the answer is No)."""
    for _ in range(MAX_ATTEMPTS):
        answer = try_yes_or_no(question)
        if answer is not None:
            return answer
        reply(ask_again, ADDRESS="ask_again")
    return False


@autograms_function()
def wait_until_ready() -> None:
    """Ask until the candidate is ready, a few times at most."""
    for _ in range(MAX_READY_CHECKS):
        if decide(
            "Is the candidate ready to start?",
            "Sorry, I didn't quite get that. Are you ready to start?",
        ):
            return
        reply_instruction(
            "Answer the candidate in one sentence, then ask if they are ready to start.",
            max_tokens=SHORT,
            ADDRESS="not_ready",
        )


@autograms_function()
def ask_background() -> list[str]:
    """The background questions; returns the candidate's answers."""
    answers = []
    for question in BACKGROUND_QUESTIONS:
        answers.append(reply(f"{acknowledge()} {question}", ADDRESS="background"))
    return answers


@autograms_function()
def salary_position(answer: str) -> str:
    """Where the candidate's expected salary lies: BELOW, WITHIN, ABOVE or NO_AMOUNT. Asks
    for a number when the answer has none and the model cannot place it either."""
    choices = [BELOW, WITHIN, ABOVE, NO_AMOUNT]
    for _ in range(MAX_ATTEMPTS):
        amount = salary_amount(answer)
        if amount is not None:
            return budget_position(amount)
        index = try_multiple_choice(SALARY_DECISION, choices)
        if index is not None and choices[index] != NO_AMOUNT:
            return choices[index]
        answer = reply(
            "Could you give me a rough number for your expected yearly salary?",
            ADDRESS="salary_again",
        )
    return NO_AMOUNT


@autograms_function()
def discuss_salary() -> str:
    """Ask for the expected salary and settle it; returns a key of `OUTCOMES`."""
    answer = reply(f"{acknowledge()} {SALARY_QUESTION}", ADDRESS="salary")
    position = salary_position(answer)
    if position == NO_AMOUNT:
        return "open"
    if position != ABOVE:
        return "fits"
    reply(
        f"Thanks for being upfront. Our budget for this role is {SALARY_RANGE}. Would you "
        "consider an offer in that range?",
        ADDRESS="negotiate",
    )
    if decide(
        "Would the candidate accept a salary within the budget?",
        f"Sorry, just to be sure: would an offer within {SALARY_RANGE} work for you?",
    ):
        return "accepts_range"
    reply(
        "I understand. Would extra benefits, such as more vacation or remote work, make up "
        "the difference for you?",
        ADDRESS="benefits",
    )
    if decide(
        "Would the candidate accept extra benefits instead of a higher salary?",
        "Sorry, I missed that. Would extra benefits work for you instead of a higher salary?",
    ):
        return "accepts_benefits"
    return "too_expensive"


@autograms_function()
def chatbot() -> None:
    """Screen one candidate: readiness, background, salary, outcome, then a closing loop."""
    set_system_prompt(SYSTEM_PROMPT)
    reply(GREETING, ADDRESS="greeting")
    wait_until_ready()
    ask_background()
    outcome = discuss_salary()
    reply(OUTCOMES[outcome], ADDRESS="outcome")
    while True:
        reply(CLOSING, ADDRESS="closing")

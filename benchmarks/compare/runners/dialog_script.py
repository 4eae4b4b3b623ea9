"""The dialog every benchmark bot follows: the agent's texts, the simulated user's replies and the
seeded decisions.

The AutoGRAMS-API bots (run on AutoGRAMS 0.5.3 and on this project) and the LangGraph graphs all
import this module, so every framework takes the same path and says the same words; runners
compare a hash of the transcript to prove it. Standard library only: it runs in every venv.
"""

from __future__ import annotations

import hashlib
import os
import random

#: Seed of the scripted decisions (0 unless BENCH_DIALOG_SEED is set; children inherit it).
SEED = int(os.environ.get("BENCH_DIALOG_SEED", "0"))

#: The simulated user's replies, cycled turn by turn (the baseline driver's list).
USER_REPLIES = (
    "yes, I'm ready",
    "I have 5 years of experience in biotech research.",
    "I worked on protein folding assays and led a team of 3.",
    "Mostly wet-lab work, some Python data analysis.",
    "What is the budgeted salary range for this position?",
    "That works for me.",
    "Sounds good, thanks!",
)

GREETING = "Hi, I'm Daisy, a recruiter. Are you ready to start the screening?"
READY_QUESTION = "Has the user said that they are ready to start?"
NOT_READY = "No problem. Tell me when you are ready to begin."
PROJECT_QUESTION = "What was the most recent project you worked on, and what was your role?"
TOOLS_QUESTION = "Which tools and techniques do you use most in your daily work?"
SALARY_QUESTION = "What does the user want to talk about next?"
SALARY_CHOICES = (
    "the user asks about the salary range",
    "the user asks a question that is not about salary",
    "the user has no question",
)
SALARY_RANGE = "The budgeted range is $120k to $150k. Does that range work for you?"
RANGE_QUESTION = "Did the user accept the salary range?"
RANGE_OK = "Great, that range is accepted. Let's go on with a few more questions."
NEGOTIATE = "I understand. The range has some room; let's go on with a few more questions."
LATER = "Good question; the hiring manager will answer it. Let's go on."
NEXT_ROUND = "Thanks. Let's go on with a few more questions."


def background_question(interview: int) -> str:
    """The first question of interview round `interview`."""
    return f"Round {interview}: how many years of experience do you have in this field?"


def long_step_text(index: int, steps: int, count: int) -> str:
    """The reply of step `index` (1-based) of a generated long script of `steps` steps."""
    return f"Step {index} of {steps} (answer #{count}): please tell me about item {index}."


def user_reply(turn: int) -> str:
    """The simulated user's reply on resumed turn `turn` (1-based)."""
    return USER_REPLIES[(turn - 1) % len(USER_REPLIES)]


def scripted_index(step: int, choices: int) -> int:
    """The seeded answer of decision number `step` among `choices` options."""
    return random.Random(f"{SEED}:{step}").randrange(choices)


def scripted_yes(step: int) -> bool:
    """The seeded answer of yes/no decision number `step`."""
    return scripted_index(step, 2) == 0


def transcript_digest(texts: list[str]) -> str:
    """A short hash of the agent's texts, equal across frameworks that took the same path."""
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]

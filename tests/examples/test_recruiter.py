"""The recruiter example takes the path its decisions choose, reads salaries in code, and
asks again instead of failing when the model gives no usable answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograms.examples import recruiter
from tests.examples.driver import run_script
from tests.examples.scripted import rules_model, yes_if

READY = yes_if("yes", "ready", "sure")
ACCEPTS = yes_if("yes", "fine", "ok")


def daisy(**extra):  # noqa: ANN003, ANN201
    rules = {
        "ready to start": READY,
        "within the budget?": ACCEPTS,
        "extra benefits": ACCEPTS,
        **extra,
    }
    return rules_model(rules, chat="Thanks for sharing that. I will ask more.")


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("I expect about 90,000 dollars.", 90_000),
        ("90k", 90_000),
        ("$95K please", 95_000),
        ("between 85 and 95 thousand", 90_000),
        ("at least 120 grand", 120_000),
        ("after 5 years I'd want 70000", 70_000),
        ("1.5 million", 1_500_000),
        ("60", 60_000),
        ("not sure", None),
        ("whatever is fair", None),
    ],
)
def test_salary_amounts_are_read_in_code(text: str, amount: int | None) -> None:
    assert recruiter.salary_amount(text) == amount


def test_budget_position_and_first_sentence() -> None:
    assert [recruiter.budget_position(a) for a in (79_999, 80_000, 100_000, 100_001)] == [
        recruiter.BELOW,
        recruiter.WITHIN,
        recruiter.WITHIN,
        recruiter.ABOVE,
    ]
    assert recruiter.first_sentence("Great answer! I like it. More.") == "Great answer!"
    assert recruiter.first_sentence("I'm sorry, I can't.") == "Thank you."
    assert recruiter.first_sentence("Why?") == "Thank you."
    assert recruiter.first_sentence("") == "Thank you."


def test_candidate_within_budget_reaches_the_closing_loop(tmp_path: Path) -> None:
    messages = [
        "Yes, I'm ready.",
        "CS at MIT.",
        "Three years of Django.",
        "Your products.",
        "I expect about 90k.",
        "Thanks",
        "Bye",
    ]
    run = run_script("recruiter", messages, tmp_path / "session.txt", model=daisy())
    assert run.replies == [
        recruiter.GREETING,
        f"Thanks for sharing that. {recruiter.BACKGROUND_QUESTIONS[0]}",
        f"Thanks for sharing that. {recruiter.BACKGROUND_QUESTIONS[1]}",
        f"Thanks for sharing that. {recruiter.BACKGROUND_QUESTIONS[2]}",
        f"Thanks for sharing that. {recruiter.SALARY_QUESTION}",
        recruiter.OUTCOMES["fits"],
        recruiter.CLOSING,
        recruiter.CLOSING,
    ]
    assert run.addresses[-1] == "closing"


def test_expensive_candidate_is_asked_about_the_range_then_benefits(tmp_path: Path) -> None:
    messages = [
        "ready",
        "CS.",
        "Django.",
        "Products.",
        "I need 150k.",
        "No way.",
        "No, only money counts.",
        "Bye",
    ]
    run = run_script("recruiter", messages, tmp_path / "session.txt", model=daisy())
    assert run.addresses[5:] == ["negotiate", "benefits", "outcome", "closing"]
    assert run.replies[7] == recruiter.OUTCOMES["too_expensive"]


def test_undecided_model_makes_daisy_ask_again_instead_of_failing(tmp_path: Path) -> None:
    # "hmm" makes the scripted model answer with no label, twice: a DecisionError
    messages = [
        "hmm, what?",
        "Yes, ready now.",
        "CS.",
        "Django.",
        "Products.",
        "Whatever is fair.",
        "About 85k then.",
        "ok",
    ]
    salary = {
        recruiter.SALARY_DECISION.splitlines()[-1]: lambda request, said: (
            {"answer": "D"} if "fair" in said else None
        )
    }
    run = run_script("recruiter", messages, tmp_path / "session.txt", model=daisy(**salary))
    assert run.replies[1] == "Sorry, I didn't quite get that. Are you ready to start?"
    assert run.addresses[1:3] == ["ask_again", "background"]
    assert run.addresses[5:9] == ["salary", "salary_again", "outcome", "closing"]
    assert run.replies[7] == recruiter.OUTCOMES["fits"]


def test_readiness_is_asked_a_few_times_at_most(tmp_path: Path) -> None:
    messages = ["wait", "not now", "no", "still no"]
    run = run_script("recruiter", messages, tmp_path / "session.txt", model=daisy())
    assert run.addresses == ["greeting", "not_ready", "not_ready", "not_ready", "background"]

"""fraction_tutor and general_tutor follow their decisions and generated plans: questions are
answered, wrong answers get a hint, multiple choice drives another-problem/move-on, and a
model with unusable JSON still gets a course."""

from __future__ import annotations

from pathlib import Path

from autograms.examples import fraction_tutor, general_tutor
from autograms.models import ChatRequest
from tests.examples.driver import run_script
from tests.examples.scripted import asked, rules_model, yes_if


def choose_next(request: ChatRequest, said: str) -> dict[str, str]:
    return {"answer": "A" if "another" in said.lower() else "B"}


TUTOR_RULES = {
    "ready to begin": yes_if("yes"),
    "ask a question or say": yes_if("?"),
    "answer correct": yes_if("42"),
    "What does the student want to do next": choose_next,
    "accept the plan": yes_if("good", "yes"),
}


def test_fraction_tutor_walks_a_unit_with_questions_hints_and_practice(tmp_path: Path) -> None:
    messages = ["yes", "what is a denominator?", "got it", "7", "42", "another", "42", "move on"]
    run = run_script(
        "fraction_tutor",
        messages,
        tmp_path / "session.txt",
        model=rules_model(TUTOR_RULES, chat="Tutor says."),
    )
    assert run.addresses == [
        "welcome",
        "teach",
        "answer_question",
        "problem",
        "hint",
        "another_problem",
        "problem",
        "another_problem",
        "teach",
    ]
    assert run.replies[5] == (
        "Correct, well done! Would you like another practice problem, or shall we move on?"
    )


def test_fraction_tutor_shows_the_answer_after_the_last_try(tmp_path: Path) -> None:
    messages = ["yes", "fine", "1", "2"]
    run = run_script(
        "fraction_tutor",
        messages,
        tmp_path / "session.txt",
        model=rules_model(TUTOR_RULES, chat="Tutor says."),
    )
    assert run.addresses[-1] == "another_problem"
    assert run.replies[-1].startswith("Not quite. The answer is: Tutor says.")


def test_general_tutor_teaches_the_generated_units_in_order(tmp_path: Path) -> None:
    log: list[ChatRequest] = []
    rules = {
        **TUTOR_RULES,
        "unit titles for a beginner course in geometry": lambda request, said: {
            "data": ["Angles", "angles", "Triangles", ""]
        },
        "For each unit of a beginner geometry course": lambda request, said: {
            "Angles": "Teach right angles.",
            "Triangles": "Teach the angle sum.",
        },
    }
    messages = ["Geometry, please", "looks good", "fine", "42", "move on", "fine", "42", "move on"]
    run = run_script(
        "general_tutor",
        messages,
        tmp_path / "session.txt",
        model=rules_model(rules, chat="Tutor says.", log=log),
    )
    assert run.replies[1] == (
        "Here is my plan for geometry: 1. Angles; 2. Triangles. Shall we "
        "go with it, or would you like changes?"
    )
    teaching = [asked(r) for r in log if "Teach the unit" in asked(r)]
    assert ["Teach right angles." in teaching[0], "Teach the angle sum." in teaching[1]] == [
        True,
        True,
    ]
    assert run.addresses[-1] == "course_done"


def test_general_tutor_falls_back_when_the_model_writes_no_usable_json(tmp_path: Path) -> None:
    rules = {
        **TUTOR_RULES,
        "unit titles": lambda request, said: "not json at all",
        "For each unit": lambda request, said: "still not json",
    }
    run = run_script(
        "general_tutor",
        ["algebra", "yes"],
        tmp_path / "session.txt",
        model=rules_model(rules, chat="Tutor says."),
    )
    assert run.replies[1] == (
        "Here is my plan for basic algebra: 1. the basics of basic "
        "algebra. Shall we go with it, or would you like changes?"
    )
    assert run.addresses[-1] == "teach"


def test_unit_titles_are_cleaned() -> None:
    assert general_tutor.clean_units([" Angles. ", "angles", "", "x" * 200, "Area"], "g") == [
        "Angles",
        "Area",
    ]
    assert general_tutor.clean_units([], "geometry") == ["the basics of geometry"]
    assert fraction_tutor.short("one\n\ntwo") == "one"

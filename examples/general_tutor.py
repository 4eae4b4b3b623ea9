"""A tutor for any beginner math subject, whose course plan the model writes.

Shows structured generation feeding control flow:

* a multiple-choice loop picks the subject (it asks again while the answer is unclear; an
  answer that names a subject needs no model call);
* ``generate_list`` writes the unit titles, inside an approval loop where the student may ask
  for changes;
* ``generate_fixed_dict(instruction, keys=units)`` writes one lesson per unit, keyed by the
  generated titles;
* a ``for`` loop over the generated units calls `do_unit` of the fraction_tutor example (a
  decorated function imported from another module works like one of this module's).

A model that returns unusable JSON (``StructuredOutputError``) does not end the lesson: the
bot falls back to a plain plan.

Run it:

    autograms run general_tutor
"""

from __future__ import annotations

from autograms import autograms_function
from autograms.examples.fraction_tutor import TUTOR_PROMPT, check, choose, do_unit
from autograms.functional import (
    extract_last_user_reply,
    generate_fixed_dict,
    generate_list,
    reply,
    set_system_prompt,
)
from autograms.models import StructuredOutputError

SUBJECTS = ("arithmetic", "fractions", "basic algebra", "geometry")
UNCLEAR = "none of these, or unclear"
#: units in a course at most, and characters in a unit title at most
MAX_UNITS = 4
MAX_TITLE = 80
#: plans proposed before the bot goes ahead with the last one
MAX_PLANS = 3


def named_subject(message: str) -> str | None:
    """The subject a message names outright ("algebra", "fractions" ...), if exactly one."""
    lowered = message.lower()
    named = [subject for subject in SUBJECTS if subject.split()[-1].rstrip("s") in lowered]
    return named[0] if len(named) == 1 else None


def clean_units(titles: list[str], subject: str) -> list[str]:
    """Usable unit titles: stripped, unique, short, at most `MAX_UNITS` (a default when none)."""
    units: list[str] = []
    for title in titles:
        title = " ".join(str(title).split()).strip(" .-*")
        if title and len(title) <= MAX_TITLE and title.lower() not in map(str.lower, units):
            units.append(title)
    return units[:MAX_UNITS] or [f"the basics of {subject}"]


def list_units(instruction: str, subject: str) -> list[str]:
    """Unit titles from the model (`generate_list`), or a one-unit plan if its JSON is unusable."""
    try:
        return clean_units(generate_list(instruction), subject)
    except StructuredOutputError:
        return clean_units([], subject)


def write_lessons(subject: str, units: list[str]) -> dict[str, str]:
    """One lesson instruction per unit title (`generate_fixed_dict`), with a plain default
    for any the model leaves out."""
    try:
        lessons = generate_fixed_dict(
            f"For each unit of a beginner {subject} course, write one sentence telling a tutor "
            "what to teach and which small example to use.",
            keys=units,
        )
    except StructuredOutputError:
        lessons = {}
    return {unit: str(lessons.get(unit) or f"Teach the basics of {unit}.") for unit in units}


@autograms_function()
def chatbot() -> None:
    """One course after another."""
    set_system_prompt(TUTOR_PROMPT)
    while True:
        run_course()


@autograms_function()
def run_course() -> int:
    """Pick a subject, agree on a plan, teach each unit; returns problems solved."""
    subject = choose_subject()
    units = agree_on_units(subject)
    lessons = write_lessons(subject, units)
    solved = 0
    for unit in units:
        solved += do_unit(unit, lessons[unit])
    reply(
        f"That completes our {subject} course: you solved {solved} practice problem(s)! "
        "Say anything to start a new course.",
        ADDRESS="course_done",
    )
    return solved


@autograms_function()
def choose_subject() -> str:
    """Ask for a subject until the answer names one of `SUBJECTS`."""
    offer = ", ".join(SUBJECTS[:-1]) + f" or {SUBJECTS[-1]}"
    reply(
        f"Hi! I can teach you the basics of {offer}. Which would you like?", ADDRESS="ask_subject"
    )
    while True:
        subject = named_subject(extract_last_user_reply() or "")
        if subject is not None:
            return subject
        index = choose(
            "Which subject does the student want to learn?",
            [*SUBJECTS, UNCLEAR],
            default=len(SUBJECTS),
        )
        if index < len(SUBJECTS):
            return SUBJECTS[index]
        reply(
            f"Sorry, I didn't catch that. I can teach {offer}: which one?",
            ADDRESS="ask_subject_again",
        )


@autograms_function()
def agree_on_units(subject: str) -> list[str]:
    """Propose a plan and revise it until the student approves (`MAX_PLANS` at most)."""
    units = list_units(
        f"List 3 short unit titles for a beginner course in {subject}, easiest first.", subject
    )
    for proposal in range(1, MAX_PLANS + 1):
        plan = "; ".join(f"{number}. {unit}" for number, unit in enumerate(units, 1))
        reply(
            f"Here is my plan for {subject}: {plan}. Shall we go with it, or would you like "
            "changes?",
            ADDRESS="propose_plan",
        )
        if proposal == MAX_PLANS or check(
            "Does the student accept the plan as it is?", default=True
        ):
            break
        units = list_units(
            f"Revise the unit titles of the beginner {subject} course as the "
            "student asked. Keep 2 to 4 short titles.",
            subject,
        )
    return units

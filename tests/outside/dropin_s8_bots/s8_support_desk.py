"""A support-desk bot in AutoGRAMS 0.6 style, run with supervisors to collect training data."""

from autograms import autograms_function
from autograms.functional import (
    generate_list,
    multiple_choice,
    reply,
    reply_instruction,
    set_system_prompt,
    thought,
    yes_or_no,
)
from autograms.supervisors import SupervisorReturn

TOPICS = ["billing", "shipping", "returns"]


def polite_supervisor(instruction, **kwargs):
    """Prefers a formal answer over a casual one (a DPO pair, as the simulation guide shows)."""
    return SupervisorReturn(
        "Dear customer, " + instruction,
        score=0.9,
        rejected_output="yo " + instruction,
        tags=["style", "dpo"],
    )


def careful_thinker(instruction, **kwargs):
    return SupervisorReturn("Thinking carefully: " + instruction, score=0.4, tags=["thought"])


@autograms_function()
def chatbot():
    set_system_prompt("You are the help desk of a shirt shop.")
    reply("Hello, how can I help?", ADDRESS="greet")
    while True:
        thought("What does the customer need?", supervisor=careful_thinker)
        topic = TOPICS[multiple_choice("Which topic is it about?", TOPICS)]
        if yes_or_no(f"Is the {topic} question answered already?"):
            generate_list("List follow-up offers")
        reply_instruction(
            f"Answer the {topic} question.", supervisor=polite_supervisor, ADDRESS="answer"
        )

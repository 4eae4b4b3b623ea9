"""A bot whose helper calls carry supervisors, the way AutoGRAMS' simulation and finetuning
guide shows them: run with ``Autogram(..., supervisor_mode=True)`` the supervisors supply the
answers (and training signals); run without it, the model answers."""

from autograms import autograms_function
from autograms.functional import (
    generate_fixed_dict,
    generate_fixed_list,
    generate_list,
    multiple_choice,
    reply,
    reply_instruction,
    silent_thought,
    thought,
    yes_or_no,
)
from autograms.supervisors import SupervisorReturn

#: how often each supervisor ran (read by the tests)
CALLS = {}
#: what the helpers returned on the last turn
RESULTS = {}


def count(name):
    CALLS[name] = CALLS.get(name, 0) + 1


def reasoned_summary(instruction, article):
    count("reasoned_summary")
    findings = silent_thought(f"{article}\n\nWhat are the key findings?")
    thought("Private note of the supervisor.")
    return SupervisorReturn(f"Summary: {findings}", score=0.9, tags=["summary"])


def make_formal(instruction):
    count("make_formal")
    return SupervisorReturn("Good day to you.", rejected_output="hey there", tags=["tone"])


def always_ready(question, **kwargs):
    count("always_ready")
    return True


def third_topic(question, choices, **kwargs):
    count("third_topic")
    return 2


def fixed_items(instruction, **kwargs):
    count("fixed_items")
    return ["alpha", "beta"]


def fixed_pair(instruction, keys, **kwargs):
    count("fixed_pair")
    return {key: key.upper() for key in keys}


def numbered(instruction, num_items, **kwargs):
    count("numbered")
    return [str(i) for i in range(num_items)]


@autograms_function()
def chatbot():
    article = "Autograms pauses a Python function at reply() and resumes it later."
    RESULTS["summary"] = silent_thought(
        "Summarize the article", supervisor=reasoned_summary, article=article
    )
    reply_instruction("Respond to the user.", supervisor=make_formal)
    while True:
        RESULTS["ready"] = yes_or_no("Is the user ready?", supervisor=always_ready)
        RESULTS["topic"] = multiple_choice(
            "Which topic?", ["cats", "dogs", "birds"], supervisor=third_topic
        )
        RESULTS["items"] = generate_list("List two things.", supervisor=fixed_items)
        RESULTS["pair"] = generate_fixed_dict(
            "Describe.", ["left", "right"], supervisor=fixed_pair, supervisor_kwargs={}
        )
        RESULTS["numbers"] = generate_fixed_list("Count.", 3, supervisor=numbered)
        reply(f"{RESULTS['ready']} {RESULTS['topic']} {RESULTS['items']}")


def replying_supervisor(instruction):
    reply("a supervisor cannot reply")


def silent_supervisor(instruction):
    return None


@autograms_function()
def misbehaving_supervisor_bot(which):
    supervisors = {"reply": replying_supervisor, "none": silent_supervisor}
    reply(thought("Think.", supervisor=supervisors[which]))

"""An HR screening bot: readiness loop, questions, a multiple-choice salary decision."""

from autograms import autograms_function
from autograms.functional import multiple_choice, reply, reply_instruction, set_system_prompt, yes_or_no

SALARY_RANGE = "80k-100k"


@autograms_function()
def chatbot():
    set_system_prompt("You are Daisy, a recruiter for a software company.")
    reply("Hi, I'm Daisy. Are you ready for a few questions?")
    while not yes_or_no("Is the candidate ready?"):
        reply_instruction("Ask again whether they are ready.")
    background = []
    for topic in ["education", "experience", "skills"]:
        background.append(reply(f"Tell me about your {topic}."))
    reply("What salary are you expecting?")
    choice = multiple_choice(
        f"Our range is {SALARY_RANGE}. Where is the candidate's expectation?",
        ["below the range", "within the range", "above the range"],
    )
    if choice == 2:
        if yes_or_no("Is the candidate open to negotiation?"):
            reply_instruction("Tell them we may find a compromise.")
        else:
            reply_instruction("Politely end the process.")
    else:
        reply(f"Good: our range is {SALARY_RANGE}. Thanks, {len(background)} answers noted.")
    while True:
        reply("This conversation is now over. Thank you!")

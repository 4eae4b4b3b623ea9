"""A screening interview: linear questions, a three-way salary decision and nested ifs."""

from autograms import autograms_function
from autograms.functional import (multiple_choice, reply, reply_instruction, set_system_prompt,
                                  yes_or_no)

SALARY_RANGE = "$90,000 to $110,000"
SALARY_OVER = "salary_over"


@autograms_function()
def chatbot():
    set_system_prompt("You are Daisy, a friendly recruiter screening candidates for a lab job.")
    reply("Hi, I'm Daisy. Are you ready to start the interview?", ADDRESS="greeting")
    while not yes_or_no("is the candidate ready to start?"):
        reply_instruction("Ask politely if they are ready to begin", ADDRESS="wait_until_ready")
    reply_instruction("Ask about their educational background", ADDRESS="ask_background")
    reply_instruction("Ask about their lab experience", ADDRESS="ask_experience")
    reply_instruction("Ask which software tools they use", ADDRESS="ask_tools")
    reply("What salary are you expecting?", ADDRESS="ask_salary")
    expectation = multiple_choice(
        f"How does the candidate's expectation compare to {SALARY_RANGE}?",
        ["below the range", "within the range", "above the range"],
    )
    if expectation == 2:
        reply_instruction(f"Say the budget is {SALARY_RANGE} and ask if they are open to it",
                          ADDRESS=SALARY_OVER)
        if yes_or_no("is the candidate open to the budgeted range?"):
            reply_instruction("Thank them and explain the next steps", ADDRESS="accept_after_talk")
        else:
            reply_instruction("Thank them and say the role may not fit", ADDRESS="reject")
    else:
        reply_instruction("Thank them and explain the next steps", ADDRESS="accept")
    while True:
        reply("This conversation is now over. Thank you for your time!",
              ADDRESS="conversation_over")

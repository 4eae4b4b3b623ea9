"""A quiz whose rounds and questions are nested decorated functions; RETURNTO and TRANSITION
leave a question early."""

from autograms import autograms_function
from autograms.functional import RETURNTO, TRANSITION, reply, reply_instruction, thought, yes_or_no
from autograms.nodes import location

QUESTIONS = ["What is 2 + 3?", "What is 7 * 6?", "What is 10 - 4?"]


@autograms_function()
def chatbot():
    reply("Welcome to the quiz! Shall we start?", ADDRESS="welcome")
    while True:
        score = run_round(ADDRESS="round")
        reply(f"You scored {score} out of {len(QUESTIONS)}. Another round?", ADDRESS="round_over")


@autograms_function()
def run_round():
    score = 0
    for question in QUESTIONS:
        if ask_question(question, ADDRESS="ask"):
            score += 1
    return score


@autograms_function(conv_scope="normal")
def ask_question(question):
    reply(question, ADDRESS="question")
    TRANSITION(
        "What did the user do?",
        {"gave an answer": "check", "asked for a hint": "hint", "wants to stop": "stop"},
        ADDRESS="classify",
    )
    reply_instruction("Give a small hint without the answer", ADDRESS="hint")
    TRANSITION("Did the user answer now?", {"yes": "check", "no": "hint"})
    thought("Is the user's answer right?", ADDRESS="check")
    return yes_or_no("was the answer right?")
    location(ADDRESS="stop")
    RETURNTO("welcome")

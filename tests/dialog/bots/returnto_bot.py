"""Nested decorated functions: RETURNTO and TRANSITION jump back to outer labels."""

from autograms import autograms_function
from autograms.functional import RETURNTO, TRANSITION, reply


@autograms_function()
def quiz_question(number):
    answer = reply(f"Question {number}: what is {number} + {number}?")
    if answer == "menu":
        RETURNTO("menu")
    return answer == str(number * 2)


@autograms_function()
def quiz(rounds):
    score = 0
    for number in range(1, rounds + 1):
        try:
            score += quiz_question(number)
        finally:
            pass
    return score


@autograms_function()
def chatbot():
    choice = reply("Menu: quiz or chat?", ADDRESS="menu")
    if choice == "quiz":
        score = quiz(2)
        reply(f"Score: {score}")
    TRANSITION("Does the user want the menu again?", {"yes": "menu", "no": "end"})
    reply("Unreachable?", ADDRESS="end")
    return "finished"

"""A bot whose branches only its own words open: a password, a word of a list, a number just
above a limit, and a decision whose failure is handled."""

from autograms import DecisionError, autograms_function
from autograms.functional import reply, yes_or_no

LIMIT = 4242
COLOURS = ("teal", "mauve")


def names_a_colour(message):
    return any(colour in message for colour in COLOURS)


@autograms_function()
def chatbot():
    message = reply("Say something.", ADDRESS="start")
    while True:
        if message.strip().lower() == "open sesame":
            message = reply("The door opens.", ADDRESS="password")
            continue
        if names_a_colour(message):
            message = reply("A fine colour.", ADDRESS="colour")
            continue
        try:
            number = int(message)
        except ValueError:
            number = 0
        if number > LIMIT:
            message = reply("That is a big number.", ADDRESS="big_number")
            continue
        try:
            happy = yes_or_no("Is the user happy?")
        except DecisionError:
            message = reply("Sorry, I did not follow.", ADDRESS="unclear")
            continue
        message = reply("Good." if happy else "Oh.", ADDRESS="mood")

"""The terminal runner's test bot: asks a name (in a nested decorated function), then echoes
numbered messages until the user says "bye", when the program returns."""

from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def ask_name():
    name = reply("Hello! What is your name?", ADDRESS="ask_name")
    return name.strip().title()


@autograms_function()
def chatbot():
    name = ask_name(ADDRESS="intro")
    count = 0
    message = reply(f"Nice to meet you, {name}. Say something.", ADDRESS="greet")
    while message != "bye":
        count += 1
        message = reply(f"echo {count} for {name}: {message}", ADDRESS="echo")
    return count

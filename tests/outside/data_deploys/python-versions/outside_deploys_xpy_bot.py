from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def chatbot():
    name = reply("Hi! What is your name?", ADDRESS="name")
    age = reply("How old are you?")
    return reply(name + age, ADDRESS="bye")

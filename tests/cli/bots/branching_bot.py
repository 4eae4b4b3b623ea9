"""The debugger's test bot: a decision, a nested decorated function, a labelled call to a plain
helper, and one label no trajectory reaches."""

from autograms import autograms_function
from autograms.functional import reply, yes_or_no


def summarize(text):
    return text[:10]


@autograms_function()
def quiz():
    answer = reply("What is 2 + 2?", ADDRESS="question")
    return 1 if answer.strip() == "4" else 0


@autograms_function()
def chatbot():
    reply("Welcome! Shall we do a quiz?", ADDRESS="welcome")
    if yes_or_no("Does the user want a quiz?"):
        score = quiz(ADDRESS="quiz")
        reply(f"You scored {score}.", ADDRESS="score")
    else:
        reply("Maybe later then.", ADDRESS="later")
    summary = summarize("a long conversation", ADDRESS="summary")
    while True:
        message = reply(f"Anything else? ({summary})", ADDRESS="anything_else")
        if len(message) > 10_000_000:  # no message is that long
            reply("Unreachable.", ADDRESS="unreachable")

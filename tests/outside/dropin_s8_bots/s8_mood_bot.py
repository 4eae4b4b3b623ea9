"""A bot whose test-mode branches depend on decisions, thoughts and structured output."""

from autograms import autograms_function
from autograms.functional import (
    generate_list,
    multiple_choice,
    reply,
    reply_instruction,
    thought,
    yes_or_no,
)


@autograms_function()
def chatbot():
    reply("How are you today?", ADDRESS="start")
    while True:
        idea = thought("What might the user feel?")
        if yes_or_no("Does the user sound happy?"):
            reply_instruction("Cheer with the user: " + idea[:20], ADDRESS="cheer")
        else:
            mood = multiple_choice("Which mood is it?", ["sad", "angry", "bored"])
            ideas = generate_list("Ideas to help")
            reply(f"mood {mood}, {len(ideas)} ideas, first {ideas[:1]}", ADDRESS="help")

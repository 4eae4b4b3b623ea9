"""A bot that runs on AutoGRAMS 0.5.3 and on this library alike (the side-by-side test drives
it under both): fixed and instructed replies, thoughts, a loop, a "normal" scope, per-call
model settings. Its control flow does not depend on model answers, so both runs take the same
path and can be compared turn by turn."""

from autograms import autograms_function
from autograms.functional import (
    extract_last_user_reply,
    reply,
    reply_instruction,
    set_system_prompt,
    silent_thought,
    thought,
)

SETTINGS = {"max_tokens": 64, "temperature": 0.2}


@autograms_function()
def chatbot():
    set_system_prompt("You are a short-spoken test bot.")
    reply("Hi! What is your name?", ADDRESS="ask_name")
    name = extract_last_user_reply()
    for topic in ["work", "play"]:
        thought(f"Note what {name} might say about {topic}.", **SETTINGS)
        reply(f"{name}, tell me about {topic}.", ADDRESS="ask_topic")
        reply_instruction(f"Respond about {topic}.", max_turns=2, **SETTINGS)
    ask_more()
    while True:
        reply(f"Goodbye, {name}!", ADDRESS="bye")


@autograms_function(conv_scope="normal")
def ask_more():
    silent_thought("Plan one more question.")
    reply_instruction("Ask one more question.")

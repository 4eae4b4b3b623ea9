"""Computes Fibonacci numbers with GOTO jumps instead of loops."""

import autograms
from autograms.functional import GOTO, extract_last_user_reply, reply, yes_or_no
from autograms.nodes import location


@autograms.autograms_function()
def chatbot():
    reply("Hi! Tell me a position n and I will give you the n-th Fibonacci number.",
          ADDRESS="ask_position")
    location(ADDRESS="read_position")
    text = extract_last_user_reply()
    if not text.strip().isdigit():
        reply("That is not a whole number; please try again.", ADDRESS="not_a_number")
        GOTO(destination="read_position")
    n = int(text)
    a, b, i = 0, 1, 0
    location(ADDRESS="step")
    if i < n:
        a, b = b, a + b
        i += 1
        GOTO(destination="step")
    reply(f"Fibonacci number {n} is {a}. Would you like another one?", ADDRESS="answer")
    if yes_or_no("does the user want another number?"):
        GOTO("ask_position")
    reply("Goodbye!", ADDRESS="goodbye")

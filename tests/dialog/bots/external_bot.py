"""@autograms_external helpers: they see the conversation but may not pause."""

from autograms import ConversationError, autograms_external, autograms_function
from autograms.functional import get_system_prompt, reply, set_system_prompt


@autograms_function()
def inner_decorated(value):
    set_system_prompt("inner")
    return value * 2


@autograms_external()
def compute(value):
    return inner_decorated(value) + len(get_system_prompt())


@autograms_external()
def tries_to_reply():
    return reply("not allowed")


@autograms_function()
def chatbot():
    set_system_prompt("outer")
    result = compute(3)
    try:
        tries_to_reply()
    except ConversationError as exc:
        refusal = str(exc)
    reply(f"computed {result}; refused: {refusal}; prompt {get_system_prompt()!r}")
    return result

"""The smallest useful bot: a greeting, a yes/no branch about AI, then an open conversation.

Shows:

* ``reply(text)`` ends the turn; the next user message continues the function right after it;
* a model decision (``yes_or_no``) choosing between two branches;
* ``reply_instruction`` for replies the model writes from an instruction (its keyword
  arguments, here ``max_tokens``, go to the model call);
* ``ADDRESS`` labels, which name the program's nodes: they appear in the session log and in
  ``/state``, and become the nodes of ``autograms visualize``.

Run it:

    autograms run simple_example
"""

from __future__ import annotations

from autograms import autograms_function
from autograms.functional import reply, reply_instruction, set_system_prompt, yes_or_no

SYSTEM_PROMPT = "You are a friendly assistant. Keep every reply to two or three sentences."
GREETING = "Hello! I'm a small demo bot. Would you like to talk about artificial intelligence?"
#: reply tokens at most (keywords such as max_tokens or temperature go to the model call)
REPLY_TOKENS = 200


@autograms_function()
def chatbot() -> None:
    """Greet, branch on the user's interest in AI, then keep the conversation going."""
    set_system_prompt(SYSTEM_PROMPT)
    reply(GREETING, ADDRESS="ask_question")
    if yes_or_no("Does the user want to talk about artificial intelligence?"):
        reply_instruction(
            "Tell the user one surprising fact about AI, then ask what they would "
            "like to know about it.",
            max_tokens=REPLY_TOKENS,
            ADDRESS="talk_about_ai",
        )
    else:
        reply_instruction(
            "Say that is fine and ask what the user would like to talk about instead.",
            max_tokens=REPLY_TOKENS,
            ADDRESS="ask_other_topic",
        )
    while True:
        reply_instruction(
            "Respond to the user's last message and keep the conversation going.",
            max_tokens=REPLY_TOKENS,
            ADDRESS="continue_conversation",
        )

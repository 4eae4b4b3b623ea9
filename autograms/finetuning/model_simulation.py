"""A chatbot talking to a simulated user (AutoGRAMS' ``run_model_simulation.py``): each side is
an `Autogram`, the one's reply is the other's user message. Run both with
``supervisor_mode=True`` and the chatbot's supervisors answer its model calls, so its saved
sessions hold the examples `get_training_messages` reads."""

from __future__ import annotations

import random
from typing import Any

from ..autogram import Autogram
from ..decorators import autograms_function
from ..functional import generate_list, reply, reply_instruction, set_system_prompt
from ..memory import MemoryObject

#: what the simulated user is told by default
TESTER_PROMPT = (
    "You are testing a chatbot. Try asking it different questions. Each reply should ask a question"
)
TESTER_INSTRUCTION = "Ask the model a new question."


@autograms_function()
def userbot_deterministic(message):
    """A user who always says `message`."""
    while True:
        reply(message)


@autograms_function()
def userbot_simple(prompt=TESTER_PROMPT, instruction=TESTER_INSTRUCTION):
    """A user played by the model, told `prompt` and asked `instruction` every turn."""
    set_system_prompt(prompt)
    while True:
        reply_instruction(instruction)


@autograms_function()
def userbot_variable(prompt=TESTER_PROMPT, instruction=TESTER_INSTRUCTION):
    """A user played by the model who picks at random among the replies it lists each turn
    (or answers `instruction` directly when it lists none)."""
    set_system_prompt(prompt)
    while True:
        candidates = generate_list(
            f"generate a list of replies in the conversation that obey this {instruction}"
        )
        if candidates:
            reply(random.choice(candidates))
        else:
            reply_instruction(instruction)


class ChatbotSimulator:
    """Runs `autogram` (the chatbot) against `user_autogram` (the simulated user)."""

    def __init__(self, autogram: Autogram, user_autogram: Autogram) -> None:
        self.autogram = autogram
        self.user_autogram = user_autogram

    def simulate(
        self,
        num_turns: int = 1,
        chatbot_kwargs: dict[str, Any] | None = None,
        user_kwargs: dict[str, Any] | None = None,
        user_memory: MemoryObject | None = None,
        chatbot_memory: MemoryObject | None = None,
        user_goes_first: bool = False,
    ) -> tuple[MemoryObject | None, MemoryObject | None]:
        """`num_turns` exchanges (the user speaks, the chatbot answers), after the chatbot's
        opening turn unless `user_goes_first`; continues the memories given. Returns
        ``(chatbot_memory, user_memory)``."""
        chatbot_kwargs, user_kwargs = chatbot_kwargs or {}, user_kwargs or {}
        chat_reply = None
        if not user_goes_first:
            chat_reply, chatbot_memory = self.autogram.reply(
                None, memory_object=chatbot_memory, **chatbot_kwargs
            )
        for _ in range(num_turns):
            user_reply, user_memory = self.user_autogram.reply(
                chat_reply, memory_object=user_memory, **user_kwargs
            )
            chat_reply, chatbot_memory = self.autogram.reply(
                user_reply, memory_object=chatbot_memory, **chatbot_kwargs
            )
        return chatbot_memory, user_memory

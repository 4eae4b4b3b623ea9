"""A bot whose replies stream from the model: a fixed welcome, then the model's answer to
every message. Messages steer it: "fixed ..." gets a fixed reply, "boom" makes the turn
raise, "gate:PATH" holds the turn (it creates PATH.entered, then waits until PATH exists)."""

import os
import time

from autograms import autograms_function
from autograms.functional import reply, reply_instruction

WELCOME = "Welcome! Ask me anything."
GATE = "gate:"


def hold_at_gate(message):
    if not message.startswith(GATE):
        return
    path = message[len(GATE) :]
    with open(path + ".entered", "w"):
        pass
    deadline = time.monotonic() + 60
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)


@autograms_function()
def chatbot():
    message = reply(WELCOME, ADDRESS="welcome")
    while True:
        hold_at_gate(message)
        if message == "boom":
            raise ValueError("the bot failed on purpose")
        if message.startswith("fixed"):
            message = reply(f"Fixed answer to {message}.", ADDRESS="fixed")
        else:
            message = reply_instruction("Answer the user's last message.", ADDRESS="answer")

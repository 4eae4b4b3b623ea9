"""A bot whose turn takes 1.5 s when the message starts with "slow" (a long model call)."""

import time

from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def chatbot():
    seen = []
    while True:
        msg = reply(f"seen {seen}", ADDRESS="loop")
        if msg.startswith("slow"):
            time.sleep(1.5)
        seen.append(msg)

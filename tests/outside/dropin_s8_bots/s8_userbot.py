"""A userbot for chatbot-vs-user simulation, as AutoGRAMS' simulation guide describes one."""

from autograms import autograms_function
from autograms.functional import extract_last_user_reply, reply


@autograms_function()
def chatbot(persona="a customer"):
    count = 0
    while True:
        count += 1
        heard = extract_last_user_reply()
        reply(f"[{persona} #{count}] you said: {heard}")

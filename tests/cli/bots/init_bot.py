"""A bot whose init_chatbot must run once, under the Autogram's configuration, before the first
turn."""

from autograms import autograms_function
from autograms.functional import reply
from autograms.memory import get_memory

GREETING = "init_chatbot did not run"


def init_chatbot():
    global GREETING
    memory = get_memory()  # set only inside autogram.use_config()
    GREETING = f"initialised (test mode {memory.test_mode}, agent {memory.config.agent_name})"


@autograms_function()
def chatbot():
    while True:
        reply(GREETING, ADDRESS="greet")

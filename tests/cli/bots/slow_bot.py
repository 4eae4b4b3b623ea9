"""A bot whose turn can be made to hang: on "slow" it touches the file $SLOW_BOT_MARKER and
sleeps, so a test can interrupt the runner in the middle of a turn."""

import os
import pathlib
import time

from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def chatbot():
    count = 0
    message = reply("Ready.")
    while True:
        if message == "slow":
            pathlib.Path(os.environ["SLOW_BOT_MARKER"]).touch()
            time.sleep(120)
        count += 1
        message = reply(f"got {count}: {message}", ADDRESS="loop")

"""The debugger's failing bot: the fourth answer to `step` raises, in every run."""

from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def step(total):
    reply(f"total {total}", ADDRESS="ask")
    if total >= 3:
        raise RuntimeError(f"total reached {total}")
    return total + 1


@autograms_function()
def chatbot():
    reply("Let's count.", ADDRESS="start")
    total = 0
    while True:
        total = step(total, ADDRESS="step")

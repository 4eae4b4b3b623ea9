"""Bots for the store tests: replies that depend on every message so far (a fork, a lost or a
doubled turn changes them), a gate that holds a turn mid-run, and a failure on demand."""

from __future__ import annotations

import hashlib
import os
import time

from autograms import autograms_function
from autograms.functional import extract_full_conv_history, reply, thought

#: a message "gate:PATH" makes its turn create PATH.entered, then wait until PATH exists
GATE = "gate:"
#: a message that makes the turn raise
BOOM = "boom"


def digest(messages: list[str]) -> str:
    return hashlib.sha256("\n".join(messages).encode()).hexdigest()[:12]


def hold_at_gate(message: str) -> None:
    """Block the turn of a gate message until the test opens the gate (bounded)."""
    if not message.startswith(GATE):
        return
    path = message[len(GATE) :]
    with open(path + ".entered", "w"):
        pass
    deadline = time.monotonic() + 60
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)


@autograms_function()
def chain():
    """Replies "N digest" over the N messages seen so far."""
    seen = []
    message = reply("ready")
    while True:
        hold_at_gate(message)
        if message == BOOM:
            raise ValueError("the bot failed on purpose")
        seen.append(message)
        message = reply(f"{len(seen)} {digest(seen)}", ADDRESS="answer")


#: a message that `picky` refuses (raises at) after an odd number of messages
ODD = "odd?"


@autograms_function()
def picky():
    """Replies as `chain` does, and raises at `ODD` when it has seen an odd number of
    messages: whether a turn fails depends on the session's state."""
    seen = []
    message = reply("ready")
    while True:
        if message == ODD and len(seen) % 2:
            raise ValueError("the bot refuses this message after an odd number of them")
        seen.append(message)
        message = reply(f"{len(seen)} {digest(seen)}", ADDRESS="answer")


@autograms_function()
def thinker():
    """Makes a model call per turn (test mode) and reports the history it reads."""
    while True:
        thought("Note what the user said.")
        reply(f"history {len(extract_full_conv_history())}")


#: what ``autograms debug tests/stores/bots.py`` runs (the command looks for ``chatbot``)
chatbot = thinker


@autograms_function()
def spender():
    """Makes as many model calls (test mode) as the number its message starts with, then
    holds at a gate ("N gate:PATH") or raises ("N boom"), else replies."""
    message = reply("ready")
    while True:
        calls, _, rest = message.partition(" ")
        for step in range(int(calls)):
            thought(f"Think about step {step}.")
        hold_at_gate(rest)
        if rest == BOOM:
            raise ValueError("the bot failed on purpose")
        message = reply(f"made {calls} calls")

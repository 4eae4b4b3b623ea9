"""A pause under ``functools.lru_cache``: C code calls the pausing function, so the call
cannot be resumed; the refusal names the cache's wrapper."""

import functools

from autograms import autograms_function
from autograms.functional import reply


@functools.lru_cache(maxsize=16)
def ask(question):
    return reply(question)


@autograms_function()
def chatbot():
    first = reply("first")
    return reply(first + ask("second"))

"""A return value pending while a `finally` block pauses, after leaving a `with` block."""

from autograms import autograms_function
from autograms.functional import reply


class Guard:
    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


@autograms_function()
def ask():
    try:
        with Guard():
            return reply("a") + "+m"
    finally:
        reply("f")


@autograms_function()
def chatbot():
    value = ask()
    return reply(f"the caller got {value!r}")

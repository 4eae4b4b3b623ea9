"""A bot pausing with loads under the paused call that releases before f4039a5 read again
on resume instead of saving them: a bare global, a method call's callable, a module attribute
chain (sessions it wrote: tests/engine/data/earlier_release/)."""

from types import SimpleNamespace

from autograms import autograms_function
from autograms.functional import reply

GREETING = "hello"
SETTINGS = SimpleNamespace(limits=SimpleNamespace(extra=3))


class Speaker:
    def say(self, text):
        return "said:" + text


@autograms_function()
def chatbot():
    first = [GREETING, reply("first?")]
    speaker = Speaker()
    second = speaker.say(reply("second?"))
    third = SETTINGS.limits.extra + len(reply("third?"))
    return reply(f"{first} {second} {third}")

"""What a bot sees when it looks at itself -- locals(), vars(), dir(), its code object,
tracebacks, zero-argument super() -- is the same before and after a resume: the engine's own
locals and frames never show."""

import sys
import traceback

from autograms import autograms_function
from autograms.functional import reply


def code_facts():
    code = sys._getframe(1).f_code
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    return f"{code.co_name} argcount={code.co_argcount} params={names}"


class Base:
    def describe(self, note):
        return f"base:{type(self).__name__}:{note}"


class Child(Base):
    @autograms_function()
    def ask(self, question, *, polite=True):
        note = reply(f"{question} {code_facts()}")
        return super().describe(note)

    @autograms_function()
    def ask_in_closure(self, question):
        def again():
            return f"{type(self).__name__} again {question}"

        answer = reply(f"closure {code_facts()}")
        return answer, super().describe(answer), again()


@autograms_function()
def loop_locals(count):
    seen = []
    for i in range(count):  # noqa: B007 - the bot shows `i` among its locals
        seen.append(reply(f"locals={sorted(locals())} vars={sorted(vars())} dir={dir()}"))
    return seen


@autograms_function()
def fails_after_resume():
    answer = reply("say boom")
    if answer == "boom":
        raise ValueError(answer)
    return answer


@autograms_function()
def chatbot():
    child = Child()
    results = [child.ask("q1"), child.ask_in_closure("q2"), loop_locals(2)]
    try:
        fails_after_resume()
    except ValueError as exc:
        frames = [frame.name for frame in traceback.extract_tb(exc.__traceback__)]
        results.append(frames)
    return reply(f"{results} {sorted(locals())}")

"""Decorated methods: bound as usual, resumable, `self` restored."""

from autograms import autograms_function
from autograms.functional import reply


class Interview:
    greeting = "Welcome"

    def __init__(self, name):
        self.name = name
        self.answers = []

    @autograms_function()
    def ask(self, question):
        self.answers.append(reply(f"{self.greeting} {self.name}: {question}"))
        return len(self.answers)

    @classmethod
    @autograms_function()
    def start(cls, name):
        interview = cls(name)
        for question in ["first?", "second?"]:
            interview.ask(question)
        return interview.answers


@autograms_function()
def chatbot():
    answers = Interview.start("Ada")
    reply(f"answers: {answers}")
    return answers

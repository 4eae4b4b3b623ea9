"""Nodes, locations and node-style helpers."""

from autograms import autograms_function, autograms_node
from autograms.functional import GOTO, extract_last_user_reply, location, reply
from autograms import nodes


@autograms_node
def ask_twice(question):
    first = reply(question)
    second = reply(f"Once more: {question}")
    return first + "/" + second


@autograms_node
def greet(name, ADDRESS=None):  # noqa: N803
    return f"hello {name} at {ADDRESS}"


@autograms_function()
def chatbot():
    location(ADDRESS="start")
    answer = ask_twice("colour?", ADDRESS="colours")
    greeting = greet("ada", ADDRESS="greet")
    nodes.reply(f"{answer} {greeting} last={extract_last_user_reply()}", ADDRESS="summary")
    if extract_last_user_reply() == "again":
        GOTO("start")
    return "end"

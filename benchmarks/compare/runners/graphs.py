"""The benchmark bots as LangGraph state machines, equivalent to `api_bots` and `long_script`.

Mapping (also printed in the report):
- a `reply(text)` is a node that calls `interrupt(text)`; the user's next message is the resume
  value (`Command(resume=...)`), and the node records both in the `messages` channel;
- a decision is a node that bumps the decision counter and stores the seeded answer, followed by
  conditional edges (LangGraph has no classifier helper, so it pays no test-mode model cost);
- a loop is an edge back to an earlier node; locals are state channels;
- the 5-deep stack of decorated functions is 5 nested graphs (each compiled graph is the single
  node of its parent; only the root has the checkpointer, the subgraphs inherit it);
- the long function is a chain of one node per reply step.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

import dialog_script as script
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt


class DialogState(TypedDict, total=False):
    """The bot's variables, as channels."""

    step: int
    interview: int
    topic: int
    ready: bool
    accepted: bool
    count: int
    last_step: int
    messages: Annotated[list[dict[str, str]], operator.add]


#: The state a new session starts from.
INITIAL_STATE: DialogState = {"step": 0, "interview": 0, "count": 0, "messages": []}

Node = Callable[[DialogState], dict[str, Any]]


def ask(text_of: Callable[[DialogState], str], update: Node | None = None) -> Node:
    """A node that applies `update`, says `text_of(state)`, pauses for the user's reply and
    records both messages (it re-runs from the top on resume, as LangGraph nodes do)."""

    def node(state: DialogState) -> dict[str, Any]:
        changes = update(state) if update else {}
        text = text_of({**state, **changes})
        user = interrupt(text)
        turns = [{"role": "agent", "content": text}, {"role": "user", "content": user}]
        return {**changes, "messages": turns}

    return node


def say(text: str) -> Node:
    """A node that says a fixed text and pauses."""
    return ask(lambda _state: text)


def decide_ready(state: DialogState) -> dict[str, Any]:
    """Decision: is the user ready?"""
    step = state["step"] + 1
    return {"step": step, "ready": script.scripted_yes(step)}


def decide_topic(state: DialogState) -> dict[str, Any]:
    """Decision: which salary topic (multiple choice)."""
    step = state["step"] + 1
    return {"step": step, "topic": script.scripted_index(step, len(script.SALARY_CHOICES))}


def decide_range(state: DialogState) -> dict[str, Any]:
    """Decision: did the user accept the salary range?"""
    step = state["step"] + 1
    return {"step": step, "accepted": script.scripted_yes(step)}


def next_interview(state: DialogState) -> dict[str, Any]:
    """The update that starts a new interview round."""
    return {"interview": state["interview"] + 1}


def recruiter_builder() -> StateGraph:
    """The recruiter of `api_bots.recruiter` as nodes and conditional edges."""
    builder = StateGraph(DialogState)
    nodes: dict[str, Node] = {
        "greet": say(script.GREETING),
        "check_ready": decide_ready,
        "not_ready": say(script.NOT_READY),
        "background": ask(lambda s: script.background_question(s["interview"]), next_interview),
        "project": say(script.PROJECT_QUESTION),
        "tools": say(script.TOOLS_QUESTION),
        "classify": decide_topic,
        "salary_range": say(script.SALARY_RANGE),
        "check_range": decide_range,
        "range_ok": say(script.RANGE_OK),
        "negotiate": say(script.NEGOTIATE),
        "later": say(script.LATER),
        "next_round": say(script.NEXT_ROUND),
    }
    for name, node in nodes.items():
        builder.add_node(name, node)
    for source, target in [
        (START, "greet"), ("greet", "check_ready"), ("not_ready", "check_ready"),
        ("background", "project"), ("project", "tools"), ("tools", "classify"),
        ("salary_range", "check_range"), ("range_ok", "background"),
        ("negotiate", "background"), ("later", "background"), ("next_round", "background"),
    ]:  # fmt: skip
        builder.add_edge(source, target)
    builder.add_conditional_edges(
        "check_ready", lambda s: "background" if s["ready"] else "not_ready"
    )
    builder.add_conditional_edges(
        "classify", lambda s: ("salary_range", "later", "next_round")[s["topic"]]
    )
    builder.add_conditional_edges(
        "check_range", lambda s: "range_ok" if s["accepted"] else "negotiate"
    )
    return builder


def nested_builder() -> StateGraph:
    """The recruiter five graphs deep: root → depth_2 → depth_3 → depth_4 → recruiter."""
    inner = recruiter_builder().compile()
    for name in ("recruiter", "depth_4", "depth_3"):
        wrapper = StateGraph(DialogState)
        wrapper.add_node(name, inner)
        wrapper.add_edge(START, name)
        wrapper.add_edge(name, END)
        inner = wrapper.compile()
    root = StateGraph(DialogState)
    root.add_node("depth_2", inner)
    root.add_edge(START, "depth_2")
    root.add_edge("depth_2", END)
    return root


def step_node(index: int, steps: int) -> Node:
    """Step `index` of the long script: count, say the step's text, remember the step."""

    def update(state: DialogState) -> dict[str, Any]:
        return {"count": state["count"] + 1, "last_step": index}

    return ask(lambda s: script.long_step_text(index, steps, s["count"]), update)


def long_builder(steps: int) -> StateGraph:
    """The long script as a chain of `steps` nodes looping back to the first."""
    builder = StateGraph(DialogState)
    names = [f"step_{index}" for index in range(1, steps + 1)]
    for index, name in enumerate(names, start=1):
        builder.add_node(name, step_node(index, steps))
    builder.add_edge(START, names[0])
    for source, target in zip(names, names[1:] + names[:1], strict=True):
        builder.add_edge(source, target)
    return builder

"""The graph model of a bot: nodes, edges, one graph per decorated function, one for the program.

Records only; `extract` builds them from source, `dot`, `svg` and `html` draw them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class NodeKind(enum.Enum):
    """What a node stands for in the control flow."""

    ENTRY = "entry"  #: the ``def`` line of a decorated function, plus its leading plain statements
    STEP = "step"  #: straight-line statements; one starts at an ADDRESS, a pause or a call
    BRANCH = "branch"  #: if/elif/else, match, try or TRANSITION: one edge per outcome
    LOOP = "loop"  #: the head of a while or for loop
    END = "end"  #: the function returns
    EXTERNAL = "external"  #: a jump target outside the function, or one that cannot be found


class EdgeKind(enum.Enum):
    """Why control can pass from one node to another."""

    FLOW = "flow"  #: the next statement
    BRANCH = "branch"  #: one outcome of a branch point or loop head; labelled with the condition
    LOOP = "loop"  #: back to a loop head, at the end of the body or by ``continue``
    GOTO = "goto"  #: ``GOTO(destination=...)`` to a label in the same function
    RETURNTO = "returnto"  #: ``RETURNTO(...)`` to a label in a calling decorated function
    TRANSITION = "transition"  #: one choice of ``TRANSITION(question, {choice: label})``
    CALL = "call"  #: a call into another decorated function


@dataclass(frozen=True, slots=True)
class CodeLine:
    """One line of the bot's source, as shown for a node."""

    lineno: int  #: 1-based line number in the bot's file
    text: str  #: the line without its trailing newline (indentation kept)


@dataclass(frozen=True, slots=True)
class Node:
    """A point of the control flow: a labelled call, a pause, a branch point, an entry or an end."""

    id: str  #: unique in the program: ``"<function>:<index>"``
    kind: NodeKind
    function: str  #: display name of the decorated function that owns the node
    summary: str  #: the node's first statement or header on one line, e.g. ``if yes_or_no(...)``
    code: tuple[CodeLine, ...]  #: the source lines the node covers
    address: str | None = None  #: the ``ADDRESS=`` label of the node's first statement
    pause: str | None = None  #: the pausing call (``reply``, ``reply_instruction``, ``EXIT``...)
    calls: tuple[str, ...] = ()  #: display names of the decorated functions it calls
    ref: str | None = None  #: for EXTERNAL nodes: the label they stand for

    @property
    def lineno(self) -> int:
        """First source line of the node, 0 for nodes that have no code."""
        return self.code[0].lineno if self.code else 0


@dataclass(frozen=True, slots=True)
class Edge:
    """A possible passage of control between two nodes."""

    source: str  #: id of the node control leaves
    target: str  #: id of the node control reaches
    kind: EdgeKind
    label: str = ""  #: condition source text, choice text, or empty


@dataclass(frozen=True, slots=True)
class FunctionGraph:
    """The control flow of one decorated function."""

    name: str  #: display name: ``chatbot``, ``Tutor.ask``, ``chatbot.do_unit``
    decorator: str  #: ``autograms_function`` or ``autograms_node``
    nodes: tuple[Node, ...]  #: the entry node first
    edges: tuple[Edge, ...]
    problems: tuple[str, ...]  #: unknown GOTO labels, duplicate ADDRESS labels

    @property
    def entry(self) -> Node:
        """The node of the ``def`` line."""
        return self.nodes[0]


@dataclass(frozen=True, slots=True)
class ProgramGraph:
    """Every decorated function of a bot file and the calls and RETURNTO jumps between them."""

    filename: str  #: the bot's file, as given
    functions: tuple[FunctionGraph, ...]  #: ``chatbot`` first, then in source order
    links: tuple[Edge, ...]  #: CALL edges and resolved RETURNTO edges between functions
    problems: tuple[str, ...]  #: every function's problems, then the program's own

    def function(self, name: str) -> FunctionGraph:
        """The graph of the decorated function called `name`; KeyError names the known ones."""
        for graph in self.functions:
            if graph.name == name:
                return graph
        known = ", ".join(graph.name for graph in self.functions)
        raise KeyError(f"no decorated function {name!r} in {self.filename}; known: {known}")


@dataclass(frozen=True, slots=True)
class View:
    """What one picture shows: nodes grouped by function, and the edges between them."""

    name: str  #: ``program`` for the whole program, else the function's display name
    groups: tuple[tuple[str, tuple[Node, ...]], ...]  #: (function name, its nodes), drawn boxed
    edges: tuple[Edge, ...]  #: every edge joins two nodes of `groups`

    @property
    def nodes(self) -> tuple[Node, ...]:
        """All nodes of the view, group after group."""
        return tuple(node for _, nodes in self.groups for node in nodes)

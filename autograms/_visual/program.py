"""A bot file's `ProgramGraph`, and the views drawn from it."""

from __future__ import annotations

import ast
import tokenize
import warnings
from pathlib import Path

from .calls import CallReader
from .discover import ROOT_NAME, find_decorated
from .errors import BotSourceError
from .extract import extract_function
from .model import Edge, EdgeKind, FunctionGraph, NodeKind, ProgramGraph, View
from .source import Source
from .spelling import Spelling

PROGRAM_VIEW = "program"


def read_bot(path: str | Path) -> ProgramGraph:
    """The graph of the bot in the Python file at `path`, read without running it."""
    try:
        with tokenize.open(path) as handle:  # honours a PEP 263 coding line
            text = handle.read()
    except (OSError, SyntaxError, UnicodeDecodeError) as exc:
        raise BotSourceError(str(path), f"{type(exc).__name__}: {exc}") from exc
    return read_program(text, str(path))


def read_program(text: str, filename: str) -> ProgramGraph:
    """The graph of the bot whose source is `text`; `filename` is used in messages."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            module = ast.parse(text, filename)
    except SyntaxError as exc:
        raise BotSourceError(filename, f"line {exc.lineno}: {exc.msg}") from exc
    spelling = Spelling.from_module(module)
    decorated = find_decorated(module, spelling)
    if not decorated:
        raise BotSourceError(
            filename,
            "no function is decorated with @autograms_function() or @autograms_node; "
            f"decorate the root function {ROOT_NAME!r} with @autograms_function()",
        )
    names = {item.fn_def.name: item.name for item in decorated}
    reader = CallReader(spelling, names, Source(text, filename))
    functions = tuple(
        extract_function(item.fn_def, item.name, item.decorator, reader) for item in decorated
    )
    links, problems = _links(functions)
    if functions[0].name != ROOT_NAME:
        problems.append(
            f"{filename} has no decorated root function {ROOT_NAME!r}; "
            f"the program graph starts at {functions[0].name!r}"
        )
    all_problems = tuple(p for graph in functions for p in graph.problems) + tuple(problems)
    return ProgramGraph(filename, functions, tuple(links), all_problems)


def _links(functions: tuple[FunctionGraph, ...]) -> tuple[list[Edge], list[str]]:
    """CALL edges into callees' entries, and RETURNTO edges to the labels they name."""
    entries = {graph.name: graph.entry.id for graph in functions}
    links: list[Edge] = []
    problems: list[str] = []
    for graph in functions:
        stubs = {node.id: node for node in graph.nodes if node.kind is NodeKind.EXTERNAL}
        for node in graph.nodes:
            links.extend(Edge(node.id, entries[callee], EdgeKind.CALL) for callee in node.calls)
        for edge in graph.edges:
            if edge.kind is EdgeKind.RETURNTO:
                stub = stubs[edge.target]
                if stub.ref is None:
                    continue
                targets = _owners(functions, stub.ref, graph.name)
                links.extend(Edge(edge.source, target, edge.kind, edge.label) for target in targets)
                if not targets:
                    problems.append(
                        f"RETURNTO label {stub.ref!r} in {graph.name} is not an ADDRESS in any "
                        "decorated function"
                    )
    return links, problems


def _owners(functions: tuple[FunctionGraph, ...], label: str, caller: str) -> list[str]:
    """Ids of the nodes labelled `label`: in functions other than `caller`, else in `caller`."""
    found = [
        (graph.name == caller, node.id)
        for graph in functions
        for node in graph.nodes
        if node.address == label and node.kind is not NodeKind.EXTERNAL
    ]
    others = [node_id for own, node_id in found if not own]
    return others or [node_id for own, node_id in found if own]


def function_view(graph: FunctionGraph) -> View:
    """The picture of one function on its own."""
    return View(graph.name, ((graph.name, graph.nodes),), graph.edges)


def program_view(program: ProgramGraph) -> View:
    """The picture of the whole program: every function boxed, with calls and RETURNTO jumps
    drawn to their real targets instead of to stand-in nodes."""
    resolved = {edge.source for edge in program.links if edge.kind is EdgeKind.RETURNTO}
    dropped: set[str] = set()
    edges: list[Edge] = []
    for graph in program.functions:
        for edge in graph.edges:
            if edge.kind is EdgeKind.RETURNTO and edge.source in resolved:
                dropped.add(edge.target)
            else:
                edges.append(edge)
    kept = set().union(*({e.source, e.target} for e in edges)) if edges else set()
    groups = tuple(
        (graph.name, tuple(n for n in graph.nodes if n.id not in dropped or n.id in kept))
        for graph in program.functions
    )
    return View(PROGRAM_VIEW, groups, tuple(edges) + program.links)


def views(program: ProgramGraph, function: str | None = None) -> list[View]:
    """The whole program then each function, or only `function` when given."""
    if function is not None:
        return [function_view(program.function(function))]
    return [program_view(program)] + [function_view(graph) for graph in program.functions]

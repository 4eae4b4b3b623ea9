"""Every example bot draws without problems, and the graph read from its source agrees with the
engine: the same decorated functions, each with the same ADDRESS labels the engine can jump
to. Two independent readings of one program (the source's syntax tree, the compiled bytecode)
catch a label either one misses."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from autograms import _frames
from autograms._visual import ProgramGraph, read_bot
from autograms.cli import visualize
from autograms.decorators import is_autograms_function
from tests.examples.test_examples import EXAMPLES


def source(name: str) -> Path:
    return Path(importlib.util.find_spec(f"autograms.examples.{name}").origin)


def decorated(module: ModuleType) -> dict[str, object]:
    """The module's own top-level ``@autograms_function`` functions, by name."""
    return {
        name: value
        for name, value in vars(module).items()
        if is_autograms_function(value) and value.__module__ == module.__name__
    }


def graph_labels(program: ProgramGraph) -> dict[str, set[str]]:
    return {
        graph.name: {node.address for node in graph.nodes if node.address}
        for graph in program.functions
    }


def engine_labels(module: ModuleType) -> dict[str, set[str]]:
    labels = {}
    for name, function in decorated(module).items():
        info = _frames.lookup(getattr(function, "__func__", function).__code__)
        assert info is not None, f"{name} was decorated but not instrumented"
        labels[name] = set(info.labels)
    return labels


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_graph_has_the_labels_the_engine_jumps_to(name: str) -> None:
    program = read_bot(source(name))
    assert program.problems == ()
    assert program.functions[0].name == "chatbot"
    module = importlib.import_module(f"autograms.examples.{name}")
    assert graph_labels(program) == engine_labels(module)
    assert any(graph_labels(program).values()), "an example without a single ADDRESS label"


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_draws_as_dot_and_html(name: str, tmp_path: Path, capsys) -> None:
    status = visualize.main([str(source(name)), "--out", str(tmp_path), "--format", "dot,html"])
    assert status == 0, capsys.readouterr().err
    dot = (tmp_path / f"{name}.dot").read_text(encoding="utf-8")
    page = (tmp_path / f"{name}.html").read_text(encoding="utf-8")
    assert dot.startswith("digraph")
    for labels in graph_labels(read_bot(source(name))).values():
        for label in labels:
            assert label in dot and label in page, label

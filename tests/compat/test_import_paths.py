"""The smaller modules AutoGRAMS programs and scripts import: processors, program_control's
type check and debug switch, graph_utils' compile_graph."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from autograms import Autogram, autograms_function
from autograms.functional import reply, reply_instruction, yes_or_no
from autograms.graph_utils import compile_graph
from autograms.memory import use_memory
from autograms.nodes import location
from autograms.processors import BatchProcessor, ReplyProcessor
from autograms.program_control import AutogramsFunction, autograms_node, set_debug


@autograms_function()
def chatbot():
    name = reply("Hello! What is your name?", ADDRESS="ask_name")
    while True:
        location(ADDRESS="loop")
        if yes_or_no("Does the user want to stop?"):
            reply(f"Bye, {name}!", ADDRESS="bye")
        else:
            reply_instruction(f"Chat with {name}.", ADDRESS="chat")


@autograms_node
def plain_node(text):
    return text


def plain_function():
    return None


def test_reply_processor_runs_a_turn_on_the_current_memory() -> None:
    autogram = Autogram(chatbot, test_mode=True)
    _, memory = autogram.reply()
    with use_memory(memory):
        text, same = ReplyProcessor(chatbot, "Ada")()
    assert same is memory and text
    assert memory.extract_last_user_reply() == "Ada"


def test_batch_processor_runs_the_next_turn_on_copies() -> None:
    autogram = Autogram(chatbot, test_mode=True)
    _, memory = autogram.reply()
    _, memory = autogram.reply("Ada", memory_object=memory)
    before = autogram.serialize(memory)
    with use_memory(memory):
        results = BatchProcessor(chatbot, 3)()
    assert len(results) == 3
    assert len({id(result.memory) for result in results} | {id(memory)}) == 4
    assert all(isinstance(result.reply, str) and result.reply for result in results)
    assert autogram.serialize(memory) == before


def test_autograms_function_answers_isinstance_for_decorated_functions() -> None:
    assert isinstance(chatbot, AutogramsFunction)
    assert not isinstance(plain_function, AutogramsFunction)
    assert not isinstance(plain_node, AutogramsFunction)
    with pytest.raises(TypeError, match="@autograms_function"):
        AutogramsFunction()


def test_set_debug_switches_the_library_logger() -> None:
    logger = logging.getLogger("autograms")
    try:
        set_debug()
        assert logger.getEffectiveLevel() == logging.DEBUG
    finally:
        set_debug(False)
    assert logger.level == logging.NOTSET


def test_compile_graph_saves_dot_picture_and_page(tmp_path: Path) -> None:
    graph = compile_graph(chatbot)
    assert graph.name == "chatbot" and "ask_name" in graph.to_dot()
    if shutil.which("dot") is None:
        pytest.skip("graphviz's dot is not installed (apt-get install graphviz)")
    written = graph.save_visualization(tmp_path / "graphs")
    assert sorted(path.name for path in written) == ["chatbot.dot", "chatbot.html", "chatbot.png"]
    assert (tmp_path / "graphs" / "chatbot.png").read_bytes().startswith(b"\x89PNG")
    svg = graph.save_visualization(tmp_path / "graphs", graph_format="svg")
    assert svg[1].read_text().lstrip().startswith(("<?xml", "<svg"))
    with pytest.raises(ValueError, match="graph_format"):
        graph.save_visualization(tmp_path, graph_format="gif")


def test_compile_graph_refuses_an_undecorated_function() -> None:
    with pytest.raises(ValueError, match="not a decorated function"):
        compile_graph(plain_function)

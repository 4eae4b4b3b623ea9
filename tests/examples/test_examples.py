"""Every example bot runs in test mode through a scripted conversation of at least 8 turns,
its session saved to a file and loaded again at every turn -- some turns in a fresh
interpreter -- and never raises: each turn ends with a reply at one of the bot's labelled
calls, and the session is left paused, ready for the next message."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

from autograms import Autogram
from tests.examples.driver import load_example, run_script

EXAMPLES = (
    "simple_example",
    "fibonacci",
    "recruiter",
    "fraction_tutor",
    "general_tutor",
    "doc_search",
    "autograms_seed_agent",
    "returnto_scopes",
)
SCRIPTS: dict[str, list[str]] = {
    "simple_example": [
        "Yes, tell me about AI!",
        "What is a neural network?",
        "Cool.",
        "And transformers?",
        "Thanks.",
        "What about robots?",
        "ok",
        "bye",
        "see you",
    ],
    "fibonacci": ["ok", "next", "", "5", "next", "stop", "again", "3", "quit", "x"],
    "recruiter": [
        "Hello!",
        "Yes, I'm ready.",
        "Computer science at MIT.",
        "Three years of Django.",
        "I like your products.",
        "About 90k.",
        "Great!",
        "Thanks",
        "Bye",
        "Bye again",
    ],
    "fraction_tutor": [
        "yes",
        "what is a denominator?",
        "got it",
        "1/2",
        "3/4",
        "another",
        "2/4",
        "move on",
        "no questions",
        "1/3",
        "ok",
    ],
    "general_tutor": [
        "fractions please",
        "looks good",
        "no, add decimals",
        "ok",
        "2/3",
        "another one",
        "1/2",
        "move on",
        "fine",
        "5",
        "next",
    ],
    "doc_search": [
        "How do I save a session to a file?",
        "What does GOTO do?",
        "Which Python versions are supported?",
        "How does yes_or_no decide?",
        "thanks",
        "What is RETURNTO?",
        "bye",
        "one more: what is conv_scope?",
    ],
    "autograms_seed_agent": [
        "What is autograms?",
        "Please write a bot that asks for my name and greets me",
        "{folder}",
        "How do I run it?",
        "write another bot for me",
        "{folder}",
        "What does GOTO do?",
        "thanks",
        "bye",
    ],
    "returnto_scopes": [
        "interview",
        "two years",
        "what levels do you have?",
        "ok",
        "at work",
        "start over",
        "chat",
        "what courses?",
        "menu",
        "interview",
        "one year",
    ],
}
#: turns (0 = the start) run in a fresh interpreter
FRESH_TURNS = (3, 4, 5)
#: examples that reply from decorated functions of another example
BORROWED = {"general_tutor": ("fraction_tutor",)}


def labels(name: str) -> set[str]:
    """Every ADDRESS label in the example's source."""
    origin = importlib.util.find_spec(f"autograms.examples.{name}").origin
    tree = ast.parse(Path(origin).read_text(encoding="utf-8"))
    return {
        keyword.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg == "ADDRESS" and isinstance(keyword.value, ast.Constant)
    }


def script(name: str, tmp_path: Path) -> list[str]:
    return [message.format(folder=tmp_path / "bots") for message in SCRIPTS[name]]


def check_run(name: str, run, session: Path, seed: int) -> None:
    assert len(run.turns) >= 9, run.turns
    for message, text in run.turns:
        assert isinstance(text, str) and text.strip(), (message, text)
    known = labels(name).union(*(labels(other) for other in BORROWED.get(name, ())))
    assert set(run.addresses) <= known, (set(run.addresses) - known, run.turns)
    autogram = Autogram(root_function=load_example(name).chatbot, test_mode=True, seed=seed)
    assert autogram.load(session).is_paused


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_resumes_every_turn_from_its_session_file(name: str, tmp_path: Path) -> None:
    session = tmp_path / "session.txt"
    run = run_script(name, script(name, tmp_path), session, seed=0, fresh=FRESH_TURNS)
    check_run(name, run, session, seed=0)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("name", EXAMPLES)
def test_example_never_raises_whatever_the_model_decides(
    name: str, seed: int, tmp_path: Path
) -> None:
    session = tmp_path / "session.txt"
    run = run_script(name, script(name, tmp_path), session, seed=seed)
    check_run(name, run, session, seed=seed)


def test_every_example_module_is_tested() -> None:
    folder = Path(importlib.util.find_spec("autograms.examples").origin).parent
    bots = {
        path.stem
        for path in folder.glob("*.py")
        if re.search(r"^def chatbot\(", path.read_text(encoding="utf-8"), re.M)
    }
    assert bots == set(EXAMPLES)


def test_fibonacci_counts_with_goto_and_starts_over_after_stop(tmp_path: Path) -> None:
    run = run_script("fibonacci", SCRIPTS["fibonacci"], tmp_path / "session.txt", fresh=(2,))
    assert run.replies[1:] == [
        "F(0) = 0.",
        "F(1) = 1.",
        "F(2) = 1.",
        "F(7) = 13.",
        "F(8) = 21.",
        "Stopped at F(8) = 21, after showing 5 number(s). Say anything to count again from "
        "the start.",
        "F(0) = 0.",
        "F(3) = 2.",
        "Stopped at F(3) = 2, after showing 2 number(s). Say anything to count again from "
        "the start.",
        "F(0) = 0.",
    ]

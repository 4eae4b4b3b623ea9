"""Asa (autograms_seed_agent) writes bots only inside the folder the user names: new files,
never over an existing file or through a link, nothing above the folder; the bot it writes
runs; and it answers questions from the project's documentation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autograms import Autogram, load_autogram
from autograms.examples import autograms_seed_agent as asa
from autograms.models import ChatRequest
from tests.examples.driver import run_script
from tests.examples.scripted import asked, pick, rules_model

WRITTEN_BOT = """from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def chatbot():
    name = reply("What is your name?", ADDRESS="ask_name")
    while True:
        reply(f"Hello, {name}!", ADDRESS="greet")
"""
REQUEST = "Please write a bot that asks for my name and greets me"


def code_answer(request: ChatRequest, said: str) -> str:
    return f"Here you are:\n\n```python\n{WRITTEN_BOT}```\n\nEnjoy!"


def asa_model(code=code_answer, log: list[ChatRequest] | None = None):  # noqa: ANN001, ANN201
    rules = {
        "What is the user's last message?": pick("A"),  # a question (if not "write")
        "Write an autograms chatbot": code,
    }
    return rules_model(rules, chat="Asa answers.", log=log)


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under `root` with its content (None for folders), links not followed."""
    found: dict[str, bytes | None] = {}
    for folder, folders, files in os.walk(root):
        for name in folders:
            found[os.path.relpath(os.path.join(folder, name), root)] = None
        for name in files:
            path = Path(folder, name)
            found[os.path.relpath(path, root)] = (
                os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
            )
    return found


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding the session file, the current directory and an outside file."""
    (tmp_path / "cwd").mkdir()
    (tmp_path / "outside.txt").write_text("keep me")
    monkeypatch.chdir(tmp_path / "cwd")
    return tmp_path


def test_bot_is_written_only_inside_the_named_folder(workspace: Path) -> None:
    before = tree(workspace)
    folder = workspace / "bots"
    run = run_script(
        "autograms_seed_agent",
        [REQUEST, f"Use {folder}/ please.", "thanks"],
        workspace / "session.txt",
        model=asa_model(),
    )
    written = folder / "chatbot.py"
    assert run.addresses[1:3] == ["ask_folder", "bot_written"]
    assert str(written) in run.replies[2] and "The model could not" not in run.replies[2]
    assert written.read_text() == WRITTEN_BOT
    after = tree(workspace)
    new = {path for path in after if path not in before and not path.startswith("session")}
    assert new == {"bots", "bots/chatbot.py"}
    assert all(after[path] == content for path, content in before.items())


def test_second_bot_never_overwrites_and_never_follows_a_link(workspace: Path) -> None:
    folder = workspace / "bots"
    folder.mkdir()
    (folder / "chatbot.py").write_text("# mine")
    (folder / "chatbot_2.py").symlink_to(workspace / "outside.txt")
    run = run_script(
        "autograms_seed_agent", [REQUEST, str(folder)], workspace / "session.txt", model=asa_model()
    )
    assert str(folder / "chatbot_3.py") in run.replies[-1]
    assert (folder / "chatbot.py").read_text() == "# mine"
    assert (workspace / "outside.txt").read_text() == "keep me"
    assert (folder / "chatbot_3.py").read_text() == WRITTEN_BOT


def test_unusable_folders_are_refused_and_nothing_is_created(workspace: Path) -> None:
    before = tree(workspace)
    messages = [
        REQUEST,
        "somewhere nice",
        f"{workspace}/missing/deeper",
        f"{workspace / 'outside.txt'}",
    ]
    run = run_script("autograms_seed_agent", messages, workspace / "session.txt", model=asa_model())
    assert run.addresses[1:] == [
        "ask_folder",
        "ask_folder_again",
        "ask_folder_again",
        "write_cancelled",
    ]
    assert "could not find a folder path" in run.replies[2]
    assert "does not exist" in run.replies[3] and "is not a folder" in run.replies[4]
    after = tree(workspace)
    assert {path for path in after if not path.startswith("session")} == set(before)


def test_cancel_writes_nothing(workspace: Path) -> None:
    run = run_script(
        "autograms_seed_agent",
        [REQUEST, "cancel", "what now?"],
        workspace / "session.txt",
        model=asa_model(),
    )
    assert run.addresses[1:] == ["ask_folder", "write_cancelled", "answer"]
    assert not any((workspace / "cwd").iterdir())


def test_starter_bot_is_written_when_the_model_writes_no_valid_code(workspace: Path) -> None:
    folder = workspace / "bots"
    broken = lambda request, said: "```python\ndef chatbot(:\n```"  # noqa: E731
    run = run_script(
        "autograms_seed_agent",
        [REQUEST, str(folder)],
        workspace / "session.txt",
        model=asa_model(code=broken),
    )
    assert "starter bot" in run.replies[-1]
    chatbot, init = load_autogram(folder / "chatbot.py")
    assert init is None
    autogram = Autogram(root_function=chatbot, test_mode=True, seed=0)
    text, memory = autogram.reply()
    for message in ("hi", "tell me more", "bye"):
        text, memory = autogram.reply(
            message, memory_object=autogram.deserialize(autogram.serialize(memory))
        )
        assert text
    assert REQUEST in (folder / "chatbot.py").read_text()


@pytest.mark.parametrize(
    "request_text",
    [
        'a bot with """ quotes',
        "a path C:\\New\\folder\\",
        "two\nlines {braces} %s",
    ],
)
def test_starter_bot_compiles_whatever_the_request(request_text: str) -> None:
    assert asa.is_bot(asa.starter_bot(request_text))


def test_questions_are_answered_with_documentation_in_the_system_prompt(workspace: Path) -> None:
    log: list[ChatRequest] = []
    run = run_script(
        "autograms_seed_agent",
        ["How do I save a session to a file?"],
        workspace / "session.txt",
        model=asa_model(log=log),
    )
    assert run.addresses == ["welcome", "answer"]
    answer = next(r for r in log if "documentation excerpts" in asked(r))
    system = answer.messages[0]["content"]
    assert system.startswith(asa.ASA_PROMPT) and "Documentation excerpts" in system
    assert "save" in system.lower()


@pytest.mark.parametrize(
    ("message", "folder"),
    [
        ("/tmp/x", "/tmp/x"),
        ("please use ./bots.", "cwd/bots"),
        ("`bots/`", "cwd/bots"),
        ("my_bots", None),
        ("no idea", None),
    ],
)
def test_folder_is_read_from_a_path_like_word(
    workspace: Path, message: str, folder: str | None
) -> None:
    found, problem = asa.folder_from(message)
    if folder is None:
        assert found is None and problem
    else:
        expected = Path(folder) if folder.startswith("/") else workspace / folder
        assert found == expected.resolve()

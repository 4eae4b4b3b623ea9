"""One bot file, one identity: a session saved by ``autograms run bot.py`` continues in code that
does ``import bot``, and the other way round, each side in a fresh process; `load_autogram`
and ``import`` give the same module; a file whose name is taken by another module, and
sessions saved under the name earlier releases used, still continue."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autograms._bot_files import module_name_for, private_module_name

from .conftest import ROOT, TIMEOUT

BOT = textwrap.dedent(
    """
    from autograms import autograms_function
    from autograms.functional import reply

    class Note:
        def __init__(self, text):
            self.text = text

    @autograms_function()
    def chatbot():
        notes = []
        while True:
            text = reply(f"{len(notes)} note(s); last: {notes[-1].text if notes else '-'}",
                         ADDRESS="note")
            notes.append(Note(text))
    """
)


def python(code: str, *args: str, cwd: Path) -> str:
    """Run `code` in a fresh interpreter in `cwd` (so ``import bot`` finds the bot there)."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


USER_CODE = """
    import sys
    import {module} as bot
    from autograms import Autogram
    autogram = Autogram(bot.chatbot, test_mode=True)
    memory = autogram.load(sys.argv[1])
    text, memory = autogram.reply(sys.argv[2], memory_object=memory)
    autogram.save(sys.argv[1], memory)
    print(text)
"""


@pytest.fixture
def bot_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "notes_bot.py").write_text(BOT)
    return folder


def test_a_session_of_the_command_continues_in_user_code_and_back(autograms, bot_folder):
    session = bot_folder / "chat.session"
    bot = str(bot_folder / "notes_bot.py")
    result = autograms("run", bot, "--test-mode", "--session", str(session), input="first\n")
    assert result.returncode == 0, result.stderr
    assert "Agent: 1 note(s); last: first" in result.stdout
    # user code that imports the bot by its name continues the command's session ...
    out = python(USER_CODE.format(module="notes_bot"), str(session), "second", cwd=bot_folder)
    assert out.strip() == "2 note(s); last: second"
    # ... and the command continues the session the user code saved
    result = autograms("run", bot, "--test-mode", "--session", str(session), input="third\n")
    assert result.returncode == 0, result.stderr
    assert "Agent: 3 note(s); last: third" in result.stdout


def test_load_autogram_and_import_give_one_module(bot_folder):
    out = python(
        """
        import sys
        from autograms import load_autogram
        chatbot, _ = load_autogram("notes_bot.py")
        import notes_bot
        print(chatbot is notes_bot.chatbot, chatbot.__module__)
        """,
        cwd=bot_folder,
    )
    assert out.split() == ["True", "notes_bot"]
    assert module_name_for(bot_folder / "notes_bot.py") == "notes_bot"


def test_a_file_named_like_another_module_gets_a_private_name(autograms, tmp_path):
    bot = tmp_path / "json.py"  # `import json` would give the standard library's module
    bot.write_text(BOT)
    assert module_name_for(bot) == private_module_name("json") == "autograms_bot_json"
    odd = tmp_path / "my-bot.py"  # no `import` can name it
    assert module_name_for(odd) == "autograms_bot_my_bot"
    session = tmp_path / "chat.session"
    for text in ("a", "b"):
        result = autograms("run", str(bot), "--test-mode", "--session", str(session), input=text)
        assert result.returncode == 0, result.stderr
    assert "Agent: 2 note(s); last: b" in result.stdout


def test_a_session_saved_under_the_earlier_private_name_continues(autograms, bot_folder):
    session = bot_folder / "old.session"
    python(
        """
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("autograms_bot_notes_bot", "notes_bot.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        from autograms import Autogram
        autogram = Autogram(module.chatbot, test_mode=True)
        text, memory = autogram.reply()
        text, memory = autogram.reply("old", memory_object=memory)
        autogram.save(sys.argv[1], memory)
        """,
        str(session),
        cwd=bot_folder,
    )
    bot = str(bot_folder / "notes_bot.py")
    result = autograms("run", bot, "--test-mode", "--session", str(session), input="new\n")
    assert result.returncode == 0, result.stderr
    assert "Agent: 2 note(s); last: new" in result.stdout


def test_an_example_given_by_its_path_is_the_example(autograms, tmp_path):
    session = tmp_path / "chat.session"
    path = str(ROOT / "examples" / "simple_example.py")
    result = autograms("run", path, "--test-mode", "--session", str(session), input="hi\n")
    assert result.returncode == 0, result.stderr
    # the session names the example's module: `autograms run simple_example` continues it
    result = autograms(
        "run", "simple_example", "--test-mode", "--session", str(session), input="again\n"
    )
    assert result.returncode == 0, result.stderr
    assert "continuing the session" in result.stdout


@pytest.fixture
def package_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    (folder / "shop" / "bots").mkdir(parents=True)
    (folder / "shop" / "__init__.py").write_text("")
    (folder / "shop" / "bots" / "__init__.py").write_text("")
    (folder / "shop" / "bots" / "notes_bot.py").write_text(BOT)
    return folder


def test_a_bot_in_a_package_has_the_dotted_name_import_gives_it(autograms, package_folder):
    bot = package_folder / "shop" / "bots" / "notes_bot.py"
    assert module_name_for(bot) == "shop.bots.notes_bot"
    session = package_folder / "chat.session"
    result = autograms("run", str(bot), "--test-mode", "--session", str(session), input="one\n")
    assert result.returncode == 0, result.stderr
    out = python(
        USER_CODE.format(module="shop.bots.notes_bot"), str(session), "two", cwd=package_folder
    )
    assert out.strip() == "2 note(s); last: two"
    result = autograms("run", str(bot), "--test-mode", "--session", str(session), input="three\n")
    assert result.returncode == 0, result.stderr
    assert "Agent: 3 note(s); last: three" in result.stdout


def test_a_package_name_import_finds_elsewhere_is_not_used(tmp_path, monkeypatch):
    # `shop` on sys.path is another folder: `import shop.notes_bot` would not load this file
    other = tmp_path / "other"
    (other / "shop").mkdir(parents=True)
    (other / "shop" / "__init__.py").write_text("")
    mine = tmp_path / "mine" / "shop"
    mine.mkdir(parents=True)
    (mine / "__init__.py").write_text("")
    (mine / "notes_bot.py").write_text(BOT)
    monkeypatch.syspath_prepend(str(other))
    assert module_name_for(mine / "notes_bot.py") == "notes_bot"


def test_a_session_saved_under_the_plain_name_of_a_package_bot_continues(autograms, package_folder):
    # earlier releases imported shop/bots/notes_bot.py as `notes_bot`
    session = package_folder / "old.session"
    python(USER_CODE_FIRST_TURN, str(session), cwd=package_folder / "shop" / "bots")
    bot = str(package_folder / "shop" / "bots" / "notes_bot.py")
    result = autograms("run", bot, "--test-mode", "--session", str(session), input="new\n")
    assert result.returncode == 0, result.stderr
    assert "Agent: 2 note(s); last: new" in result.stdout


USER_CODE_FIRST_TURN = """
    import sys
    import notes_bot
    from autograms import Autogram
    autogram = Autogram(notes_bot.chatbot, test_mode=True)
    text, memory = autogram.reply()
    text, memory = autogram.reply("old", memory_object=memory)
    autogram.save(sys.argv[1], memory)
"""

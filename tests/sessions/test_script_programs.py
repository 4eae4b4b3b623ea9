"""Bots run as scripts (issue 10, item 9): every script's module is ``__main__``, so a session
names the script its program was run from (``__main__(bot_a):chatbot``). Another script's session
is refused; the same script run from another folder, or edited by a deploy, continues its own;
a session written before scripts were named (``__main__:chatbot``) continues too."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograms import session

BOT = """
import sys
from autograms import Autogram, autograms_function
from autograms.functional import reply

@autograms_function()
def chatbot():
    answer = reply("{name}: {question}", ADDRESS="start")
    {extra}reply(f"{name} {action} {{answer}}")

if __name__ == "__main__":
    autogram = Autogram(root_function=chatbot, test_mode=True)
    if sys.argv[1] == "new":
        text, memory = autogram.reply()
    else:
        try:
            memory = autogram.load(sys.argv[2])
            text, memory = autogram.reply(sys.argv[3], memory_object=memory)
        except Exception as exc:
            print("REFUSED", type(exc).__name__, getattr(exc, "reason", None), exc)
            sys.exit(0)
    print("SAID", text)
    autogram.save(sys.argv[2], memory)
"""


def bot(name: str, question: str, action: str, extra: str = "") -> str:
    return BOT.format(name=name, question=question, action=action, extra=extra)


def run(script: Path, *args: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


@pytest.fixture
def started(tmp_path: Path) -> tuple[Path, Path]:
    """bot_a.py in one folder, and the session it started (paused at its first reply)."""
    folder = tmp_path / "here"
    folder.mkdir()
    script = folder / "bot_a.py"
    script.write_text(bot("Bot A", "your name?", "greets"))
    path = tmp_path / "shared.session"
    assert run(script, "new", str(path), cwd=folder) == "SAID Bot A: your name?"
    return script, path


def test_another_script_refuses_the_session_naming_both(started, tmp_path: Path) -> None:
    _, path = started
    other = tmp_path / "bot_b.py"
    other.write_text(bot("Bot B", "card number?", "charges"))
    said = run(other, "cont", str(path), "Ada", cwd=tmp_path)
    assert said.startswith("REFUSED SessionCodeError other program"), said
    assert "__main__(bot_a):chatbot" in said and "__main__(bot_b):chatbot" in said, said


def test_the_same_script_in_another_folder_continues(started, tmp_path: Path) -> None:
    script, path = started
    elsewhere = tmp_path / "deployed" / "v2"
    elsewhere.mkdir(parents=True)
    shutil.copy(script, elsewhere / "bot_a.py")
    assert run(elsewhere / "bot_a.py", "cont", str(path), "Ada", cwd=tmp_path) == (
        "SAID Bot A greets Ada"
    )


def test_the_script_edited_by_a_deploy_continues_at_its_label(started) -> None:
    script, path = started
    script.write_text(bot("Bot A", "your name?", "greets", extra="answer = answer.upper()\n    "))
    assert run(script, "cont", str(path), "Ada", cwd=script.parent) == "SAID Bot A greets ADA"


def test_a_session_written_before_scripts_were_named_continues(started) -> None:
    script, path = started
    text = path.read_text()
    start = len(session.MAGIC) + 1
    end = text.index(".", start)
    header = json.loads(base64.b64decode(text[start:end] + "=" * (-len(text[start:end]) % 4)))
    assert header["program"] == "__main__(bot_a):chatbot"
    header["program"] = "__main__:chatbot"
    del header["header_crc"]
    rewritten = session._header_json(header)  # with its CRC-32, as a release writes it
    path.write_text(text[:start] + session._b64(rewritten.encode()) + text[end:])
    assert run(script, "cont", str(path), "Ada", cwd=script.parent) == "SAID Bot A greets Ada"


def test_a_script_without_a_file_is_named_as_before() -> None:
    assert session._script_name(None) == "__main__"
    named = session._script_name(type("Main", (), {"__file__": "/x/pkg/__main__.py"}))
    assert named == "__main__(pkg)"

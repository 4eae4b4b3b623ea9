"""A fresh process that answers one turn imports only what that turn uses (issue 11).

Each test runs a new interpreter, as a worker does for its first message of a saved session.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Parts of the library (and what they import) that a turn calling no model must not load.
OPTIONAL = (
    "autograms.models.openai_compat",
    "autograms.models.records",
    "autograms.models.scripted",
    "autograms.models.tokens",
    "autograms.cli",
    "autograms.stores",
    "autograms.serve",
    "dill",
    "jsonschema",
    "tiktoken",
    "openai",
)

_TURN = """
import json, sys
from autograms import Autogram
from tests.dialog.bots.fibonacci import chatbot

autogram = Autogram(root_function=chatbot, test_mode=sys.argv[1] == "test")
if len(sys.argv) > 2:
    memory = autogram.deserialize(open(sys.argv[2]).read())
    text, memory = autogram.reply("yes", memory_object=memory)
else:
    text, memory = autogram.reply()
loaded = sorted(sys.modules)
model = type(autogram.model).__name__
print(json.dumps({
    "text": text,
    "session": autogram.serialize(memory),
    "modules": loaded,
    "model": model,
    "shared": memory.model is autogram.model,
}))
"""


def _fresh_turn(mode: str, session: Path | None = None) -> dict:
    arguments = [sys.executable, "-c", _TURN, mode] + ([str(session)] if session else [])
    completed = subprocess.run(
        arguments, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def _optional_loaded(modules: list[str]) -> list[str]:
    return [m for m in modules if m in OPTIONAL or m.startswith(tuple(p + "." for p in OPTIONAL))]


def test_import_autograms_loads_no_model_cli_store_or_server_code() -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys, autograms; print(json.dumps(sorted(sys.modules)))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert _optional_loaded(json.loads(completed.stdout)) == []


def test_first_turn_of_a_saved_session_loads_no_model_when_it_calls_none(tmp_path: Path) -> None:
    for mode in ("deployed", "test"):
        first = _fresh_turn(mode)
        session = tmp_path / f"{mode}.session"
        session.write_text(first["session"], encoding="ascii")
        resumed = _fresh_turn(mode, session)
        assert resumed["text"] == "Fibonacci number 1 is 1. Another?"
        assert _optional_loaded(first["modules"]) == []
        assert _optional_loaded(resumed["modules"]) == []
        # the first process filled the code cache: the resumed one rewrites nothing; a turn
        # without a session key loads no OpenSSL, and no decimal (the bot uses none)
        unused = {"bytecode", "autograms._frames.instrument", "hashlib", "hmac", "decimal"}
        assert not unused & set(resumed["modules"])


def test_the_model_made_after_a_turn_that_needed_none_is_the_autograms_own() -> None:
    deployed = _fresh_turn("deployed")
    assert deployed["model"] == "OpenAICompatModel"
    assert deployed["shared"] is True
    scripted = _fresh_turn("test")
    assert scripted["model"] == "ScriptedModel"
    assert scripted["shared"] is True

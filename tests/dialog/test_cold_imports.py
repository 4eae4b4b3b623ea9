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

#: Standard-library packages ``import autograms`` may load on 3.11-3.13 (C modules and
#: ``__future__``, named with a leading underscore, aside). Every process pays for them before
#: its first turn, so adding one should be a decision (issue 11). Session 9 looked at three and
#: kept them: ``inspect`` (with ``ast``, ``dis`` and ``tokenize``) is imported by
#: ``dataclasses``; ``ctypes`` reads the interpreter's frames at every pause
#: (`autograms._frames.callees`), so importing it lazily would only move it into the first
#: turn; ``typing`` is imported by most modules, several of which use it at run time
#: (TypedDict, Generic, TypeVar). ``ipaddress``, which ``python -X importtime -c 'import
#: autograms'`` lists, is imported by ``site`` for an editable install (pathlib ->
#: urllib.parse), not by the library.
STANDARD_AT_IMPORT = frozenset(
    {
        "ast",
        "binascii",
        "collections",
        "contextlib",
        "contextvars",
        "copy",
        "copyreg",
        "ctypes",
        "dataclasses",
        "dis",
        "enum",
        "errno",
        "functools",
        "gc",
        "importlib",
        "inspect",
        "itertools",
        "json",
        "keyword",
        "linecache",
        "math",
        "opcode",
        "operator",
        "pickle",
        "re",
        "reprlib",
        "struct",
        "threading",
        "token",
        "tokenize",
        "types",
        "typing",
        "warnings",
        "weakref",
        "zlib",
    }
)

#: Without ``site`` (-S), so that nothing a .pth file imports is counted; the installed
#: packages stay importable from their directory.
_IMPORT_ONLY = """
import json, sys, sysconfig
sys.path[:0] = [sys.argv[1]]
sys.path += sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
before = set(sys.modules)
import autograms
print(json.dumps(sorted(set(sys.modules) - before)))
"""

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


def test_import_autograms_loads_only_the_standard_modules_it_needs() -> None:
    completed = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _IMPORT_ONLY, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded = json.loads(completed.stdout)
    assert "autograms" in loaded
    packages = {name.partition(".")[0] for name in loaded}
    standard = {name for name in packages if name in sys.stdlib_module_names}
    assert "ipaddress" not in standard
    assert sorted(name for name in standard - STANDARD_AT_IMPORT if name[0] != "_") == []


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

"""What the deploy tests share: edited copies of the examples, sessions the examples as installed
write into a folder or a store, and the new code's process (`tests.deploys.runner`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograms import Autogram, MemoryObject
from autograms.stores import open_store
from tests.sessions.make_session_data import _autogram

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
#: seconds one run of the new code may take (two test workers share two cores)
TIMEOUT = 120


@dataclass(frozen=True)
class Edit:
    """An edited copy of an example: each (old, new) replaces every occurrence of old."""

    example: str
    replacements: tuple[tuple[str, str], ...]

    def write(self, folder: Path) -> Path:
        source = (EXAMPLES / f"{self.example}.py").read_text()
        for old, new in self.replacements:
            assert old in source, f"{old!r} is not in examples/{self.example}.py any more"
            source = source.replace(old, new)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.example}.py"
        path.write_text(source)
        return path


def new_code(edit: Edit | None, folder: Path, mode: str, *args: str) -> subprocess.CompletedProcess:
    """Run `tests.deploys.runner` with `edit` (None: the example as installed) standing in
    for its example."""
    env = {k: v for k, v in os.environ.items() if k != "AUTOGRAMS_SESSION_KEY"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    path = "-" if edit is None else str(edit.write(folder / "edit"))
    example = edit.example if edit is not None else args[0]
    command = [sys.executable, "-m", "tests.deploys.runner", path, example, mode]
    rest = args if edit is not None else args[1:]
    return subprocess.run(
        [*command, *rest], capture_output=True, text=True, env=env, cwd=ROOT, timeout=TIMEOUT
    )


def new_code_json(edit: Edit, folder: Path, mode: str, request: dict[str, Any]) -> dict:
    result = new_code(edit, folder, mode, json.dumps(request))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def conversation(example: str, messages: list[str], seed: int = 1) -> tuple[Autogram, MemoryObject]:
    """The example as installed, after `messages` (an empty list: a session not started)."""
    autogram = _autogram(example, seed, signed=False)
    memory = autogram.init_memory()
    for message in messages:
        _, memory = autogram.reply(message, memory_object=memory)
    return autogram, memory


#: fibonacci with two ADDRESS labels renamed: show_number -> number, stopped -> halted
RENAMED = Edit(
    "fibonacci",
    (
        ('ADDRESS="show_number"', 'ADDRESS="number"'),
        ('GOTO(destination="show_number")', 'GOTO(destination="number")'),
        ('ADDRESS="stopped"', 'ADDRESS="halted"'),
    ),
)
#: fibonacci sessions of the tests -> the messages that bring the example there
FIBONACCI = {"at_intro": [""], "at_number": ["", "go"], "stopped": ["", "go", "stop"], "idle": []}


class Place:
    """Where the sessions of a test are kept: a folder of session files or a store."""

    def __init__(self, kind: str, where: str) -> None:
        self.kind = kind
        #: the folder, or the store's URL
        self.where = where

    def put(self, name: str, autogram: Autogram, memory: MemoryObject) -> None:
        if self.kind == "folder":
            autogram.save(Path(self.where) / name, memory)
            return
        store = open_store(self.where)
        try:
            blob = autogram.serialize(memory, include_log=False)
            store.create_session(name, None, blob, memory.model_turns)
        finally:
            store.close()

    def blob(self, name: str) -> str:
        """The session's text as kept (a file's, or a store's blob)."""
        if self.kind == "folder":
            return (Path(self.where) / name).read_text()
        store = open_store(self.where, create=False)
        try:
            return store.load_session(name).blob
        finally:
            store.close()

    def options(self) -> list[str]:
        return ["--folder" if self.kind == "folder" else "--store", self.where]

    def request(self, **fields: Any) -> dict[str, Any]:
        return {"folder" if self.kind == "folder" else "store": self.where, **fields}


def verdicts(report: dict) -> dict[str, str]:
    """Session name -> verdict, from a JSON report."""
    return {item["session"]: item["verdict"] for item in report["sessions"]}

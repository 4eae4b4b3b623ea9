"""This library next to the original AutoGRAMS 0.5.3 (from PyPI, installed once into a cache
venv under ~/.cache/autograms/bench, shared with the benchmark harness): the same signatures,
and the same bot run in test mode turn by turn. Skips, saying why, when that venv cannot be
installed (no registry, no CPython 3.12.1)."""

from __future__ import annotations

import fcntl
import json
import subprocess
from pathlib import Path

import pytest

from autograms import Autogram
from benchmarks.compare.environments import default_base_python, default_bench_home, prepare_venv
from tests.compat import surface
from tests.compat.bots import side_by_side
from tests.compat.driver import converse

HERE = Path(__file__).resolve().parent
PEER = HERE / "peer.py"
MODULES = ["autograms.functional", "autograms.nodes", "autograms.processors"]
MESSAGES = ["Ada", "I code", "ok", "I hike", "ok", "more?", "bye", "bye"]
#: 0.5.3 signatures that differ here on purpose, and why
DIFFERENT_SIGNATURE = {
    "autograms.functional.call_classifier": "0.6.0's turn-list form (input_turns, output_turns, "
    "answer_choices, ...); 0.5.3's (input_str, answer_choices, system_prompt) is recognised by "
    "its question text first (test_functional_names)",
}
#: what each library's test mode answers a model call with
TEST_MODE_REPLY = {"peer": "test mode, no response enabled", "ours": "[scripted reply"}


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    home = default_bench_home()
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".install.lock", "w") as lock:  # one installer at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        environment = prepare_venv(home, "autograms", default_base_python(), install=True)
    if not environment.available:
        pytest.skip(f"AutoGRAMS 0.5.3 is not available: {environment.reason}")

    def run(*args: str) -> dict:
        done = subprocess.run(
            [str(environment.python), str(PEER), *args],
            capture_output=True,
            text=True,
            env=environment.child_env(),
            cwd=tmp_path_factory.mktemp("peer"),
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    return run


def test_every_function_of_autograms_0_5_3_takes_its_calls_here(peer) -> None:  # noqa: ANN001
    theirs = peer("signatures", *MODULES)
    problems = {}
    for module, names in theirs.items():
        for name, params in names.items():
            if ["args", "VAR_POSITIONAL", False] in params and name != "as_node":
                continue  # wrapped by AutoGRAMS' supervisable, which hides the signature
            try:
                ours = surface.resolve(module, name)
            except AttributeError:
                problems[f"{module}.{name}"] = ["missing"]
                continue
            found = surface.signature_problems(ours, params)
            if bool(found) != (f"{module}.{name}" in DIFFERENT_SIGNATURE):
                problems[f"{module}.{name}"] = found or ["matches now: drop it from the table"]
    assert sum(len(names) for names in theirs.values()) > 50
    assert problems == {}


def comparable(replies: list[str | None], side: str) -> list[str | None]:
    """Replies with each library's test-mode model answer replaced by one placeholder."""
    marker = TEST_MODE_REPLY[side]
    return ["<model>" if text and text.startswith(marker) else text for text in replies]


def test_the_same_bot_takes_the_same_path_in_test_mode(peer) -> None:  # noqa: ANN001
    theirs = peer("converse", side_by_side.__file__, json.dumps(MESSAGES))
    run = converse(Autogram(side_by_side.chatbot, test_mode=True), MESSAGES)
    assert comparable(run.replies, "ours") == comparable(theirs["replies"], "peer")
    chat = [e["entry_type"] for e in run.log if e["entry_type"] in ("user_reply", "agent_reply")]
    assert chat == theirs["entries"]
    ours = [turn["role"] for turn in run.memory.extract_full_conv_history()]
    theirs_roles = [turn["role"] for turn in theirs["history"] if turn["content"]]
    assert ours[-len(theirs_roles) :] == theirs_roles[-len(ours) :]

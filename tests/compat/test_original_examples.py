"""AutoGRAMS 0.6.0's own example bots, run unchanged from the original source tree in test
mode, each turn through serialize/deserialize. The original tree is not part of this
repository: these tests skip where it is absent (CI); `bots/retrieval.py` and
`bots/seed_like.py` use the API the same way and run everywhere."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from autograms import Autogram, load_autogram
from autograms.models import ChatRequest, ScriptedModel
from tests.compat.driver import converse

ORIGINAL = Path("/work/ref/autograms-0.6.0")
pytestmark = pytest.mark.skipif(
    not (ORIGINAL / "examples").is_dir(),
    reason=f"the original AutoGRAMS 0.6.0 source is not at {ORIGINAL} (it is not shipped here)",
)
QUESTIONS = [
    "How do I write a chatbot with autograms?",
    "What does reply_instruction do?",
    "Can you write me a bot that asks for my name?",
    "yes, go ahead",
    "What is a conv_scope?",
    "thanks",
]


@pytest.mark.parametrize("seed", [0, 1])
def test_the_original_doc_search_example_runs_unchanged(seed: int) -> None:
    chatbot, init_chatbot = load_autogram(ORIGINAL / "examples" / "autograms_doc_search.py")
    autogram = Autogram(chatbot, test_mode=True, seed=seed)
    with autogram.use_config():
        init_chatbot(docs_folder=str(ORIGINAL / "docs"))
    run = converse(autogram, QUESTIONS)
    assert run.replies[0].startswith("Hello! I can answer your questions about autograms")
    assert all(isinstance(text, str) and text for text in run.replies)


@pytest.fixture
def seed_agent_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder holding what Asa reads at import (README, docs, examples), so the
    files it writes land there and not in the original tree."""
    for name in ("README.md", "docs", "examples"):
        source = ORIGINAL / name
        target = tmp_path / name
        shutil.copytree(source, target) if source.is_dir() else shutil.copy(source, target)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_original_seed_agent_runs_unchanged(seed_agent_checkout: Path, seed: int) -> None:
    chatbot, init_chatbot = load_autogram(ORIGINAL / "examples" / "autograms_seed_agent.py")
    assert init_chatbot is None
    run = converse(Autogram(chatbot, test_mode=True, seed=seed), QUESTIONS)
    assert run.replies[0].startswith("Hi! I'm am Asa")
    assert all(isinstance(text, str) and text for text in run.replies)


CODE_ANSWER = """Here is the code.

```python
from autograms import autograms_function
from autograms.functional import reply

@autograms_function()
def chatbot():
    reply("Hi!")
```

```python
from autograms import Autogram
from chatbot_code import chatbot
```
"""


def asa_writes_code(request: ChatRequest) -> str | dict | None:
    """A model that wants code written, writes two python blocks, and finds no problem."""
    last = str(request.messages[-1]["content"])
    if request.kind == "decision":
        return {"answer": "No" if "contain any of the problems" in last else "Yes"}
    if "let's write the code" in last:
        return CODE_ANSWER
    return None


def test_the_original_seed_agent_writes_the_code_it_extracted(seed_agent_checkout: Path) -> None:
    chatbot, _ = load_autogram(ORIGINAL / "examples" / "autograms_seed_agent.py")
    autogram = Autogram(chatbot, model=ScriptedModel(asa_writes_code))
    run = converse(autogram, ["Write me a greeting bot.", "ok, go ahead", "thanks"])
    written = sorted(p.name for p in (seed_agent_checkout / "asa_code").rglob("*.py"))
    assert written == ["chatbot_code.py", "run_chatbot.py"]
    assert all(run.replies)

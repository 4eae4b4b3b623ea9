"""The decision benchmark: its labelled cases are well formed, and it scores the answers a
server gives (run on the fake server answering like a model that does not read the user: its
score must be the reference row's)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from benchmarks.decisions.__main__ import constant_answer, run_form, summary, write_report
from autograms.models.local_server import LocalModelServer
from benchmarks.decisions.cases import CASES
from tests.fakes.openai_server import FakeOpenAIServer


def test_every_case_expects_one_of_its_answers():
    for case in CASES:
        assert case.expected in (case.choices or ("Yes", "No")), case
    groups = {(case.bot, case.kind) for case in CASES}
    assert groups == {(bot, kind) for bot in ("recruiter", "tutor") for kind in ("yes/no", "multiple choice")}  # fmt: skip


def constant(body: dict[str, Any]) -> str:
    multiple = "\nA. " in body["messages"][-1]["content"]
    return json.dumps({"answer": "A" if multiple else "Yes"})


class ServerAt(SimpleNamespace):
    """What the benchmark uses of a running `LocalModelServer`, for a server started elsewhere."""

    chat_config = LocalModelServer.chat_config
    chat_model = LocalModelServer.chat_model
    decision_form = LocalModelServer.decision_form


def test_a_model_that_ignores_the_user_scores_the_reference_row(tmp_path: Path):
    with FakeOpenAIServer(responder=constant) as fake:
        server = ServerAt(
            base_url=fake.base_url, api_key="sk-fake", model="fake", output_mode="json_schema"
        )
        result = run_form(server, "output")  # type: ignore[arg-type]
    result.update(backend="fake", summary=summary(result["rows"]))
    assert result["summary"]["correct"] == constant_answer()["summary"]["correct"]
    assert result["summary"]["by_group"] == constant_answer()["summary"]["by_group"]
    write_report([result], tmp_path / "decisions", {"model": "fake", "machine": "here"})
    table = (tmp_path / "decisions.md").read_text()
    assert "| fake | structured output" in table and "(reference) a constant answer" in table

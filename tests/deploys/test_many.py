"""The check and the upgrade over stores of a few hundred sessions, SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from autograms.stores import open_store
from tests.deploys.harness import FIBONACCI, RENAMED, conversation, new_code

#: sessions in the store
COUNT = 300


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_store_of_hundreds_of_sessions_is_checked_and_upgraded(
    backend: str, store_url_of, tmp_path: Path
) -> None:
    url = store_url_of(backend)
    blobs = {}
    for name, messages in FIBONACCI.items():
        autogram, memory = conversation("fibonacci", messages)
        blobs[name] = (autogram.serialize(memory, include_log=False), memory.model_turns)
    store = open_store(url)
    try:
        kinds = itertools.islice(itertools.cycle(FIBONACCI), COUNT)
        for number, kind in enumerate(kinds):
            store.create_session(f"{kind}-{number:04d}", None, *blobs[kind])
    finally:
        store.close()
    each = COUNT // len(FIBONACCI)

    def command(action: str, *options: str) -> tuple[int, dict]:
        args = ("sessions", action, "fibonacci", "--store", url, *options, "--json")
        result = new_code(RENAMED, tmp_path, "cli", *args)
        assert result.returncode in (0, 1), result.stderr
        return result.returncode, json.loads(result.stdout)

    status, report = command("check")
    assert status == 1
    assert report["totals"] == {
        "resumes": 0, "remapped": each, "mapped": 0, "restarts": 0, "idle": each,
        "refused": 2 * each,
    }  # fmt: skip
    refused = {
        item["session"].split("-")[0] for item in report["sessions"] if item["verdict"] == "refused"
    }
    assert refused == {"at_number", "stopped"}
    status, report = command("upgrade", "--map", "show_number=number", "--restart")
    assert status == 0
    assert (report["totals"]["mapped"], report["totals"]["restarts"]) == (each, each)
    status, report = command("check")
    assert status == 0
    assert report["totals"]["resumes"] == each and report["totals"]["idle"] == 2 * each

"""Write data/autograms-requests.json: the chat requests AutoGRAMS 0.6.0 sends a fake OpenAI
server for the bots of `autograms_requests.py`, run from its source tree with the packages
of a venv that holds AutoGRAMS 0.5.3 (its dependencies):

    python -m tests.compat.make_autograms_requests /work/ref/autograms-0.6.0 \
        ~/.cache/autograms/bench/autograms-py3.12.1/bin/python

The file is committed; test_autograms_requests.py compares this library's requests with it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.compat.autograms_requests import (
    CASES,
    comparable,
    config_for,
    embeddings_key,
    once_each,
)
from tests.fakes.openai_server import FakeOpenAIServer

OUT = Path(__file__).resolve().parent / "data" / "autograms-requests.json"

DRIVER = """
import json, sys
sys.path.insert(0, sys.argv[1])
import bot
from autograms import Autogram, AutogramConfig
config = AutogramConfig(**json.loads(sys.argv[2]))
autogram = Autogram(bot.chatbot, autogram_config=config, api_keys={"openai": "sk-fake"})
text, memory = autogram.reply()
for message in json.loads(sys.argv[3]):
    text, memory = autogram.reply(message, memory_object=memory)
"""


def record(case: str, source_tree: str, python: str) -> tuple[list[dict], list[dict]]:
    """The case's chat requests (each once) and embeddings requests."""
    bot, _config, messages = CASES[case]
    with tempfile.TemporaryDirectory() as folder, FakeOpenAIServer("openai") as server:
        Path(folder, "bot.py").write_text(bot)
        env = {
            **os.environ,
            "PYTHONPATH": source_tree,
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": "sk-fake",
            "TIKTOKEN_CACHE_DIR": str(Path(python).parents[2] / "tiktoken-cache"),
        }
        config = json.dumps(config_for(case, server.port))
        subprocess.run(
            [python, "-c", DRIVER, folder, config, json.dumps(messages)],
            cwd=folder,
            env=env,
            check=True,
            timeout=300,
            capture_output=True,
        )
        embeddings = [r.body for r in server.requests if r.path.endswith("/embeddings")]
        return once_each([comparable(body) for body in server.chat_requests()]), embeddings


def main() -> None:
    source_tree, python = sys.argv[1], sys.argv[2]
    found: dict[str, list[dict]] = {}
    for case in CASES:
        found[case], embeddings = record(case, source_tree, python)
        if embeddings:
            found[embeddings_key(case)] = embeddings
    OUT.write_text(json.dumps(found, indent=1) + "\n")
    print(f"{sum(map(len, found.values()))} requests -> {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()

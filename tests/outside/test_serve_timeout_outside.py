"""Outside tests (session 4): `request_timeout` / `autograms serve --timeout` against a model
server that answers at once but never finishes its body (one byte every 0.2 s).

README: "`--timeout S` bounds each model request"; serve --help: "seconds one model request
may take". One attempt (chatbot_max_tries=1) so retries and their backoff do not count.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from autograms import Autogram, AutogramConfig, ModelCallError
from autograms.models.tokens import counter_for_model
from tests.outside.s4_support import TrickleModelServer, http, serve

BOT = """
from autograms import autograms_function
from autograms.functional import reply_instruction

@autograms_function()
def chatbot():
    while True:
        reply_instruction("Say something.", ADDRESS="talk")
"""


def test_request_timeout_bounds_a_model_request_that_never_finishes(tmp_path):
    namespace: dict = {}
    exec(compile(BOT, str(tmp_path / "s4_timeout_bot.py"), "exec"), namespace)  # noqa: S102
    with TrickleModelServer(seconds=4.0) as server:
        config = AutogramConfig(
            chatbot_type="proxy",
            base_url=server.base_url,
            chatbot_path="m",
            request_timeout=1,
            chatbot_max_tries=1,
        )
        autogram = Autogram(root_function=namespace["chatbot"], autogram_config=config)
        # the first call's imports (the openai SDK, the tokenizer) are not the request's time
        autogram.model.warm_up()
        counter_for_model("m").count("warm")
        start = time.monotonic()
        with pytest.raises(ModelCallError):
            autogram.reply("hi")
        elapsed = time.monotonic() - start
    assert elapsed < 2.5, f"a 1 s request timeout took {elapsed:.1f} s"


def test_serve_timeout_answers_503_within_the_timeout_when_the_model_never_finishes(tmp_path: Path):
    (tmp_path / "s4_timeout_bot.py").write_text(BOT)
    (tmp_path / "one_try.json").write_text(json.dumps({"chatbot_max_tries": 1}))
    with TrickleModelServer(seconds=4.0) as server:
        args = ["--base-url", server.base_url, "--model", "m", "--timeout", "1"]
        args += ["--config", "one_try.json", "--store", f"sqlite:///{tmp_path / 's.db'}"]
        with serve("s4_timeout_bot.py", *args, cwd=tmp_path) as (base, _):
            start = time.monotonic()
            status, headers, body = http(
                "POST",
                base + "/v1/chat/completions",
                {"model": "x", "messages": [{"role": "user", "content": "hi"}]},
                timeout=20,
            )
            elapsed = time.monotonic() - start
    assert status == 503 and body["error"]["code"] == "model_unavailable"
    assert elapsed < 3.0, f"--timeout 1 answered after {elapsed:.1f} s"

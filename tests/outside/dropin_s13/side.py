"""Drive runner.py under AutoGRAMS 0.6.0 (if its tree and a venv are here) and this library."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
REF_TREE = Path("/work/ref/autograms-0.6.0")
REF_VENV = Path.home() / ".cache/autograms/bench/autograms-py3.12.1/bin/python"
TIKTOKEN = Path.home() / ".cache/autograms/bench/tiktoken-cache"


def run(
    source: str,
    messages: list,
    *,
    original: bool = False,
    config=None,
    test_mode=False,
    roundtrip=True,
    name="dropin_s13_bot",
) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        bot = Path(tmp) / f"{name}.py"
        bot.write_text(source)
        spec = Path(tmp) / "spec.json"
        spec.write_text(
            json.dumps(
                dict(
                    bot=str(bot),
                    module=name,
                    messages=messages,
                    config=config or {},
                    test_mode=test_mode,
                    roundtrip=roundtrip,
                )
            )
        )
        env = dict(os.environ, TIKTOKEN_CACHE_DIR=str(TIKTOKEN), OPENAI_API_KEY="sk-fake")
        env.pop("PYTHONPATH", None)
        if original:
            python = str(REF_VENV)
            env["PYTHONPATH"] = str(REF_TREE)
        else:
            python = sys.executable
        proc = subprocess.run(
            [python, str(HERE / "runner.py"), str(spec)],
            env=env,
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if "@@RESULT@@" not in proc.stdout:
            raise RuntimeError(proc.stderr[-3000:])
        return json.loads(proc.stdout.split("@@RESULT@@", 1)[1])

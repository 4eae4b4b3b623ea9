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
    drive="reply",
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
                    drive=drive,
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


def text_of(content) -> str:
    if isinstance(content, list):  # AutoGRAMS' form: [{"type": "text", "text": ...}]
        return "".join(part.get("text", "") for part in content)
    return content


def normal_request(record: dict) -> dict:
    """A request body with AutoGRAMS' listed differences taken out (content parts, stream)."""
    body = json.loads(json.dumps(record["body"]))
    body.pop("stream", None)
    for message in body.get("messages", []):
        message["content"] = text_of(message["content"])
    return body


def normal_entry(entry: dict, keys) -> dict:
    """A model_turns entry on AutoGRAMS' keys, without function_inputs (README: a summary)."""
    entry = {k: v for k, v in entry.items() if k in keys and k != "function_inputs"}
    if isinstance(entry.get("code_position"), dict):
        entry["code_position"] = {
            k: v for k, v in entry["code_position"].items() if k != "file_name"
        }
    return entry


def digest(result: dict, keys_per_entry=None) -> dict:
    """What a run gave, comparable across the two libraries."""
    entries = result.get("model_turns", [])
    keys_per_entry = keys_per_entry or [sorted(e) for e in entries]
    return {
        "errors": result["errors"],
        "replies": result["replies"],
        "collected": result["collected"],
        "full_history": result.get("full_history"),
        "requests": [normal_request(r) for r in result["requests"]],
        "model_turns": [normal_entry(e, k) for e, k in zip(entries, keys_per_entry, strict=False)],
        "entry_keys": keys_per_entry,
        "n_entries": len(entries),
    }

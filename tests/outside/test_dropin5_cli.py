"""Issue 16, item 4: run_autogram.py's flags with `autograms run`, as the original README writes
them, against a recording fake OpenAI-compatible server (no network)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.outside.dropin5_support import FakeOpenAI

BOT = """
from autograms import autograms_function
from autograms.functional import reply, reply_instruction, get_single_embedding

@autograms_function()
def chatbot():
    reply("hello, say something")
    reply_instruction("answer")
    vector = get_single_embedding("q:1,2,3")
    reply(f"dim {len(vector)}")
"""

# AutoGRAMS 0.6.0's own api_keys.json, as its README tells users to pass it
ORIGINAL_API_KEYS = {"load_from_env": True, "openai": "OPENAI_API_KEY"}


def _run(tmp_path, args, messages=("hi", "there"), env_extra=None, drop=("OPENAI_API_KEY",)):
    bot = tmp_path / "mybot.py"
    bot.write_text(BOT)
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("AUTOGRAMS_")}
    env["HOME"] = str(tmp_path)
    env.update(env_extra or {})
    stdin = "".join(m + "\n" for m in messages) + "/exit\n"
    return subprocess.run(
        [sys.executable, "-m", "autograms", "run", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )


def test_run_autogram_proxy_flags_send_model_and_embeddings_to_the_given_ports(tmp_path):
    with FakeOpenAI() as fake:
        proc = _run(
            tmp_path,
            [
                "--autogram_file",
                "mybot.py",
                "--model_type",
                "proxy",
                "--proxy_port",
                str(fake.port),
                "--model_name",
                "llama-3.2-1b-instruct:q4_k_m",
                "--embedding_model_name",
                "text-embedding-ada-002",
                "--embedding_model_type",
                "proxy",
                "--embedding_proxy_port",
                str(fake.port),
                "--no-save",
            ],
        )
        requests = list(fake.requests)
    assert proc.returncode == 0, proc.stderr
    assert "fake answer" in proc.stdout and "dim 3" in proc.stdout, proc.stdout
    assert [(p, body["model"]) for p, body, _ in requests] == [
        ("/v1/chat/completions", "llama-3.2-1b-instruct:q4_k_m"),
        ("/v1/embeddings", "text-embedding-ada-002"),
    ]


def test_api_key_file_with_load_from_env_sends_the_key_from_the_environment(tmp_path):
    keys = tmp_path / "api_keys.json"
    keys.write_text(json.dumps(ORIGINAL_API_KEYS))
    with FakeOpenAI() as fake:
        proc = _run(
            tmp_path,
            ["mybot.py", "--api_key_file", str(keys), "--base-url", fake.url, "--no-save"],
            messages=("hi",),
            env_extra={"OPENAI_API_KEY": "sk-from-env"},
            drop=(),
        )
        auth = [headers.get("authorization") for _, _, headers in fake.requests]
    assert proc.returncode == 0, proc.stderr
    assert auth and auth[0] == "Bearer sk-from-env", auth


def test_api_keys_with_load_from_env_in_python_send_the_key_from_the_environment(monkeypatch):
    from autograms import Autogram, AutogramConfig

    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    with FakeOpenAI() as fake:
        autogram = Autogram(
            root_function=_key_bot,
            autogram_config=AutogramConfig(
                base_url=fake.url, chatbot_type="openai", request_timeout=10
            ),
            api_keys=dict(ORIGINAL_API_KEYS),
        )
        _, memory = autogram.reply()
        text, _ = autogram.reply("x", memory_object=memory)
        auth = [headers.get("authorization") for _, _, headers in fake.requests]
    assert text == "fake answer"
    assert auth == ["Bearer sk-from-env"]


from autograms import autograms_function as _af  # noqa: E402
from autograms.functional import reply as _reply, reply_instruction as _reply_instruction  # noqa: E402


@_af()
def _key_bot():
    _reply("hi")
    _reply_instruction("answer")


def test_naming_two_bots_with_the_positional_and_example_name_is_refused(tmp_path):
    proc = _run(
        tmp_path, ["simple_example", "--example_name", "recruiter", "--test-mode", "--no-save"]
    )
    assert proc.returncode != 0
    assert (
        "simple_example" in proc.stderr + proc.stdout and "recruiter" in proc.stderr + proc.stdout
    )


@pytest.mark.parametrize(
    "flags",
    [
        ["--session", "one.session", "--saveload_file", "two.session"],
        ["--model", "model-a", "--model_name", "model-b"],
    ],
    ids=["session", "model"],
)
def test_conflicting_values_for_a_flag_and_its_autograms_alias_are_refused(tmp_path, flags):
    with FakeOpenAI() as fake:
        proc = _run(tmp_path, ["mybot.py", "--base-url", fake.url, *flags], messages=("hi",))
    assert proc.returncode != 0, (proc.stdout, proc.stderr)
    assert flags[1] in proc.stderr and flags[3] in proc.stderr, proc.stderr

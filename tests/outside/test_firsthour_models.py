"""A newcomer's first hour against a model server that misbehaves (a fake one on loopback)."""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

import pexpect
import pytest

from autograms import Autogram, AutogramConfig
from autograms import ModelCallError

from .firsthour_support import AUTOGRAMS, DECISIONS_BOT, FakeServer, cli_env


@pytest.fixture
def bot(tmp_path, monkeypatch):
    name = f"fh_decisions_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(DECISIONS_BOT)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(name)
    yield module
    sys.modules.pop(name, None)


@pytest.fixture
def server(request):
    fake = FakeServer(request.param)
    yield fake
    fake.close()


def autogram_on(module, fake, timeout=2):
    config = AutogramConfig(
        chatbot_type="proxy", base_url=fake.url, chatbot_path="m", request_timeout=timeout
    )
    return Autogram(root_function=module.chatbot, autogram_config=config)


@pytest.mark.parametrize("server", ["400schema"], indirect=True)
def test_json_schema_refused_with_400_is_sent_once_for_three_decisions(bot, server):
    autogram = autogram_on(bot, server)
    _, memory = autogram.reply()
    text, _ = autogram.reply("hi", memory_object=memory)
    assert text == "True True True"
    assert server.forms() == ["json_schema", "json_object", "json_object", "json_object"]


@pytest.mark.parametrize("server", ["400schema"], indirect=True)
def test_json_schema_refusal_is_remembered_by_a_second_autogram_on_the_same_server(bot, server):
    first = autogram_on(bot, server)
    _, memory = first.reply()
    first.reply("hi", memory_object=memory)
    before = len(server.requests)
    second = autogram_on(bot, server)
    _, memory = second.reply()
    text, _ = second.reply("hi", memory_object=memory)
    assert text == "True True True"
    assert server.forms()[before:] == ["json_object"] * 3


@pytest.mark.parametrize("server", ["500"], indirect=True)
def test_server_answering_500_is_retried_then_the_turn_can_be_sent_again(bot, server):
    autogram = autogram_on(bot, server)
    _, memory = autogram.reply()
    started = time.monotonic()
    with pytest.raises(ModelCallError) as caught:
        autogram.reply("hi", memory_object=memory)
    assert time.monotonic() - started < 9
    assert server.url in str(caught.value) and "500" in str(caught.value)
    assert 2 <= len(server.requests) <= 3
    server.mode = "ok"
    text, _ = autogram.reply("hi", memory_object=memory)
    assert text == "True True True"


@pytest.mark.filterwarnings("ignore:This process:DeprecationWarning")
@pytest.mark.parametrize("server", ["hang"], indirect=True)
def test_ctrl_c_during_a_model_wait_drops_the_turn_and_keeps_the_session(tmp_path, bot, server):
    (tmp_path / "home").mkdir()
    child = pexpect.spawn(
        AUTOGRAMS,
        ["run", f"{bot.__name__}.py", "--base-url", server.url, "--model", "m"]
        + ["--timeout", "60", "--session", "c.txt"],
        cwd=str(tmp_path),
        env=cli_env(tmp_path / "home"),
        encoding="utf-8",
        timeout=30,
    )
    try:
        child.expect("User: ")
        assert "hello" in child.before
        child.sendline("hi")
        child.expect(r"waiting for m at 127\.0\.0\.1:\d+: \d+ s; Ctrl-C cancels")
        # the line shows after a second of the turn; on a loaded machine the request itself
        # may still be on its way (the client library loading): cancel once it has arrived
        deadline = time.monotonic() + 30
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        child.sendintr()
        child.expect("cancelled")
        child.expect("User: ")
        assert len(server.requests) == 1
        child.sendline("/state")
        child.expect("User: ")
        assert "chatbot (" in child.before and ":7)" in child.before
        child.sendeof()
        child.expect(pexpect.EOF, timeout=5)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert (tmp_path / "c.txt").exists()


@pytest.mark.filterwarnings("ignore:This process:DeprecationWarning")
@pytest.mark.parametrize("server", ["400schema"], indirect=True)
def test_refused_output_form_notice_stays_out_of_the_conversation(tmp_path, bot, server):
    (tmp_path / "home").mkdir()
    child = pexpect.spawn(
        AUTOGRAMS,
        ["run", f"{bot.__name__}.py", "--base-url", server.url, "--model", "m"]
        + ["--timeout", "5", "--no-save"],
        cwd=str(tmp_path),
        env=cli_env(tmp_path / "home"),
        encoding="utf-8",
        timeout=30,
    )
    try:
        child.expect("User: ")
        child.sendline("hi")
        child.expect("User: ")
        shown = child.before
        child.sendeof()
        child.expect(pexpect.EOF, timeout=5)
    finally:
        child.close(force=True)
    assert "Agent: True True True" in shown
    lines = [line for line in shown.replace("\r", "\n").split("\n") if line.strip()]
    assert not any("rejected" in line and not line.startswith("(") for line in lines), shown
    assert len(server.requests) == 4


def readme_text():
    return (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_readme_shows_how_an_autogram_config_reaches_an_autogram():
    assert "autogram_config=" in readme_text()


def test_readme_names_the_exception_a_failed_model_call_raises():
    assert "ModelCallError" in readme_text()


@pytest.mark.parametrize("server", ["400schema"], indirect=True)
def test_refused_form_notice_goes_to_stderr_only_with_v_never_to_the_conversation(
    tmp_path, bot, server
):
    import subprocess

    (tmp_path / "home").mkdir()
    outputs = []
    for verbose in ([], ["-v"]):
        done = subprocess.run(
            [AUTOGRAMS, "run", f"{bot.__name__}.py", "--base-url", server.url, "--model", "m"]
            + ["--timeout", "5", "--session", "n.txt", "--new", *verbose],
            cwd=tmp_path,
            env=cli_env(tmp_path / "home"),
            input=b"hi\n",
            capture_output=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        assert b"True True True" in done.stdout
        assert b"rejected" not in done.stdout
        outputs.append(done.stderr)
    assert b"rejected" not in outputs[0]
    assert b"rejected structured output form json_schema" in outputs[1]

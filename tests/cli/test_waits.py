"""Waiting on a model in ``autograms run``: the wait is shown with its elapsed time, Ctrl-C
cancels it (the turn dropped, the conversation kept), requests time out after a short,
configurable time, and the library's notices stay out of the conversation."""

from __future__ import annotations

import io
import json
import logging
import time

import pytest

from autograms.cli import run as run_command
from autograms.cli._waiting import WaitIndicator, notices_on
from tests.fakes.openai_server import FakeOpenAIServer, Reply

from .conftest import bot_path

pytestmark = pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded, use of forkpty:DeprecationWarning"
)

QUESTION = bot_path("question_bot")
YES = '{"answer": "Yes"}'


def finish(child) -> int:  # noqa: ANN001 - a pexpect.spawn
    import pexpect

    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def test_a_slow_model_shows_the_wait_and_ctrl_c_cancels_it(spawn, tmp_path):
    session = tmp_path / "chat.session"
    with FakeOpenAIServer("localai") as server:
        # the first decision hangs (longer than the test waits), the next ones answer at once
        server.script(Reply(YES, delay=25), YES, "Because it is.")
        child = spawn("run", QUESTION, "--base-url", server.base_url, "--session", str(session))
        child.expect_exact("Agent: Ask me anything.")
        child.expect_exact("User: ")
        child.sendline("why?")
        child.expect(r"\(waiting for gpt-4o at 127\.0\.0\.1:\d+: [1-9] s; Ctrl-C cancels\)")
        deadline = time.monotonic() + 60
        while not server.chat_requests():  # the client may still be starting on a busy machine
            assert time.monotonic() < deadline, "the request never reached the server"
            time.sleep(0.05)
        child.sendintr()
        child.expect_exact("(cancelled: the turn was dropped and the conversation is as it was")
        child.expect_exact("User: ")
        child.sendline("why?")
        child.expect_exact("Agent: Because it is.")
        child.expect_exact("User: ")
        child.sendline("/exit")
        assert finish(child) == 0
    # the cancelled turn left no trace in the saved conversation
    log = [json.loads(line) for line in (tmp_path / "chat.session.log").read_text().splitlines()]
    assert [e["user_reply"] for e in log if e.get("entry_type") == "user_reply"] == ["", "why?"]


def test_an_unanswered_request_times_out_after_a_short_configurable_time(autograms, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"classifier_max_tries": 1}))
    with FakeOpenAIServer("localai") as server:
        server.script(Reply(YES, delay=20))
        result = autograms(
            "run",
            QUESTION,
            "--base-url",
            server.base_url,
            "--config",
            str(config),
            "--timeout",
            "1",
            input="why?\n/exit\n",
        )
    assert result.returncode == 0, result.stderr
    assert "(the model call failed: ModelCallError: classifier call to http://127.0.0.1:" in (
        result.stdout
    )
    assert "failed after 1 attempt(s): timed out after 1.0 s" in result.stdout


def test_interactive_timeouts_are_short_unless_configured():
    timeout = run_command.interactive_timeout
    default = run_command.AutogramConfig().request_timeout
    assert timeout(default, None, local=False) == run_command.REMOTE_TIMEOUT == 30
    assert timeout(default, None, local=True) == run_command.LOCAL_TIMEOUT
    assert timeout(default, 5.0, local=True) == 5.0  # --timeout wins
    assert timeout(300.0, None, local=False) == 300.0  # so does a configured value
    assert timeout(None, None, local=False) is None  # "no limit" stays no limit


@pytest.mark.parametrize("verbose", [False, True])
def test_library_notices_stay_out_of_the_conversation(autograms, verbose):
    with FakeOpenAIServer("llamacpp") as server:  # refuses json_schema with an HTTP 500
        argv = ["run", QUESTION, "--base-url", server.base_url] + (["-v"] if verbose else [])
        result = autograms(*argv, input="why?\nwhy not?\n/exit\n")
        kinds = [(body.get("response_format") or {}).get("type") for body in server.chat_requests()]
    assert result.returncode == 0, result.stderr
    assert "rejected" not in result.stdout
    notice = "rejected structured output form json_schema for model gpt-4o (HTTP 500)"
    assert (notice in result.stderr) is verbose
    # the refused form was sent once; every later decision used the accepted one
    assert kinds.count("json_schema") == 1
    assert kinds.count("json_object") == 2


def test_the_wait_line_shows_elapsed_time_what_is_awaited_and_the_latest_notice():
    indicator = WaitIndicator(io.StringIO())
    with indicator.waiting("working"), indicator.waiting("waiting for the local model"):
        with notices_on(indicator):
            logging.getLogger("autograms").warning("retrying in  5 s\n(attempt 2 of 3)")
        assert indicator.line(12.7) == (
            "(waiting for the local model: 12 s; retrying in 5 s (attempt 2 of 3); Ctrl-C cancels)"
        )
    assert indicator.line(1) == "(working: 1 s; Ctrl-C cancels)"


def test_nothing_is_drawn_when_the_stream_is_not_a_terminal():
    stream = io.StringIO()
    indicator = WaitIndicator(stream, delay=0, interval=0.01)
    with indicator.waiting("working"):
        pass
    assert stream.getvalue() == ""

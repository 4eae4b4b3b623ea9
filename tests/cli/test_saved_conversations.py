"""In a terminal, ``autograms run`` saves each bot's conversation without being asked, says on
exit how to go on, and offers to continue it the next time; a saved conversation that no
longer fits the bot is set aside, not lost; without a terminal nothing is saved unasked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from autograms.cli._bots import find_bot
from autograms.cli._sessions import continue_command, default_session_path

from .conftest import bot_path

pytestmark = pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded, use of forkpty:DeprecationWarning"
)

ECHO = bot_path("echo_bot")


def finish(child) -> int:  # noqa: ANN001 - a pexpect.spawn
    import pexpect

    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def saved_file(env: dict[str, str], bot: str = ECHO) -> Path:
    """Where the bot's conversation is saved under the test's cache folder."""
    folder = Path(env["XDG_CACHE_HOME"]) / "autograms" / "sessions"
    (path,) = folder.glob(f"{Path(bot).stem}-*.session")
    return path


def chat_and_exit(spawn, *messages: str, answer: str | None = None):  # noqa: ANN001, ANN201
    child = spawn("run", ECHO, "--test-mode")
    if answer is not None:
        child.expect_exact("continue it? [Y/n] ")
        child.sendline(answer)
    for message in messages:
        child.expect_exact("User: ")
        child.sendline(message)
    child.expect_exact("User: ")
    child.sendline("/exit")
    return child


def test_the_conversation_is_saved_and_the_next_run_offers_to_continue_it(spawn, cli_env):
    first = chat_and_exit(spawn, "ada", "one")
    first.expect(r"\(conversation saved in (\S+\.session); to continue it: (.+) run (\S+)\)")
    path, command, bot = first.match.group(1), first.match.group(2), first.match.group(3)
    assert finish(first) == 0
    assert Path(path) == saved_file(cli_env)
    assert bot == ECHO
    # the command is this installation's: `autograms` on PATH, or the script's path
    assert command.endswith("autograms")

    second = spawn("run", ECHO, "--test-mode")
    second.expect(r"\(a conversation with echo_bot was saved today at \d\d:\d\d\)")
    second.expect_exact("continue it? [Y/n] ")
    second.sendline("")  # the default is yes
    second.expect_exact(f"(continuing the session saved in {path})")
    second.expect_exact("Agent: echo 1 for Ada: one")
    second.expect_exact("User: ")
    second.sendline("two")
    second.expect_exact("Agent: echo 2 for Ada: two")
    second.expect_exact("User: ")
    second.sendline("/exit")
    assert finish(second) == 0

    third = spawn("run", ECHO, "--test-mode")
    third.expect_exact("continue it? [Y/n] ")
    third.sendline("n")
    third.expect_exact("Agent: Hello! What is your name?")  # a new conversation
    third.expect_exact("User: ")
    third.sendline("/exit")
    assert finish(third) == 0

    fourth = spawn("run", ECHO, "--test-mode", "--new")  # no question
    fourth.expect_exact("Agent: Hello! What is your name?")
    fourth.expect_exact("User: ")
    fourth.sendline("/exit")
    assert finish(fourth) == 0


def test_a_saved_conversation_that_no_longer_fits_is_set_aside(spawn, cli_env):
    assert finish(chat_and_exit(spawn, "ada")) == 0
    path = saved_file(cli_env)
    path.write_text("not a session\n")
    child = spawn("run", ECHO, "--test-mode")
    child.expect_exact("continue it? [Y/n] ")
    child.sendline("y")
    child.expect(r"session '.*' refused \([^)]*\).*; it was moved to (\S+), and a new")
    old = Path(child.match.group(1))
    child.expect_exact("Agent: Hello! What is your name?")
    child.expect_exact("User: ")
    child.sendline("/exit")
    assert finish(child) == 0
    assert old.read_text() == "not a session\n"
    assert path.read_text().startswith("ag")  # a new session was saved in its place


def test_no_save_saves_nothing(spawn, cli_env):
    child = spawn("run", ECHO, "--test-mode", "--no-save")
    child.expect_exact("User: ")
    child.sendline("ada")
    child.expect_exact("User: ")
    child.sendline("/exit")
    assert finish(child) == 0
    assert "conversation saved" not in child.before
    assert not (Path(cli_env["XDG_CACHE_HOME"]) / "autograms" / "sessions").exists()


def test_without_a_terminal_nothing_is_saved_unasked(autograms, cli_env):
    result = autograms("run", ECHO, "--test-mode", input="ada\none\n/exit\n")
    assert result.returncode == 0, result.stderr
    assert "echo 1 for Ada: one" in result.stdout
    assert "continue it?" not in result.stdout
    assert not (Path(cli_env["XDG_CACHE_HOME"]) / "autograms" / "sessions").exists()


def test_each_bot_file_and_example_has_its_own_saved_conversation(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    one, two = tmp_path / "a" / "bot.py", tmp_path / "b" / "bot.py"
    for path in (one, two):
        path.parent.mkdir()
        path.write_text("")
    first, second = (
        default_session_path(find_bot(str(one))),
        default_session_path(find_bot(str(two))),
    )
    assert first != second and first.parent == second.parent == tmp_path / "autograms" / "sessions"
    assert re.fullmatch(r"bot-[0-9a-f]{8}\.session", first.name)
    assert default_session_path(find_bot("recruiter")).name == "recruiter.session"


def test_continue_command_names_the_session_file_only_when_it_was_chosen(tmp_path):
    from autograms.cli._sessions import SessionPlan

    own = SessionPlan(tmp_path / "x.session", resume=False, default=True)
    chosen = SessionPlan(tmp_path / "my chat.session", resume=False, default=False)
    assert continue_command("recruiter", own).endswith(" run recruiter")
    assert continue_command("my bot.py", chosen).endswith(
        f" run 'my bot.py' --session '{tmp_path / 'my chat.session'}'"
    )

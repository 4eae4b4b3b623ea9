"""A newcomer's first hour with `autograms run|visualize|debug` on a bot file of their own."""

from __future__ import annotations

import subprocess

import pytest

from .firsthour_support import AUTOGRAMS, NAME_BOT, cli_env, python_in


def run_cli(args, folder, home, stdin="", timeout=20):
    return subprocess.run(
        [AUTOGRAMS, *args],
        cwd=folder,
        env=cli_env(home),
        input=stdin,
        capture_output=True,
        timeout=timeout,
    )


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "home").mkdir()
    (tmp_path / "mybot.py").write_text(NAME_BOT)
    return tmp_path


def test_session_saved_by_cli_continues_after_import_mybot(folder):
    home = folder / "home"
    done = run_cli(["run", "mybot.py", "--test-mode", "--session", "s.txt"], folder, home, b"Ada\n")
    assert done.returncode == 0, done.stderr
    code = (
        "from autograms import Autogram\nimport mybot\n"
        "a = Autogram(root_function=mybot.chatbot, test_mode=True)\n"
        "m = a.load('s.txt')\nt, m = a.reply('7', memory_object=m)\nprint(repr(t))\n"
    )
    out = python_in(folder, code, home)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "'got 7'"


def test_session_saved_by_python_api_continues_in_cli(folder):
    home = folder / "home"
    code = (
        "from autograms import Autogram\nimport mybot\n"
        "a = Autogram(root_function=mybot.chatbot, test_mode=True)\n"
        "t, m = a.reply()\nt, m = a.reply('Bob', memory_object=m)\na.save('p.txt', m)\n"
    )
    out = python_in(folder, code, home)
    assert out.returncode == 0, out.stderr
    done = run_cli(["run", "mybot.py", "--test-mode", "--session", "p.txt"], folder, home, b"9\n")
    assert done.returncode == 0, done.stderr
    assert b"got 9" in done.stdout


def test_bot_in_a_package_session_moves_between_cli_and_import(folder):
    home = folder / "home"
    (folder / "pkg").mkdir()
    (folder / "pkg" / "__init__.py").write_text("")
    (folder / "pkg" / "inner.py").write_text(NAME_BOT)
    done = run_cli(
        ["run", "pkg/inner.py", "--test-mode", "--session", "s.txt"], folder, home, b"Ada\n"
    )
    assert done.returncode == 0, done.stderr
    code = (
        "from autograms import Autogram\nfrom pkg import inner\n"
        "a = Autogram(root_function=inner.chatbot, test_mode=True)\n"
        "m = a.load('s.txt')\nt, m = a.reply('7', memory_object=m)\nprint(repr(t))\n"
    )
    out = python_in(folder, code, home)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "'got 7'"


def test_bot_that_raises_keeps_the_session_and_the_chat_goes_on(folder):
    home = folder / "home"
    run_cli(["run", "mybot.py", "--test-mode", "--session", "s.txt"], folder, home, b"Ada\n")
    done = run_cli(
        ["run", "mybot.py", "--test-mode", "--session", "s.txt"], folder, home, b"boom\n8\n/exit\n"
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    assert "ValueError: kaboom" in out
    assert "got 8" in out


@pytest.mark.parametrize("command", ["run", "debug"])
def test_bot_file_with_a_syntax_error_names_file_and_line_and_exits_1(folder, command):
    home = folder / "home"
    (folder / "bad.py").write_text("def chatbot(:\n    pass\n")
    args = [command, "bad.py", "--test-mode"] if command == "run" else [command, "bad.py"]
    done = run_cli(args, folder, home)
    assert done.returncode == 1
    err = done.stderr.decode()
    assert "SyntaxError" in err and "bad.py, line 1" in err


def test_visualize_of_a_bot_with_a_syntax_error_exits_2_naming_the_line(folder):
    (folder / "bad.py").write_text("def chatbot(:\n    pass\n")
    done = run_cli(["visualize", "bad.py", "--out", "g"], folder, folder / "home")
    assert done.returncode == 2
    assert b"bad.py" in done.stderr and b"line 1" in done.stderr


def test_non_utf8_user_input_does_not_crash_the_chat(folder):
    done = run_cli(
        ["run", "mybot.py", "--test-mode", "--no-save"],
        folder,
        folder / "home",
        b"A\xff\xfeda\n\xc3\n/exit\n",
    )
    assert done.returncode == 0, done.stderr
    assert b"got " in done.stdout


@pytest.mark.parametrize("name", ["my-bot.py", "bot \u00e9.py", "1bot.py"])
def test_bot_files_with_odd_names_run_and_resume(folder, name):
    home = folder / "home"
    (folder / name).write_text(NAME_BOT)
    first = run_cli(["run", name, "--test-mode", "--session", "o.txt"], folder, home, b"Ada\n")
    assert first.returncode == 0, first.stderr
    second = run_cli(["run", name, "--test-mode", "--session", "o.txt"], folder, home, b"5\n")
    assert second.returncode == 0, second.stderr
    assert b"got 5" in second.stdout


def test_two_runs_on_one_session_file_never_silently_drop_a_saved_turn(folder):
    import pexpect

    env = cli_env(folder / "home")
    args = ["run", "mybot.py", "--test-mode", "--session", "cc.txt"]
    first = pexpect.spawn(AUTOGRAMS, args, cwd=str(folder), env=env, encoding="utf-8", timeout=30)
    second = None
    try:
        first.expect("User: ")
        first.sendline("Ada")
        first.expect("User: ")
        second = pexpect.spawn(
            AUTOGRAMS, args, cwd=str(folder), env=env, encoding="utf-8", timeout=30
        )
        second.expect("User: ")
        first.sendline("1")
        first.expect("User: ")
        assert "got 1" in first.before
        second.sendline("2")
        second.expect("User: ")
        refused = "got 2" not in second.before
        for child in (first, second):
            child.sendline("/exit")
            child.expect(pexpect.EOF)
    finally:
        first.close(force=True)
        if second is not None:
            second.close(force=True)
    code = (
        "from autograms import Autogram\nimport mybot\n"
        "a = Autogram(root_function=mybot.chatbot, test_mode=True)\n"
        "print(a.load('cc.txt').extract_full_conv_history())\n"
    )
    out = python_in(folder, code, folder / "home")
    assert out.returncode == 0, out.stderr
    assert refused or "got 1" in out.stdout, out.stdout


def test_terminal_run_saves_offers_to_continue_and_state_shows_the_edited_line(folder):
    import pexpect

    env = cli_env(folder / "home")
    args = ["run", "mybot.py", "--test-mode"]
    child = pexpect.spawn(AUTOGRAMS, args, cwd=str(folder), env=env, encoding="utf-8", timeout=30)
    try:
        child.expect("User: ")
        child.sendline("Ada")
        child.expect("User: ")
        child.sendintr()  # Ctrl-C at the prompt leaves
        child.expect(pexpect.EOF)
        assert "to continue it: autograms run mybot.py" in child.before
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    saved = list((folder / "home" / ".cache" / "autograms" / "sessions").glob("mybot*.session"))
    assert len(saved) == 1
    (folder / "mybot.py").write_text("# one\n# two\n" + NAME_BOT)
    child = pexpect.spawn(AUTOGRAMS, args, cwd=str(folder), env=env, encoding="utf-8", timeout=30)
    try:
        child.expect(r"continue it.*\? ")
        child.sendline("y")
        child.expect("User: ")
        assert "Hello Ada. Number?" in child.before
        child.sendline("/state")
        child.expect("User: ")
        assert "mybot.py:10)" in child.before and "'num'" in child.before
        child.sendline("/exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


def test_debug_finds_the_raise_behind_a_string_the_bot_compares_with_and_replays_it(folder):
    done = run_cli(["debug", "mybot.py", "--runs", "5", "--turns", "4"], folder, folder / "home")
    assert done.returncode == 1
    out = done.stdout.decode() + done.stderr.decode()
    assert "ValueError: kaboom" in out and "user message: 'boom'" in out
    assert "1 of 1 labels reached" in out
    replay = out.split("replay: ", 1)[1].split("\n", 1)[0].split()
    assert replay[:2] == ["autograms", "debug"]
    again = run_cli(replay[1:], folder, folder / "home")
    assert again.returncode == 1
    assert b"ValueError: kaboom" in again.stdout + again.stderr


def test_readme_first_program_runs_as_written(tmp_path):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "first.py").write_text(block + "\nprint(repr(text))\n")
    out = python_in(tmp_path, "import runpy; runpy.run_path('first.py')", tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() not in ("", "None"), out.stdout

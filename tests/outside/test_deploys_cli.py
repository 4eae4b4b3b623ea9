"""Outside tests of issue 15: `autograms sessions check|upgrade` on a SQLite store, following the
README's deploy workflow literally (deploy.sh), and the command's exit statuses."""

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

AUTOGRAMS = str(Path(sys.executable).with_name("autograms"))
TIMEOUT = 120

OLD = """
from autograms import autograms_function
from autograms.functional import reply

@autograms_function()
def chatbot():
    name = reply("Hi! What is your name?", ADDRESS="greeting")
    salary = reply("What salary do you expect?", ADDRESS="ask_salary")
    start = reply("When could you start?")
    return reply(f"Thanks {name}: {salary}, from {start}.", ADDRESS="outcome")
"""

# the deploy: ask_salary renamed to ask_expectations, a line added above the unlabelled pause
NEW = """
from autograms import autograms_function
from autograms.functional import reply

@autograms_function()
def chatbot():
    name = reply("Hi! What is your name?", ADDRESS="greeting")
    salary = reply("What are your expectations?", ADDRESS="ask_expectations")
    salary = salary.strip()
    start = reply("When could you start?")
    return reply(f"Thanks {name}: {salary}, from {start}.", ADDRESS="outcome")
"""

MAKE = """
import sys
import mybot
from autograms import Autogram
from autograms.stores import Sessions, TurnRunner, open_store

autogram = Autogram(root_function=mybot.chatbot, test_mode=True)
store = open_store("sqlite:///sessions.db")
sessions, runner = Sessions(autogram, store), TurnRunner(autogram, store)
messages = ["hello", "Ada", "90k", "May"]
for n in range(5):  # idle, at greeting, at ask_salary, at the unlabelled pause, at outcome
    session = sessions.create(owner="team-a")
    for i, message in enumerate(messages[:n]):
        runner.run_turn(session.id, message, idempotency_key=f"m{i}")
    print(session.id)
"""

CONTINUE = """
import sys
import mybot
from autograms import Autogram
from autograms.stores import TurnRunner, open_store

autogram = Autogram(root_function=mybot.chatbot, test_mode=True)
runner = TurnRunner(autogram, open_store("sqlite:///sessions.db"))
for session_id in sys.argv[1:]:
    result = runner.run_turn(session_id, "next", idempotency_key="after-deploy")
    print(repr(result.reply))
"""

DEPLOY = """
# deploy.sh, with the new code checked out and installed
if ! autograms sessions check mybot.py --store "$SESSIONS_URL"; then
    # choose per deploy: keep the refused ones for the old workers (the report names them), or
    autograms sessions upgrade mybot.py --store "$SESSIONS_URL" \\
        --map ask_salary=ask_expectations --restart
fi
"""


def run(args, cwd, **kwargs):
    env = dict(os.environ)
    env.pop("AUTOGRAMS_SESSION_KEY", None)
    env["PATH"] = str(Path(AUTOGRAMS).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(cwd)
    env["SESSIONS_URL"] = "sqlite:///sessions.db"
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, **kwargs
    )


@pytest.fixture
def deployed(tmp_path):
    """A folder with mybot.py (the old code) and sessions.db holding 5 sessions of it."""
    (tmp_path / "mybot.py").write_text(textwrap.dedent(OLD))
    made = run([sys.executable, "-c", MAKE], tmp_path)
    assert made.returncode == 0, made.stderr
    ids = made.stdout.split()
    assert len(ids) == 5
    (tmp_path / "mybot.py").write_text(textwrap.dedent(NEW))
    return tmp_path, ids


def rows(db):
    with sqlite3.connect(db) as connection:
        tables = [
            name
            for (name,) in connection.execute(
                "select name from sqlite_master where type='table' order by name"
            )
        ]
        return {
            table: sorted(map(repr, connection.execute(f"select * from {table}")))
            for table in tables
        }


def test_readme_deploy_script_leaves_every_session_resumable(deployed):
    folder, ids = deployed
    (folder / "deploy.sh").write_text(DEPLOY)
    deploy = run(["bash", "-e", "deploy.sh"], folder)
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    again = run(
        [AUTOGRAMS, "sessions", "check", "mybot.py", "--store", "sqlite:///sessions.db"], folder
    )
    assert again.returncode == 0, again.stdout + again.stderr
    resumed = run([sys.executable, "-c", CONTINUE, *ids], folder)
    assert resumed.returncode == 0, resumed.stderr
    replies = [eval(line) for line in resumed.stdout.splitlines()]  # noqa: S307 - our own repr()
    assert replies == [
        "Hi! What is your name?",  # idle: starts from the top
        "What are your expectations?",  # remapped at greeting
        "When could you start?",  # mapped from ask_salary to ask_expectations
        "Hi! What is your name?",  # the unlabelled pause: restarted
        None,  # remapped at outcome: the program returns
    ]


def test_check_with_map_and_restart_changes_nothing_in_the_store(deployed):
    folder, ids = deployed
    before = rows(folder / "sessions.db")
    check = run(
        [AUTOGRAMS, "sessions", "check", "mybot.py", "--store", "sqlite:///sessions.db",
         "--map", "ask_salary=ask_expectations", "--restart"],
        folder,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert "refused" not in check.stdout
    assert rows(folder / "sessions.db") == before


def test_check_exits_1_and_names_the_refused_sessions(deployed):
    folder, ids = deployed
    check = run(
        [AUTOGRAMS, "sessions", "check", "mybot.py", "--store", "sqlite:///sessions.db"], folder
    )
    assert check.returncode == 1, check.stdout + check.stderr
    refused = [line for line in check.stdout.splitlines() if "refused:" in line]
    assert sorted(line.split()[0] for line in refused) == sorted([ids[2], ids[3]])


def test_a_bot_file_that_does_not_import_exits_2_not_1(tmp_path):
    (tmp_path / "sessions").mkdir()
    (tmp_path / "mybot.py").write_text("def chatbot(:\n")
    check = run([AUTOGRAMS, "sessions", "check", "mybot.py", "--folder", "sessions"], tmp_path)
    assert check.returncode == 2, (check.returncode, check.stderr)
    assert "Traceback" not in check.stderr


RACE_OLD = """
import os
import time

from autograms import autograms_function
from autograms.functional import reply

GATE = os.environ.get("OUTSIDE_GATE", "")


def gate():
    # holds the turn (the runner holds no database lock meanwhile) until the test says go
    if not GATE:
        return
    open(GATE + ".reached", "w").close()
    deadline = time.monotonic() + 30
    while not os.path.exists(GATE + ".go") and time.monotonic() < deadline:
        time.sleep(0.02)


@autograms_function()
def chatbot():
    name = reply("Hi! What is your name?", ADDRESS="greeting")
    start = reply("When could you start?")
    gate()
    where = reply("Where do you live?")
    return reply(f"Thanks {name}, from {start} in {where}.", ADDRESS="outcome")
"""

RACE_MAKE = """
import mybot
from autograms import Autogram
from autograms.stores import Sessions, TurnRunner, open_store

autogram = Autogram(root_function=mybot.chatbot, test_mode=True)
store = open_store("sqlite:///../sessions.db")
sessions, runner = Sessions(autogram, store), TurnRunner(autogram, store)
session = sessions.create(owner="o")
runner.run_turn(session.id, "hello", idempotency_key="m0")
runner.run_turn(session.id, "Ada", idempotency_key="m1")  # now at "When could you start?"
print(session.id)
"""

RACE_TURN = """
import sys
import mybot
from autograms import Autogram
from autograms.stores import TurnRunner, open_store

autogram = Autogram(root_function=mybot.chatbot, test_mode=True)
runner = TurnRunner(autogram, open_store("sqlite:///../sessions.db"))
print(repr(runner.run_turn(sys.argv[1], "May", idempotency_key="m2").reply))
"""


def test_an_upgrade_is_not_lost_to_a_turn_that_was_running_meanwhile(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    (old / "mybot.py").write_text(RACE_OLD)
    (new / "mybot.py").write_text(RACE_OLD.replace("When could you start?", "When can you start?"))
    made = run([sys.executable, "-c", RACE_MAKE], old)
    assert made.returncode == 0, made.stderr
    session_id = made.stdout.strip()
    store = ["--store", "sqlite:///../sessions.db"]
    gate = tmp_path / "gate"
    env = dict(os.environ, PYTHONPATH=str(old), OUTSIDE_GATE=str(gate))
    env.pop("AUTOGRAMS_SESSION_KEY", None)
    worker = subprocess.Popen(  # an old worker answers the session's next message
        [sys.executable, "-c", RACE_TURN, session_id],
        cwd=old, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not Path(str(gate) + ".reached").exists():
            assert worker.poll() is None, worker.communicate()
            assert time.monotonic() < deadline, "the worker never reached its turn"
            time.sleep(0.02)
        upgrade = run([AUTOGRAMS, "sessions", "upgrade", "mybot.py", *store, "--restart"], new)
        assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
        assert "1 restarted" in upgrade.stdout
    finally:
        Path(str(gate) + ".go").touch()
        out, err = worker.communicate(timeout=TIMEOUT)
    assert worker.returncode == 0, err
    check = run([AUTOGRAMS, "sessions", "check", "mybot.py", *store], new)
    assert check.returncode == 0, check.stdout

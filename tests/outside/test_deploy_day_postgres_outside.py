"""Outside tests (session 4): a deploy day on PostgreSQL. Workers running the old bot keep
answering while `autograms sessions upgrade` (new bot, --restart) rewrites the sessions it
refuses; one old worker is killed with SIGKILL in the middle; its client retries with the same
key on another process; then the new bot continues every session.

Checked afterwards over every session: each acknowledged message is in the history exactly
once, the killed worker's message too after its retry, and the new code answers every session.
A throwaway cluster started as the postgres user on a loopback port (s4_support).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.outside.s4_support import postgres_cluster

OLD = """
from autograms import autograms_function
from autograms.functional import reply

@autograms_function()
def ask_details():
    age = reply("How old?", ADDRESS="age")
    city = reply("City?", ADDRESS="city")
    return age + "/" + city

@autograms_function()
def chatbot():
    name = reply("Name?", ADDRESS="name")
    details = ask_details()
    return reply(f"{name} {details}", ADDRESS="done")
"""
# the deploy gives the pending call a label and changes the goodbye: sessions paused inside
# ask_details (below an unlabelled call) are refused by the new code, the others remap
NEW = OLD.replace("ask_details()\n", 'ask_details(ADDRESS="details")\n').replace(
    'f"{name} {details}"', 'f"v2 {name} {details}"'
)

WORKER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import s4_deploy_day_bot as bot
from autograms import Autogram
from autograms.stores import Sessions, TurnRunner, open_store
url, mode = sys.argv[2], sys.argv[3]
autogram = Autogram(root_function=bot.chatbot, test_mode=True)
store = open_store(url)
sessions, runner = Sessions(autogram, store), TurnRunner(autogram, store, lease_seconds=1)
if mode == "make":
    for n in range(8):
        sessions.create(f"c{n}", owner="o")
        for i in range(n % 4):
            runner.run_turn(f"c{n}", f"start{i}", idempotency_key=f"start{i}", owner="o")
elif mode == "traffic":
    out = open(sys.argv[4], "a", buffering=1)
    for i in range(5000):
        sid, key = f"c{i % 8}", f"t{i}"
        out.write(json.dumps(["try", sid, key]) + "\n")
        runner.run_turn(sid, key, idempotency_key=key, owner="o")
        out.write(json.dumps(["ack", sid, key]) + "\n")
elif mode == "retry":
    sid, key = sys.argv[4], sys.argv[5]
    print(runner.run_turn(sid, key, idempotency_key=key, owner="o").version)
elif mode == "report":
    print(json.dumps({f"c{n}": [m["content"] for m in sessions.get(f"c{n}", owner="o").history
                                if m["role"] == "user"] for n in range(8)}))
elif mode == "continue":
    print(json.dumps({f"c{n}": runner.run_turn(f"c{n}", "after", idempotency_key="after",
                                               owner="o").reply for n in range(8)}))
"""


@pytest.fixture(scope="module")
def cluster():
    try:
        with postgres_cluster() as url:
            yield url
    except RuntimeError as exc:  # no PostgreSQL binaries on this machine
        pytest.skip(f"no PostgreSQL cluster: {exc}")


def _database(cluster_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(cluster_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return cluster_url.rsplit("/", 1)[0] + "/" + name


def _worker(
    code_dir: Path, url: str, *args: str, timeout: float = 60
) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [sys.executable, str(code_dir.parent / "worker.py"), str(code_dir), url, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out


def test_upgrade_under_old_workers_and_a_killed_worker_loses_no_acknowledged_message(
    cluster, tmp_path
):
    url = _database(cluster, "deployday")
    old, new = tmp_path / "old", tmp_path / "new"
    for folder, code in ((old, OLD), (new, NEW)):
        folder.mkdir()
        (folder / "s4_deploy_day_bot.py").write_text(code)
    (tmp_path / "worker.py").write_text(WORKER)
    _worker(old, url, "make")

    journal = tmp_path / "traffic.jsonl"
    traffic = subprocess.Popen(
        [sys.executable, str(tmp_path / "worker.py"), str(old), url, "traffic", str(journal)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        time.sleep(1.5)
        for _attempt in range(3):  # a session whose turns kept committing is kept: run again
            upgrade = subprocess.run(
                [str(Path(sys.executable).parent / "autograms"), "sessions", "upgrade"]
                + [str(new / "s4_deploy_day_bot.py"), "--store", url, "--restart"],
                capture_output=True,
                text=True,
                timeout=60,
            )
            if upgrade.returncode == 0 or "run again" not in upgrade.stdout:
                break
        time.sleep(0.3)
        assert traffic.poll() is None, (
            "the old worker stopped early: " + traffic.stderr.read().decode()[-2000:]
        )
        os.kill(traffic.pid, signal.SIGKILL)  # mid-turn or between turns
    finally:
        if traffic.poll() is None:
            os.killpg(traffic.pid, signal.SIGKILL)
        traffic.wait(10)
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr

    lines = [json.loads(line) for line in journal.read_text().splitlines() if line.endswith("]")]
    acked = {(sid, key) for kind, sid, key in lines if kind == "ack"}
    tried = [(sid, key) for kind, sid, key in lines if kind == "try"]
    assert len(acked) >= 8
    last_sid, last_key = tried[-1]
    time.sleep(1.3)  # the killed worker's lease (1 s) runs out
    _worker(old, url, "retry", last_sid, last_key)  # its client retries with the same key
    acked.add((last_sid, last_key))

    users = json.loads(_worker(old, url, "report").stdout)
    for sid, key in acked:
        assert users[sid].count(key) == 1, (sid, key, users[sid])
    sent = {key for _, key in tried}
    for messages in users.values():  # nothing but what was sent, each once
        traffic_messages = [m for m in messages if m.startswith("t")]
        assert len(traffic_messages) == len(set(traffic_messages)) and set(traffic_messages) <= sent

    # the deploy finishes: old workers stopped, refused sessions restarted, new code answers all
    final = subprocess.run(
        [str(Path(sys.executable).parent / "autograms"), "sessions", "upgrade"]
        + [str(new / "s4_deploy_day_bot.py"), "--store", url, "--restart"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert final.returncode == 0, final.stdout + final.stderr
    replies = json.loads(_worker(new, url, "continue").stdout)
    assert set(replies) == {f"c{n}" for n in range(8)}

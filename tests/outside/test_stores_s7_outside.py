"""Outside tests of the session stores (issue 13), written from the README and docs/stores.md.

Worker processes of our own (tests/outside/s7b13_bots/s7b13worker.py) run a counting bot's
turns against SQLite and a throwaway PostgreSQL 15 cluster; we kill them with SIGKILL, kill the
postmaster, retry with the same keys, then check serving.md's invariants over every session
from the tables themselves. A failing behaviour is an xfail(strict=True) saying what is wrong.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.outside import s7b13_support as S

WORKER = S.BOT_DIR / "s7b13worker.py"


def _bot():
    import importlib

    if str(S.BOT_DIR) not in sys.path:
        sys.path.insert(0, str(S.BOT_DIR))
    return importlib.import_module("s7b13bot")


def autogram(key: str | None = None):
    from autograms import Autogram, AutogramConfig

    config = AutogramConfig(session_key=key) if key else AutogramConfig()
    return Autogram(root_function=_bot().chatbot, autogram_config=config, test_mode=True)


@pytest.fixture(scope="module")
def cluster():
    if not S.HAVE_PG:
        yield None
        return
    c = S.Cluster()
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path, cluster):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    if cluster is None:
        pytest.skip("PostgreSQL 15 is not installed")
    return cluster.new_db()


def start_sessions(url: str, n: int, key: str | None = None) -> list[str]:
    from autograms.stores import Sessions, TurnRunner, open_store

    ag = autogram(key)
    store = open_store(url)
    sessions, runner = Sessions(ag, store), TurnRunner(ag, store)
    ids = []
    for i in range(n):
        sid = f"s{i}"
        sessions.create(sid)
        assert runner.run_turn(sid, "", "k0").reply == "hello"
        ids.append(sid)
    return ids


def spawn(url: str, plan: list, out: Path, tmp: Path, name: str, **env: str):
    plan_path = tmp / f"{name}.json"
    plan_path.write_text(json.dumps(plan))
    return subprocess.Popen(
        [sys.executable, str(WORKER), url, str(plan_path), str(out)],
        env=S.env_for_children(**env),
        stdout=subprocess.DEVNULL,
        stderr=open(tmp / f"{name}.err", "a"),  # noqa: SIM115 - the child owns it
    )


def read_acks(paths: list[Path]) -> list[list]:
    acks = []
    for path in paths:
        if path.exists():
            for line in path.read_text().splitlines():
                with contextlib.suppress(json.JSONDecodeError):  # a line cut by SIGKILL
                    acks.append(json.loads(line))
    return acks


def finish_and_check(url: str, plan: list, acks: list[list]) -> None:
    """Run every planned message once more with its key, then check every invariant."""
    from autograms.stores import StoreUnavailableError, TurnInProgressError, TurnRunner, open_store

    runner = TurnRunner(autogram(), open_store(url), lease_seconds=2.0)
    final = []
    for sid, text, key in plan:
        for _ in range(100):
            try:
                res = runner.run_turn(sid, text, key)
            except (TurnInProgressError, StoreUnavailableError):
                time.sleep(0.2)
                continue
            final.append([sid, key, text, res.reply, res.replayed])
            break
        else:
            raise AssertionError(f"{sid} {key}: never ran")
    acked: dict[str, dict[str, tuple[str, str]]] = {}
    errors = [a for a in acks if a[3] is None]
    assert not errors, errors[:5]
    for sid, key, text, rep, _replayed in acks + final:
        seen = acked.setdefault(sid, {})
        if key in seen:
            assert seen[key] == (text, rep), f"{sid} {key}: {seen[key]} then {(text, rep)}"
        seen[key] = (text, rep)
    problems = S.check_store(url, acked)
    assert not problems, problems[:10]
    rows = S.sql(url, "SELECT COUNT(*) FROM autograms_turns")[0][0]
    assert rows == len({(s, k) for s, _t, k in plan}) + len(acked)  # + each session's k0


def make_plan(ids: list[str], n: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    return [[rng.choice(ids), f"m{i}", f"k{i}"] for i in range(1, n + 1)]


def test_kill9_workers_mid_load_then_retry_exactly_once(store_url, tmp_path):
    """3 workers x 40 messages over 8 sessions; workers SIGKILLed and restarted 5 times."""
    ids = start_sessions(store_url, 8)
    plan = make_plan(ids, 120, seed=13)
    parts = [plan[i::3] for i in range(3)]
    outs = [tmp_path / f"w{i}.jsonl" for i in range(3)]
    procs = [spawn(store_url, parts[i], outs[i], tmp_path, f"w{i}") for i in range(3)]
    rng = random.Random(7)
    try:
        for _ in range(5):
            time.sleep(rng.uniform(0.3, 1.2))
            i = rng.randrange(3)
            if procs[i].poll() is None:
                procs[i].send_signal(signal.SIGKILL)
                procs[i].wait(timeout=30)
            procs[i] = spawn(store_url, parts[i], outs[i], tmp_path, f"w{i}")
        deadline = time.monotonic() + 150
        for p in procs:
            p.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=30)
    assert [p.returncode for p in procs] == [0, 0, 0], [
        (tmp_path / f"w{i}.err").read_text()[-1500:] for i in range(3)
    ]
    finish_and_check(store_url, plan, read_acks(outs))


def test_postmaster_kill9_under_load_loses_no_acknowledged_turn(cluster, tmp_path):
    if cluster is None:
        pytest.skip("PostgreSQL 15 is not installed")
    url = cluster.new_db()
    ids = start_sessions(url, 6)
    plan = make_plan(ids, 90, seed=14)
    parts = [plan[i::3] for i in range(3)]
    outs = [tmp_path / f"p{i}.jsonl" for i in range(3)]
    procs = [spawn(url, parts[i], outs[i], tmp_path, f"p{i}") for i in range(3)]
    try:
        time.sleep(1.5)
        cluster.kill9()
        time.sleep(0.5)
        cluster.start()
        deadline = time.monotonic() + 150
        for p in procs:
            p.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=30)
    finish_and_check(url, plan, read_acks(outs))


def test_worker_killed_inside_its_turn_retry_applies_once(store_url, tmp_path):
    """SIGKILL while the program runs (no lock held); the same key retried runs it once."""
    from autograms.stores import TurnInProgressError, TurnRunner, open_store

    start_sessions(store_url, 1)
    gate = tmp_path / "gate"
    out = tmp_path / "g.jsonl"
    proc = spawn(store_url, [["s0", "gate 1", "kg"]], out, tmp_path, "g", B13_GATE=str(gate))
    try:
        deadline = time.monotonic() + 60
        while not Path(str(gate) + ".in").exists():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    Path(str(gate) + ".go").touch()
    os.environ["B13_GATE"] = str(gate)
    try:
        runner = TurnRunner(autogram(), open_store(store_url), lease_seconds=2.0)
        t0 = time.monotonic()
        while True:
            try:
                res = runner.run_turn("s0", "gate 1", "kg")
                break
            except TurnInProgressError:
                assert time.monotonic() - t0 < 40, "the dead worker holds the key forever"
                time.sleep(0.2)
        assert (res.reply, res.replayed) == ("1|gate 1", False)
        assert runner.run_turn("s0", "x", "kx").reply == "2|gate 1/x"
    finally:
        os.environ.pop("B13_GATE", None)
    assert not S.check_store(store_url, {"s0": {"kg": ("gate 1", "1|gate 1")}})


def test_stopped_worker_past_its_lease_never_forks(store_url, tmp_path):
    """A worker SIGSTOPped inside its turn loses to one that commits meanwhile; on SIGCONT its
    message (enqueue) is applied on top, not from the old base."""
    from autograms.stores import TurnRunner, open_store

    start_sessions(store_url, 1)
    gate = tmp_path / "gate"
    out = tmp_path / "st.jsonl"
    proc = spawn(store_url, [["s0", "gate A", "kA"]], out, tmp_path, "st", B13_GATE=str(gate))
    try:
        deadline = time.monotonic() + 60
        while not Path(str(gate) + ".in").exists():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
        proc.send_signal(signal.SIGSTOP)
        runner = TurnRunner(autogram(), open_store(store_url), lease_seconds=2.0, wait_seconds=30)
        res = runner.run_turn("s0", "B", "kB")  # waits out A's lease (2 s), then commits
        assert res.reply == "1|B"
        Path(str(gate) + ".go").touch()
        proc.send_signal(signal.SIGCONT)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    acks = read_acks([out])
    assert acks == [["s0", "kA", "gate A", "2|B/gate A", False]]
    assert not S.check_store(store_url, {"s0": {"kB": ("B", "1|B")}})


def test_enqueue_applies_waiting_messages_in_arrival_order(store_url, tmp_path, monkeypatch):
    from autograms.stores import TurnRunner, open_store

    start_sessions(store_url, 1)
    gate = tmp_path / "gate"
    monkeypatch.setenv("B13_GATE", str(gate))
    ag = autogram()
    out: dict[str, object] = {}

    def turn(name: str, text: str) -> None:
        runner = TurnRunner(ag, open_store(store_url), lease_seconds=5)
        try:
            out[name] = runner.run_turn("s0", text, f"k-{name}").reply
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            out[name] = exc

    threads = [threading.Thread(target=turn, args=("A", "gate A"))]
    threads[0].start()
    deadline = time.monotonic() + 30
    while not Path(str(gate) + ".in").exists():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    for i in range(4):
        t = threading.Thread(target=turn, args=(f"m{i}", f"m{i}"))
        t.start()
        threads.append(t)
        time.sleep(0.6)  # each waiter takes its ticket before the next starts
    Path(str(gate) + ".go").touch()
    for t in threads:
        t.join(timeout=60)
    assert out == {
        "A": "1|gate A",
        "m0": "2|gate A/m0",
        "m1": "3|gate A/m0/m1",
        "m2": "4|gate A/m0/m1/m2",
        "m3": "5|gate A/m0/m1/m2/m3",
    }


def _pg_url(cluster) -> str:
    if cluster is None:
        pytest.skip("PostgreSQL 15 is not installed")
    return cluster.new_db()


def test_dead_worker_with_a_fast_clock_holds_the_session_one_lease(cluster, tmp_path):
    from autograms.stores import TurnRunner, open_store

    url = _pg_url(cluster)
    start_sessions(url, 1)
    gate = tmp_path / "gate"
    proc = spawn(
        url,
        [["s0", "gate 1", "kg"]],
        tmp_path / "o.jsonl",
        tmp_path,
        "skew",
        B13_GATE=str(gate),
        B13_CLOCK_SKEW="120",
    )
    try:
        deadline = time.monotonic() + 60
        while not Path(str(gate) + ".in").exists():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
        time.sleep(0.3)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    runner = TurnRunner(autogram(), open_store(url), lease_seconds=2.0, wait_seconds=12)
    t0 = time.monotonic()
    res = runner.run_turn("s0", "next", "k1")  # the dead worker's lease is 2 s
    assert res.reply == "1|next"
    assert time.monotonic() - t0 < 12


def test_expire_never_deletes_a_session_just_used_by_a_slow_clock_worker(cluster, tmp_path):
    from autograms.stores import Sessions, open_store

    url = _pg_url(cluster)
    start_sessions(url, 1)
    out = tmp_path / "o.jsonl"
    proc = spawn(url, [["s0", "recent", "k1"]], out, tmp_path, "slow", B13_CLOCK_SKEW="-600")
    assert proc.wait(timeout=60) == 0
    assert read_acks([out]) == [["s0", "k1", "recent", "1|recent", False]]
    sessions = Sessions(autogram(), open_store(url))
    assert sessions.expire(300) == []
    assert sessions.get("s0").version == 2


def test_idempotency_same_key_same_and_other_text_failed_turn_and_file_round_trip(
    store_url, tmp_path, monkeypatch
):
    from autograms.stores import (
        IdempotencyKeyReusedError,
        Sessions,
        TurnInProgressError,
        TurnRunner,
        open_store,
    )

    start_sessions(store_url, 1)
    ag = autogram()
    store = open_store(store_url)
    sessions, runner = Sessions(ag, store), TurnRunner(ag, store, lease_seconds=5)
    gate = tmp_path / "gate"
    monkeypatch.setenv("B13_GATE", str(gate))
    out: list = []
    running = threading.Thread(target=lambda: out.append(runner.run_turn("s0", "gate 1", "k1")))
    running.start()
    deadline = time.monotonic() + 30
    while not Path(str(gate) + ".in").exists():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    other = TurnRunner(ag, open_store(store_url), lease_seconds=5)
    for text in ("gate 1", "something else"):
        with pytest.raises(TurnInProgressError):
            other.run_turn("s0", text, "k1")
    Path(str(gate) + ".go").touch()
    running.join(timeout=60)
    assert out[0].reply == "1|gate 1"
    again = other.run_turn("s0", "gate 1", "k1")
    assert (again.reply, again.version, again.replayed) == ("1|gate 1", 2, True)
    with pytest.raises(IdempotencyKeyReusedError) as err:
        other.run_turn("s0", "something else", "k1")
    assert err.value.reason == "key reused"
    # a failed turn records nothing, and its key stays free
    before = S.sql(store_url, "SELECT version, blob FROM autograms_sessions WHERE id = 's0'")
    with pytest.raises(RuntimeError):
        runner.run_turn("s0", "boom", "k2")
    assert S.sql(store_url, "SELECT version, blob FROM autograms_sessions WHERE id = 's0'") == (
        before
    )
    assert runner.run_turn("s0", "two", "k2").reply == "2|gate 1/two"
    # export, continue the file with Autogram.load, import it as another session
    path = tmp_path / "s0.session"
    sessions.export_file("s0", path)
    text, memory = ag.reply("three", memory_object=ag.load(path))
    assert text == "3|gate 1/two/three"
    sessions.import_file(path, "copy")
    assert runner.run_turn("copy", "three", "k3").reply == text
    assert runner.run_turn("s0", "three", "k3").reply == text
    assert sessions.get("copy").history == sessions.get("s0").history
    sessions.delete("copy")  # its turn rows start mid-conversation: out of check_store's reach
    assert not S.check_store(store_url, {"s0": {"k1": ("gate 1", "1|gate 1")}})


TAMPERS = {
    "blob from another session": (
        "UPDATE autograms_sessions SET blob = (SELECT blob FROM autograms_sessions "
        "WHERE id = 's1') WHERE id = 's0'",
        "turn",
    ),
    "turn row deleted": (
        "DELETE FROM autograms_turns WHERE session_id = 's0' AND version = 3",
        "turn",
    ),
    "stored reply edited": (
        "UPDATE autograms_turns SET reply = 'evil' WHERE session_id = 's0' AND version = 2",
        "replay",
    ),
    "log entry edited": (
        "UPDATE autograms_turns SET entries = replace(entries, '\"a\"', '\"evil\"') "
        "WHERE session_id = 's0' AND version = 2",
        "get",
    ),
    "owner changed": ("UPDATE autograms_sessions SET owner = 'x' WHERE id = 's0'", "turn"),
}


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
def test_signed_store_refuses_tampered_rows_naming_the_session(store_url, tamper):
    from autograms.stores import Sessions, StoredSessionError, TurnRunner, open_store

    ag = autogram("k-s7b13")
    store = open_store(store_url)
    sessions, runner = Sessions(ag, store), TurnRunner(ag, store)
    for sid in ("s0", "s1"):
        sessions.create(sid)
        for i, text in enumerate(["", "a", "b"]):
            runner.run_turn(sid, text + sid[1:] * (sid == "s1"), f"k{i}")
    query, action = TAMPERS[tamper]
    S.sql(store_url, query)
    with pytest.raises(StoredSessionError) as err:
        if action == "turn":
            runner.run_turn("s0", "c", "k3")
        elif action == "replay":
            runner.run_turn("s0", "a", "k1")
        else:
            sessions.get("s0")
    assert err.value.reason == "tampered"
    assert "'s0'" in str(err.value)
    assert runner.run_turn("s1", "c", "k3").reply == "3|a1/b1/c"  # the other session is fine


@pytest.mark.parametrize("kwargs", [{"limit": -1}, {"offset": -1}, {"limit": 2**70}])
def test_sessions_list_refuses_bad_limits_clearly(store_url, kwargs):
    from autograms.stores import Sessions, open_store

    sessions = Sessions(autogram(), open_store(store_url))
    for i in range(3):
        sessions.create(f"s{i}")
    with pytest.raises(ValueError, match="limit|offset"):
        sessions.list(**kwargs)


def test_turn_runners_do_not_leak_threads(tmp_path):
    import gc

    from autograms.stores import Sessions, TurnRunner, open_store

    url = f"sqlite:///{tmp_path / 'threads.db'}"
    ag = autogram()
    store = open_store(url)
    Sessions(ag, store).create("s0")
    before = threading.active_count()
    for i in range(50):
        runner = TurnRunner(ag, store, policy="reject" if i % 2 else "enqueue")
        runner.run_turn("s0", f"m{i}" if i else "", f"k{i}")
        del runner
    gc.collect()
    time.sleep(0.5)
    assert threading.active_count() - before < 5, [t.name for t in threading.enumerate()][:5]

"""Outside tests of issue 13 (session stores) in session 13: optimistic turns beside claimed ones.

Written from the README ("Sessions in a database"), docs/stores.md and serving.md's invariants
only. Every test runs on SQLite and on a throwaway PostgreSQL 15 cluster (started here as the
postgres user on a loopback port), with real worker processes (stores_s13_support.Worker).
"""

from __future__ import annotations

import os
import pathlib
import random
import time

import pytest

from autograms.stores import (
    Sessions,
    TurnRunner,
    open_store,
)
from tests.outside import stores_s13_support as sup


@pytest.fixture(scope="module")
def cluster():
    try:
        pg = sup.Cluster()
    except Exception as exc:  # no PostgreSQL on this machine: the SQLite half still runs
        pytest.skip(f"PostgreSQL cluster did not start: {exc}")
    yield pg
    pg.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/sessions.db"
    return request.getfixturevalue("cluster").new_database()


@pytest.fixture
def workers():
    started: list[sup.Worker] = []

    def start(url, **kwargs):
        worker = sup.Worker(url, **kwargs)
        started.append(worker)
        return worker

    def start_many(url, options: list[dict]) -> list[sup.Worker]:
        """Starts the processes together (each imports the library), then waits for each."""
        many = [start(url, wait=False, **kwargs) for kwargs in options]
        return [worker.wait_ready() for worker in many]

    start.many = start_many
    yield start
    for worker in started:
        worker.kill()


@pytest.fixture
def local(url):
    """The store, a Sessions and a claimed runner in the test process."""
    store = open_store(url)
    autogram = sup.make_autogram("chain")
    yield store, Sessions(autogram, store), TurnRunner(autogram, store)
    store.close()


def ok(answer: dict) -> dict:
    assert answer.get("ok"), f"the turn failed: {answer}"
    return answer


def turn_when_free(worker, sid, text, key, limit: float = 60.0) -> dict:
    """Sends a turn again while its key's dead worker still holds the lease (documented 409)."""
    deadline = time.monotonic() + limit
    while True:
        answer = worker.turn(sid, text, key)
        if answer.get("error") != "TurnInProgressError" or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)


def check_session(store, sid: str, acked: dict[str, str] | None = None, deploys: int = 0):
    """serving.md's invariants for one session of the chain bot; returns its messages."""
    record = store.load_session(sid)
    assert record is not None, f"session {sid} is gone"
    turns = sorted(store.turns(sid), key=lambda t: t.version)
    versions = [t.version for t in turns]
    assert versions == list(range(1, len(turns) + 1)), f"{sid}: versions {versions}"
    assert record.version == len(turns) + deploys, (
        f"{sid}: version {record.version}, {len(turns)} turn rows"
    )
    keys = [t.idempotency_key for t in turns]
    assert len(set(keys)) == len(keys), f"{sid}: a key twice: {keys}"
    texts = [t.user_text for t in turns]
    assert len(set(texts)) == len(texts), f"{sid}: a message applied twice: {texts}"
    expected = sup.expected_chain(texts)
    got = [t.reply for t in turns]
    assert got == expected, f"{sid}: the transcript is not the sequential run:\n{got}\n{expected}"
    by_key = {t.idempotency_key: t.reply for t in turns}
    for key, reply in (acked or {}).items():
        assert by_key.get(key) == reply, (
            f"{sid}: acknowledged {key}={reply!r} stored {by_key.get(key)!r}"
        )
    return texts


# ----------------------------------------------------------------------------- 1. load


def test_mixed_workers_random_interleaving(url, workers, local):
    """2 optimistic + 2 claimed workers, 5 sessions, random order: sequential transcripts."""
    store, sessions, _ = local
    sids = [f"s{i}" for i in range(5)]
    for sid in sids:
        sessions.create(sid)
    rng = random.Random(1313)
    env = {"S13_MAX_DELAY": "0.004"}
    pool = workers.many(url, [{"optimistic": i % 2 == 0, "env": env} for i in range(4)])
    plans = []
    for w, worker in enumerate(pool):
        jobs = [[sid, f"w{w}-{sid}-{i}", f"k-w{w}-{sid}-{i}"] for sid in sids for i in range(6)]
        # keep each worker's own messages of a session in order, interleave the sessions
        rng.shuffle(jobs)
        jobs.sort(key=lambda job: (job[0], int(job[1].rsplit("-", 1)[1])))
        order = sorted(range(len(jobs)), key=lambda _: rng.random())
        per_session: dict[str, list] = {}
        for job in jobs:
            per_session.setdefault(job[0], []).append(job)
        mixed = []
        for index in order:
            sid = jobs[index][0]
            mixed.append(per_session[sid].pop(0))
        plans.append(mixed)
        worker.send(op="batch", jobs=mixed)
    acked: dict[str, dict[str, str]] = {sid: {} for sid in sids}
    for worker, plan in zip(pool, plans, strict=True):
        for _job in plan:
            answer = worker.read(timeout=150)
            ok(answer)
            assert not answer["replayed"], f"a first send was replayed: {answer}"
            acked[answer["sid"]][answer["key"]] = answer["reply"]
        assert worker.read(timeout=30).get("done")
    for sid in sids:
        texts = check_session(store, sid, acked[sid])
        assert len(texts) == 24, f"{sid}: {len(texts)} of 24 messages applied"
        for w in range(4):
            mine = [t for t in texts if t.startswith(f"w{w}-")]
            assert mine == sorted(mine, key=lambda t: int(t.rsplit("-", 1)[1])), (
                f"{sid}: worker {w}'s messages out of the order it sent them: {mine}"
            )


def test_retry_everywhere_after_load_replays(url, workers, local):
    """Every key sent again to another worker (optimistic or not) replays, runs nothing."""
    store, sessions, _ = local
    sessions.create("r")
    a, b, c = workers.many(url, [{"optimistic": True}, {}, {"optimistic": True}])
    replies = {}
    for i in range(8):
        worker = (a, b, c)[i % 3]
        answer = ok(worker.turn("r", f"m{i}", f"k{i}"))
        replies[f"k{i}"] = answer["reply"]
    for i in range(8):
        for worker in (a, b, c):
            again = ok(worker.turn("r", f"m{i}", f"k{i}"))
            assert again["replayed"] and again["reply"] == replies[f"k{i}"], again
            refused = worker.turn("r", f"other{i}", f"k{i}")
            assert refused.get("error") == "IdempotencyKeyReusedError", refused
            assert refused["reason"] == "key reused" and "k" in refused["message"], refused
    check_session(store, "r", replies)


def wait_for(predicate, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}; last saw {last!r}")


def queue_rows(url: str, sid: str) -> int:
    return sup.sql(url, "SELECT count(*) FROM autograms_queue WHERE session_id = ?", (sid,))[0][0]


@pytest.mark.parametrize("late_optimistic", [False, True])
def test_enqueue_keeps_arrival_order(url, workers, local, tmp_path, late_optimistic):
    """A turn held at a gate; m1 then m2 arrive at other workers: applied gate, m1, m2."""
    store, sessions, _ = local
    sessions.create("q")
    gate = str(tmp_path / "gate")
    holder, first, late = workers.many(
        url, [{"env": {"S13_GATE": gate}}, {}, {"optimistic": late_optimistic}]
    )
    ok(holder.turn("q", "m0", "k0"))
    ok(late.turn("q", "warm", "kw"))  # an optimistic worker now keeps a copy
    holder.send(op="turn", sid="q", text="GATE-1", key="kg", owner=None)
    wait_for(lambda: os.path.exists(gate), "the holder to reach its gate")
    before = queue_rows(url, "q")
    first.send(op="turn", sid="q", text="m1", key="k1", owner=None)
    wait_for(lambda: queue_rows(url, "q") > before, "m1's ticket in the queue")
    late.send(op="turn", sid="q", text="m2", key="k2", owner=None)
    time.sleep(0.3)  # m2's worker is running or waiting: the order must not depend on it
    os.unlink(gate)
    answers = [ok(w.read()) for w in (holder, first, late)]
    texts = check_session(store, "q", {a["key"]: a["reply"] for a in answers})
    assert texts == ["m0", "warm", "GATE-1", "m1", "m2"], f"applied in the order {texts}"


def test_reject_refuses_clearly_and_optimistic_needs_enqueue(url, workers, local, tmp_path):
    store, sessions, _ = local
    sessions.create("j")
    gate = str(tmp_path / "gate")
    holder, rejecting = workers.many(url, [{"env": {"S13_GATE": gate}}, {"policy": "reject"}])
    ok(holder.turn("j", "m0", "k0"))
    holder.send(op="turn", sid="j", text="GATE-1", key="kg", owner=None)
    wait_for(lambda: os.path.exists(gate), "the holder to reach its gate")
    refused = rejecting.turn("j", "m1", "k1")
    assert refused.get("error") == "SessionBusyError" and refused["reason"] == "busy", refused
    os.unlink(gate)
    ok(holder.read())
    assert ok(rejecting.turn("j", "m1", "k1"))["version"] == 3
    check_session(store, "j")
    with pytest.raises(ValueError):
        TurnRunner(sup.make_autogram("chain"), store, policy="reject", optimistic=True)


# ----------------------------------------------------------------------------- 2. kill -9


@pytest.mark.parametrize("optimistic", [False, True])
def test_kill9_at_random_points_then_retry(url, workers, local, optimistic):
    """A worker killed at a random moment of a turn; the retry elsewhere applies it once."""
    store, sessions, _ = local
    sessions.create("k")
    rng = random.Random(99 + optimistic)
    victim_options = {
        "optimistic": optimistic,
        "env": {"S13_MAX_DELAY": "0.03", "S13_LEASE": "0.5"},
    }
    other, fresh, *victims = workers.many(url, [{"optimistic": True}, {}] + [victim_options] * 4)
    ok(other.turn("k", "m0", "k0"))  # keeps a copy, made old by every later turn
    acked = {}
    for i, victim in enumerate(victims, start=1):
        if optimistic:
            ok(victim.turn("k", f"warm{i}", f"kw{i}"))  # the next turn runs on its copy
        victim.send(op="turn", sid="k", text=f"m{i}", key=f"k{i}", owner=None)
        time.sleep(rng.random() * 0.06)
        victim.kill()
        retry_worker = (other, fresh)[i % 2]
        answer = ok(turn_when_free(retry_worker, "k", f"m{i}", f"k{i}"))
        acked[f"k{i}"] = answer["reply"]
        again = ok(retry_worker.turn("k", f"m{i}", f"k{i}"))
        assert again["replayed"] and again["reply"] == answer["reply"], again
        refused = retry_worker.turn("k", f"x{i}", f"k{i}")
        assert refused.get("error") == "IdempotencyKeyReusedError", refused
    texts = check_session(store, "k", acked)
    assert [t for t in texts if t.startswith("m")] == [f"m{i}" for i in range(5)], texts


def test_kill9_inside_postgres_commit(url, workers, local):
    """PostgreSQL: the worker killed while its commit statement runs (a trigger sleeps in it)."""
    if not url.startswith("postgresql"):
        pytest.skip("the commit is held inside the server by a trigger")
    store, sessions, _ = local
    sessions.create("c")
    sup.sql(
        url,
        "CREATE FUNCTION s13_slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.user_text LIKE 'SLOW%' THEN PERFORM pg_sleep(1); END IF; RETURN NEW; END $$",
    )
    sup.sql(
        url,
        "CREATE TRIGGER s13_slow BEFORE INSERT ON autograms_turns "
        "FOR EACH ROW EXECUTE FUNCTION s13_slow()",
    )
    for optimistic in (False, True):
        victim = workers(url, optimistic=optimistic, env={"S13_LEASE": "1"})
        ok(victim.turn("c", f"m-{optimistic}", f"k-{optimistic}"))
        victim.send(op="turn", sid="c", text=f"SLOW-{optimistic}", key=f"ks-{optimistic}")
        wait_for(
            lambda: sup.sql(
                url, "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'"
            )[0][0],
            "the commit to sleep in its trigger",
        )
        victim.kill()
        retry = workers(url, optimistic=True)
        answer = ok(turn_when_free(retry, "c", f"SLOW-{optimistic}", f"ks-{optimistic}"))
        again = ok(retry.turn("c", f"SLOW-{optimistic}", f"ks-{optimistic}"))
        assert again["replayed"] and again["reply"] == answer["reply"]
    check_session(store, "c")


# ----------------------------------------------------------------------------- 3. stale copies


def test_kept_copy_after_delete_and_recreate(url, workers, local):
    store, sessions, runner = local
    sessions.create("d")
    w = sup.LocalWorker(sup.make_autogram("chain"), store, optimistic=True)
    for i in range(3):
        ok(w.turn("d", f"m{i}", f"k{i}"))
    sessions.delete("d")
    gone = w.turn("d", "m3", "k3")
    assert gone.get("error") == "SessionNotFoundError", gone
    assert store.load_session("d") is None, "the stale copy brought the deleted session back"
    sessions.create("d")
    fresh = ok(w.turn("d", "n0", "kn0"))
    assert fresh["reply"] == "ready" and fresh["version"] == 1, fresh
    check_session(store, "d")


def make_stale(how: str, url, workers, local, tmp_path):
    """An optimistic worker keeps session "z" at 3 turns; then "z" is replaced under it.

    Returns the worker and the messages the session now holds (the replacement's).
    """
    store, sessions, runner = local
    sessions.create("z")
    sessions.create("t")
    w = sup.LocalWorker(sup.make_autogram("chain"), store, optimistic=True)
    for i in range(3):
        ok(w.turn("z", f"z{i}", f"kz{i}"))
    for i in range(3):
        runner.run_turn("t", f"t{i}", f"kt{i}")
    if how == "recreated":  # ABA: made again at once and brought to the copy's version
        sessions.delete("z")
        sessions.create("z")
        for i in range(3):
            runner.run_turn("z", f"n{i}", f"kn{i}")
        return w, ["n0", "n1", "n2"]
    source = "z" if how == "reimported" else "t"
    path = tmp_path / f"{source}.session"
    sessions.export_file(source, path)
    sessions.delete("z")
    sessions.import_file(path, "z")
    return w, ["z0", "z1", "z2"] if source == "z" else ["t0", "t1", "t2"]


STALE_WAYS = ["recreated", "reimported", "imported other"]


@pytest.mark.parametrize("how", STALE_WAYS)
def test_kept_copy_replaced_never_forks(url, workers, local, tmp_path, how):
    """Whatever the first send says, the message lands once, on the replacement, never the copy."""
    store, _, _ = local
    w, held = make_stale(how, url, workers, local, tmp_path)
    answer = w.turn("z", "next", "knext")
    if answer.get("error") == "SessionNotFoundError":
        answer = w.turn("z", "next", "knext")  # the client's retry with the same key
    ok(answer)
    want = sup.expected_chain([*held, "next"])[-1]
    assert answer["reply"] == want, f"ran on the stale copy: {answer['reply']!r}, want {want!r}"
    turns = sorted(store.turns("z"), key=lambda t: t.version)
    assert [t.user_text for t in turns][-1] == "next" and len(turns) == store.load_session(
        "z"
    ).version
    assert sum(t.idempotency_key == "knext" for t in turns) == 1


@pytest.mark.parametrize("how", STALE_WAYS)
def test_kept_copy_replaced_first_send_applies(url, workers, local, tmp_path, how):
    """A message sent after the id names a new session is applied to it at once (it was
    refused as 'deleted while this turn ran' before c1b9b85)."""
    w, held = make_stale(how, url, workers, local, tmp_path)
    answer = ok(w.turn("z", "next", "knext"))
    assert answer["reply"] == sup.expected_chain([*held, "next"])[-1], answer


def test_kept_copy_after_expire(url, workers, local):
    store, sessions, _ = local
    sessions.create("e")
    w = sup.LocalWorker(sup.make_autogram("chain"), store, optimistic=True)
    for i in range(2):
        ok(w.turn("e", f"m{i}", f"k{i}"))
    time.sleep(0.05)
    assert "e" in sessions.expire(0.01)
    gone = w.turn("e", "m2", "k2")
    assert gone.get("error") == "SessionNotFoundError", gone
    assert store.load_session("e") is None


def test_import_over_live_id_refused(url, local, tmp_path):
    store, sessions, runner = local
    sessions.create("i")
    runner.run_turn("i", "m0", "k0")
    path = tmp_path / "i.session"
    sessions.export_file("i", path)
    with pytest.raises(Exception) as info:
        sessions.import_file(path, "i")
    assert "i" in str(info.value), info.value
    check_session(store, "i")


@pytest.mark.parametrize("editor_optimistic", [False, True])
def test_kept_copies_ping_pong(url, workers, local, editor_optimistic):
    """Two workers keep copies of one session and take turns: each copy is old every time."""
    store, sessions, _ = local
    sessions.create("p")
    a = sup.LocalWorker(sup.make_autogram("chain"), store, optimistic=True)
    b = sup.LocalWorker(sup.make_autogram("chain"), store, optimistic=editor_optimistic)
    acked = {}
    for i in range(10):
        worker = (a, b)[i % 2] if i % 3 else a
        answer = ok(worker.turn("p", f"m{i}", f"k{i}"))
        acked[f"k{i}"] = answer["reply"]
        assert answer["version"] == i + 1, answer
    check_session(store, "p", acked)


def test_kept_copy_overtaken_by_in_process_runner(url, local):
    """In one process: an optimistic runner's copy made old by a claimed runner."""
    store, sessions, claimed = local
    optimistic = TurnRunner(sup.make_autogram("chain"), store, optimistic=True)
    sessions.create("o")
    rng = random.Random(5)
    for i in range(30):
        runner = optimistic if rng.random() < 0.6 else claimed
        runner.run_turn("o", f"m{i}", f"k{i}")
    check_session(store, "o")


DEPLOY_V1 = """
from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def chatbot():
    count = 0
    text = reply("v1 ready")
    while True:
        count += 1
        text = reply(f"v1 {count}: {text}")
"""

DEPLOY_V2 = DEPLOY_V1.replace('"v1 ready"', '"v2 ready"').replace("v1 {count}", "v2 {count}")


def test_kept_copy_after_redeploy_rewrite(url, workers, local, tmp_path):
    """The deploy restarts a session under an old optimistic worker's kept copy."""
    import subprocess
    import sys

    store, sessions, _ = local
    folder = tmp_path / "bot"
    folder.mkdir()
    module = folder / "s13deploybot.py"
    module.write_text(DEPLOY_V1)
    old = workers(url, bot=f"file:{folder}:s13deploybot", optimistic=True)
    ok(old.send(op="create", sid="dep") or old.read())
    for i in range(3):
        ok(old.turn("dep", f"m{i}", f"k{i}"))
    before = store.load_session("dep").version
    module.write_text(DEPLOY_V2)
    cli = pathlib.Path(sys.executable).with_name("autograms")
    done = subprocess.run(
        [str(cli), "sessions", "upgrade", str(module), "--store", url, "--restart"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(folder),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    after = store.load_session("dep")
    assert after.version == before + 1, f"the deploy did not rewrite it: {done.stdout}"
    answer = ok(old.turn("dep", "m3", "k3"))
    # the session was restarted from the top: the kept copy (at "v1 2") must not continue
    assert not answer["reply"].startswith("v1 3"), f"ran on the stale copy: {answer}"
    assert store.load_session("dep").version == after.version + 1
    turns = sorted(store.turns("dep"), key=lambda t: t.version)
    assert [t.user_text for t in turns] == ["m0", "m1", "m2", "m3"], turns

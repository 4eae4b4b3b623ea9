"""Outside tests of issue 13 (session stores) in session 13: optimistic turns beside claimed ones.

Written from the README ("Sessions in a database"), docs/stores.md and serving.md's invariants
only. Every test runs on SQLite and on a throwaway PostgreSQL 15 cluster (started here as the
postgres user on a loopback port), with real worker processes (stores_s13_support.Worker).
"""

from __future__ import annotations

import json
import os
import pathlib
import random
import time

import pytest

from autograms.stores import (
    SessionNotFoundError,
    Sessions,
    TurnRunner,
    history,
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
    conversation = []
    for t in turns:
        conversation.append(("user", t.user_text))
        if t.reply:
            conversation.append(("assistant", t.reply))
    assert record.history_digest == history.of_messages(conversation), (
        f"{sid}: the stored history digest is not the digest of its turns"
    )
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
    a = workers(url, optimistic=True)
    b = sup.LocalWorker(sup.make_autogram("chain"), store)
    c = sup.LocalWorker(sup.make_autogram("chain"), store, optimistic=True)
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


def test_enqueue_keeps_arrival_order(url, workers, local, tmp_path, late_optimistic=True):
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
    other, fresh, *victims = workers.many(url, [{"optimistic": True}, {}] + [victim_options] * 3)
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
    assert [t for t in texts if t.startswith("m")] == [f"m{i}" for i in range(4)], texts


def test_kill9_inside_postgres_commit(cluster, workers):
    """PostgreSQL: the worker killed while its commit statement runs (a trigger sleeps in it)."""
    url = cluster.new_database()
    store = open_store(url)
    sessions = Sessions(sup.make_autogram("chain"), store)
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
    store.close()


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


@pytest.mark.parametrize("key", [None, "s13-key"])
def test_kept_copy_overtaken_by_in_process_runner(url, key, tmp_path):
    """In one process: optimistic runners' copies made old by a claimed runner and by each
    other, signed or not; afterwards a fresh worker's seal checks, get and export pass."""
    store = open_store(url)
    try:
        autogram = sup.make_autogram("chain", session_key=key)
        sessions = Sessions(autogram, store)
        runners = [
            TurnRunner(autogram, store),
            TurnRunner(autogram, store, optimistic=True),
            TurnRunner(sup.make_autogram("chain", session_key=key), store, optimistic=True),
        ]
        sessions.create("o", owner="al")
        rng = random.Random(5)
        for i in range(30):
            rng.choice(runners).run_turn("o", f"m{i}", f"k{i}", owner="al")
        check_session(store, "o")
        fresh = TurnRunner(sup.make_autogram("chain", session_key=key), store)
        fresh.run_turn("o", "m30", "k30", owner="al")
        assert fresh.run_turn("o", "m7", "k7", owner="al").replayed
        assert len(sessions.get("o", owner="al").history) == 62
        sessions.export_file("o", tmp_path / "o.session", owner="al")
        check_session(store, "o")
    finally:
        store.close()


DEPLOY_V1 = """
from autograms import autograms_function
from autograms.functional import reply

from tests.outside.stores_s13_support import _maybe_pause


@autograms_function()
def chatbot():
    count = 0
    text = reply("v1 ready")
    while True:
        _maybe_pause(text)
        count += 1
        text = reply(f"v1 {count}: {text}")
"""

DEPLOY_V2 = DEPLOY_V1.replace('"v1 ready"', '"v2 ready"').replace("v1 {count}", "v2 {count}")


@pytest.mark.parametrize("in_flight", [False, True])
def test_kept_copy_after_redeploy_rewrite(url, workers, local, tmp_path, in_flight):
    """The deploy restarts a session under an old optimistic worker's kept copy (between its
    turns, or while a turn runs on the copy)."""
    import subprocess
    import sys

    store, sessions, _ = local
    folder = tmp_path / "bot"
    folder.mkdir()
    module = folder / "s13deploybot.py"
    module.write_text(DEPLOY_V1)
    gate = str(tmp_path / "gate")
    old = workers(url, bot=f"file:{folder}:s13deploybot", optimistic=True, env={"S13_GATE": gate})
    ok(old.send(op="create", sid="dep") or old.read())
    for i in range(3):
        ok(old.turn("dep", f"m{i}", f"k{i}"))
    before = store.load_session("dep").version
    last = "GATE-3" if in_flight else "m3"
    if in_flight:
        old.send(op="turn", sid="dep", text=last, key="k3")
        wait_for(lambda: os.path.exists(gate), "the turn on the copy to reach its gate")
    module.write_text(DEPLOY_V2)
    cli = pathlib.Path(sys.executable).with_name("autograms")
    done = subprocess.run(
        [str(cli), "sessions", "upgrade", str(module), "--store", url, "--restart"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(folder),
        env={**os.environ, "PYTHONPATH": str(sup.ROOT)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    after = store.load_session("dep")
    assert after.version == before + 1, f"the deploy did not rewrite it: {done.stdout}"
    if in_flight:
        os.unlink(gate)
        answer = ok(old.read())
    else:
        answer = ok(old.turn("dep", last, "k3"))
    # the session was restarted from the top: the kept copy (at "v1 2") must not continue
    assert not answer["reply"].startswith("v1 3"), f"ran on the stale copy: {answer}"
    assert store.load_session("dep").version == after.version + 1
    turns = sorted(store.turns("dep"), key=lambda t: t.version)
    assert [t.user_text for t in turns] == ["m0", "m1", "m2", last], turns


# ----------------------------------------------------------------------------- 4. signed stores


@pytest.fixture
def signed(url):
    store = open_store(url)
    autogram = sup.make_autogram("chain", session_key="s13-key-one")
    yield store, Sessions(autogram, store), autogram
    store.close()


def two_signed_sessions(signed):
    store, sessions, autogram = signed
    runner = TurnRunner(autogram, store)
    for sid in ("a", "b"):
        sessions.create(sid, owner="al")
        for i in range(3):
            runner.run_turn(sid, f"{sid}{i}", f"k{sid}{i}", owner="al")
    return runner


def refused_as(exc_info, reason: str, sid: str) -> None:
    exc = exc_info.value
    assert type(exc).__name__ == "StoredSessionError", repr(exc)
    assert exc.reason == reason and repr(sid) in str(exc), f"{exc.reason}: {exc}"


@pytest.mark.parametrize("edit", ["blob of b", "version", "program"])
def test_signed_edited_row_refused_before_unpickling(url, signed, tmp_path, monkeypatch, edit):
    """A session row edited in the database: a claimed turn, get and export refuse it, naming
    it, and nothing of the row is unpickled (every chain session holds a Probe)."""
    store, sessions, autogram = signed
    two_signed_sessions(signed)
    statement = {
        "blob of b": "UPDATE autograms_sessions SET blob = "
        "(SELECT blob FROM autograms_sessions WHERE id = 'b') WHERE id = 'a'",
        "version": "UPDATE autograms_sessions SET version = version + 1 WHERE id = 'a'",
        "program": "UPDATE autograms_sessions SET program = 'x:y' WHERE id = 'a'",
    }[edit]
    sup.sql(url, statement)
    marker = tmp_path / "unpickled"
    monkeypatch.setenv("S13_UNPICKLED", str(marker))
    fresh = TurnRunner(sup.make_autogram("chain", session_key="s13-key-one"), store)
    with pytest.raises(Exception) as info:
        fresh.run_turn("a", "a3", "ka3", owner="al")
    if edit == "program":  # named another program's: refused as such, or as tampered
        assert type(info.value).__name__ == "StoredSessionError", repr(info.value)
        assert "'a'" in str(info.value), info.value
    else:
        refused_as(info, "tampered", "a")
        with pytest.raises(Exception) as info:
            sessions.get("a", owner="al")
        refused_as(info, "tampered", "a")
        with pytest.raises(Exception) as info:
            sessions.export_file("a", tmp_path / "a.session", owner="al")
        refused_as(info, "tampered", "a")
    assert not marker.exists(), "the edited row was unpickled before it was refused"
    assert len(store.turns("a")) == 3


def test_signed_kept_copy_and_edited_blob_never_shows_it(url, signed):
    """An optimistic worker's kept copy over a row whose blob was replaced by another
    session's: the turn continues the worker's own (genuine) conversation, or is refused --
    never b's conversation."""
    store, sessions, autogram = signed
    two_signed_sessions(signed)
    kept = sup.LocalWorker(autogram, store, optimistic=True)
    ok(kept.turn("a", "a3", "ka3", owner="al"))
    sup.sql(
        url,
        "UPDATE autograms_sessions SET blob = "
        "(SELECT blob FROM autograms_sessions WHERE id = 'b') WHERE id = 'a'",
    )
    answer = kept.turn("a", "a4", "ka4", owner="al")
    if answer.get("ok"):
        assert answer["reply"] == sup.expected_chain(["a0", "a1", "a2", "a3", "a4"])[-1]
    else:
        assert answer["error"] == "StoredSessionError" and answer["reason"] == "tampered"


@pytest.mark.parametrize("optimistic", [False, True])
def test_signed_deleted_turn_row_retry_refused(url, signed, optimistic):
    store, sessions, autogram = signed
    sessions.create("d", owner="al")
    worker = sup.LocalWorker(autogram, store, optimistic=optimistic)
    for i in range(3):
        ok(worker.turn("d", f"m{i}", f"k{i}", owner="al"))
    sup.sql(url, "DELETE FROM autograms_turns WHERE session_id = 'd' AND idempotency_key = 'k1'")
    for key, text in (("k1", "m1"), ("k9", "m9")):
        answer = worker.turn("d", text, key, owner="al")
        assert answer.get("error") == "StoredSessionError", f"{key}: {answer}"
        assert answer["reason"] == "tampered" and "'d'" in answer["message"], answer
    assert [t.user_text for t in store.turns("d")].count("m1") == 0


@pytest.mark.parametrize("optimistic", [False, True])
def test_signed_edited_turn_row_replay_refused(url, signed, optimistic):
    store, sessions, autogram = signed
    sessions.create("r", owner="al")
    worker = sup.LocalWorker(autogram, store, optimistic=optimistic)
    for i in range(3):
        ok(worker.turn("r", f"m{i}", f"k{i}", owner="al"))
    sup.sql(url, "UPDATE autograms_turns SET reply = 'HACKED' WHERE idempotency_key = 'k1'")
    answer = worker.turn("r", "m1", "k1", owner="al")
    assert answer.get("error") == "StoredSessionError" and answer["reason"] == "tampered", answer
    assert "'r'" in answer["message"]


@pytest.mark.parametrize("optimistic", [False, True])
def test_worker_with_another_key_refused(url, signed, workers, optimistic):
    store, sessions, autogram = signed
    two_signed_sessions(signed)
    stranger = sup.LocalWorker(
        sup.make_autogram("chain", session_key="another-key"), store, optimistic=optimistic
    )
    for _ in range(2):  # the second time an optimistic worker might hold a copy
        answer = stranger.turn("a", "a3", "ka3", owner="al")
        assert answer.get("error") == "StoredSessionError", answer
        assert answer["reason"] == "tampered" and "'a'" in answer["message"], answer
    assert store.load_session("a").version == 3


def test_unsigned_rows_refused_by_a_keyed_worker(url, local):
    store, sessions, runner = local
    sessions.create("u")
    runner.run_turn("u", "m0", "k0")
    keyed = TurnRunner(sup.make_autogram("chain", session_key="k"), store, optimistic=True)
    with pytest.raises(Exception) as info:
        keyed.run_turn("u", "m1", "k1")
    refused_as(info, "unsigned", "u")


def test_signed_owner_edited_under_kept_copy(url, signed):
    store, sessions, autogram = signed
    sessions.create("o", owner="al")
    kept = sup.LocalWorker(autogram, store, optimistic=True)
    for i in range(3):
        ok(kept.turn("o", f"m{i}", f"k{i}", owner="al"))
    sup.sql(url, "UPDATE autograms_sessions SET owner = 'eve' WHERE id = 'o'")
    answer = kept.turn("o", "m3", "k3", owner="al")
    assert answer.get("error") in ("StoredSessionError", "SessionNotFoundError"), answer
    assert store.load_session("o").version == 3


# ----------------------------------------------------------------------------- 5. failed turns


def row_state(store, sid: str):
    record = store.load_session(sid)
    turns = sorted((t.version, t.idempotency_key, t.user_text, t.reply) for t in store.turns(sid))
    return record, turns


@pytest.mark.parametrize("optimistic", [False, True])
def test_failed_turn_leaves_session_exactly(url, local, optimistic):
    store, sessions, _ = local
    sessions.create("f", owner="al")
    worker = sup.LocalWorker(sup.make_autogram("chain"), store, optimistic=optimistic)
    for i in range(3):
        ok(worker.turn("f", f"m{i}", f"k{i}", owner="al"))
    before, view = row_state(store, "f"), sessions.get("f", owner="al")
    for _ in range(2):
        answer = worker.turn("f", "boom", "kboom", owner="al")
        assert answer.get("error") == "RuntimeError" and "on purpose" in answer["message"], answer
        assert row_state(store, "f") == before, "a failed turn changed the stored session"
        after = sessions.get("f", owner="al")
        assert (after.history, after.waiting, after.version) == (
            view.history,
            view.waiting,
            view.version,
        )
    # the key of the failed turn is free: the same key with another text is a new message
    answer = ok(worker.turn("f", "m3", "kboom", owner="al"))
    assert answer["reply"] == sup.expected_chain(["m0", "m1", "m2", "m3"])[-1], answer
    check_session(store, "f")


def test_failed_turn_in_worker_processes(url, workers, local):
    """An optimistic worker process fails a turn; its next turn and another worker's agree."""
    store, sessions, _ = local
    sessions.create("g")
    opt, claimed = workers.many(url, [{"optimistic": True}, {}])
    for i in range(2):
        ok(opt.turn("g", f"m{i}", f"k{i}"))
    assert opt.turn("g", "boom", "kb").get("error") == "RuntimeError"
    ok(opt.turn("g", "m2", "k2"))
    ok(claimed.turn("g", "m3", "k3"))
    assert opt.turn("g", "boom", "kb2").get("error") == "RuntimeError"
    ok(opt.turn("g", "m4", "k4"))
    texts = check_session(store, "g")
    assert texts == ["m0", "m1", "m2", "m3", "m4"], texts


@pytest.fixture
def model():
    fake = sup.FakeModel()
    yield fake
    fake.close()


@pytest.mark.parametrize("optimistic", [False, True])
def test_model_down_leaves_session_exactly(url, model, optimistic):
    store = open_store(url)
    try:
        autogram = sup.make_autogram("model", base_url=model.base_url)
        sessions = Sessions(autogram, store)
        runner = TurnRunner(autogram, store, optimistic=optimistic)
        sessions.create("m")
        sessions.create("clean")
        for sid in ("m", "clean"):
            for i in range(3):
                runner.run_turn(sid, f"m{i}", f"k{i}")
        before, usage = row_state(store, "m"), sessions.get("m").usage
        model.fail = True
        billed = []
        with pytest.raises(Exception) as info:
            runner.run_turn("m", "m3", "k3", on_billed=billed.append)
        assert "ModelError" in [c.__name__ for c in type(info.value).__mro__], repr(info.value)
        assert row_state(store, "m") == before and sessions.get("m").usage == usage
        model.fail = False
        down_then_up = runner.run_turn("m", "m3", "k3")
        never_down = runner.run_turn("clean", "m3", "k3")
        assert down_then_up.reply == never_down.reply, "the failed call changed the next prompt"
        assert sessions.get("m").usage == sessions.get("clean").usage
        assert sessions.get("m").history == sessions.get("clean").history
    finally:
        store.close()


# ----------------------------------------------------------------------------- managing sessions


def test_history_waiting_list_export_as_the_readme_says(url, local, tmp_path):
    from autograms import Autogram  # noqa: F401 -- Autogram.load reads an exported file

    store, sessions, runner = local
    opt = TurnRunner(sup.make_autogram("chain"), store, optimistic=True)
    sessions.create("h", owner="al")
    sessions.create("h2", owner="bo")
    texts = ["m0", "m1", "m2"]
    for i, text in enumerate(texts):
        (opt if i % 2 else runner).run_turn("h", text, f"k{i}", owner="al")
    view = sessions.get("h", owner="al")
    want = []
    for text, reply_text in zip(texts, sup.expected_chain(texts), strict=True):
        want += [{"role": "user", "content": text}, {"role": "assistant", "content": reply_text}]
    assert view.history == want, view.history
    assert [(w.function.rsplit(".", 1)[-1], w.address) for w in view.waiting] == [
        ("chain_bot", "loop")
    ], view.waiting
    assert [r.id for r in sessions.list(owner="al")] == ["h"]
    assert [r.id for r in sessions.list(owner="bo")] == ["h2"]
    for call in (
        lambda: sessions.get("h", owner="bo"),
        lambda: sessions.delete("h", owner="bo"),
        lambda: sessions.export_file("h", tmp_path / "no.session", owner="bo"),
        lambda: opt.run_turn("h", "x", "kx", owner="bo"),
        lambda: runner.run_turn("h", "x", "kx", owner="bo"),
    ):
        with pytest.raises(SessionNotFoundError):
            call()
    assert store.load_session("h").version == 3
    path = tmp_path / "h.session"
    sessions.export_file("h", path, owner="al")
    autogram = sup.make_autogram("chain")
    memory = autogram.load(str(path))
    text, memory = autogram.reply("m3", memory_object=memory)
    assert text == sup.expected_chain([*texts, "m3"])[-1], text


def test_kept_copy_owner_kept_apart(url, workers, local):
    store, sessions, _ = local
    sessions.create("w", owner="al")
    w = sup.LocalWorker(sup.make_autogram("chain"), store, optimistic=True)
    ok(w.turn("w", "m0", "k0", owner="al"))
    ok(w.turn("w", "m1", "k1", owner="al"))
    answer = w.turn("w", "evil", "kevil", owner="bo")
    assert answer.get("error") == "SessionNotFoundError", answer
    assert [t.user_text for t in store.turns("w")] == ["m0", "m1"]


def test_expire_while_optimistic_turn_runs(url, workers, local, tmp_path):
    """A turn on a kept copy holds no ticket: expiry may delete the session under it; the
    commit must then apply nothing and bring nothing back."""
    store, sessions, _ = local
    sessions.create("x")
    gate = str(tmp_path / "gate")
    w = workers(url, optimistic=True, env={"S13_GATE": gate})
    ok(w.turn("x", "m0", "k0"))
    ok(w.turn("x", "m1", "k1"))
    w.send(op="turn", sid="x", text="GATE-2", key="k2")
    wait_for(lambda: os.path.exists(gate), "the turn to reach its gate")
    time.sleep(0.05)
    expired = sessions.expire(0.01)
    os.unlink(gate)
    answer = w.read()
    if "x" in expired:
        assert answer.get("error") == "SessionNotFoundError", answer
        assert store.load_session("x") is None, "the commit brought an expired session back"
        assert store.turns("x") == []
    else:
        ok(answer)
        check_session(store, "x")


# ----------------------------------------------------------------------------- one key, two workers


@pytest.mark.parametrize(
    ("second_optimistic", "same_text"), [(True, True), (True, False), (False, False)]
)
def test_one_key_at_two_workers_at_once(
    url, workers, local, tmp_path, second_optimistic, same_text
):
    """A client's retry reaches another worker while the first still runs the turn (both
    held inside the program, then let go together): one turn row; the same text gets the same
    reply at both, another text is refused as a reused key -- never a second turn."""
    store, sessions, _ = local
    sessions.create("s")
    gates = [str(tmp_path / "gate-a"), str(tmp_path / "gate-b")]
    a, b = workers.many(
        url,
        [
            {"optimistic": True, "env": {"S13_GATE": gates[0]}},
            {"optimistic": second_optimistic, "env": {"S13_GATE": gates[1]}},
        ],
    )
    ok(a.turn("s", "m0", "k0"))
    ok(b.turn("s", "m1", "k1"))
    ok(a.turn("s", "m2", "k2"))  # a's copy is current, b's is one turn old
    texts = ["GATE-x", "GATE-x" if same_text else "GATE-y"]
    a.send(op="turn", sid="s", text=texts[0], key="kk")
    wait_for(lambda: os.path.exists(gates[0]), "the first worker inside the turn")
    b.send(op="turn", sid="s", text=texts[1], key="kk")
    if second_optimistic:  # a claimed worker waits in the queue, outside the program
        wait_for(lambda: os.path.exists(gates[1]), "the second worker inside the turn")
    for gate in gates:
        if os.path.exists(gate):
            os.unlink(gate)
    deadline = time.monotonic() + 60
    while not second_optimistic and time.monotonic() < deadline:  # b may reach its gate later
        if os.path.exists(gates[1]):
            os.unlink(gates[1])
        if not b.lines.empty():
            break
        time.sleep(0.01)
    first, second = a.read(), b.read()
    # a worker whose turn found the other's ticket for the key may say 409: the client retries
    if first.get("error") == "TurnInProgressError":
        first = turn_when_free(a, "s", texts[0], "kk")
    if second.get("error") == "TurnInProgressError":
        second = turn_when_free(b, "s", texts[1], "kk")
    turns = [t for t in store.turns("s") if t.idempotency_key == "kk"]
    assert len(turns) == 1, f"the key committed {len(turns)} times: {turns}"
    winner = first if turns[0].user_text == texts[0] else second
    loser = second if winner is first else first
    ok(winner)
    assert winner["reply"] == turns[0].reply
    if same_text:
        ok(loser)
        assert loser["reply"] == winner["reply"], (first, second)
    else:
        assert loser.get("error") == "IdempotencyKeyReusedError", (first, second)
    check_session(store, "s")


def test_threads_share_one_optimistic_runner(url, local):
    """An ASGI app runs turns in threads: one optimistic runner, 4 threads, 3 sessions."""
    import threading

    store, sessions, _ = local
    runner = TurnRunner(sup.make_autogram("chain"), store, optimistic=True)
    sids = ["t0", "t1", "t2"]
    for sid in sids:
        sessions.create(sid)
    errors: list[BaseException] = []

    def client(n: int) -> None:
        rng = random.Random(n)
        try:
            for i in range(12):
                sid = rng.choice(sids)
                runner.run_turn(sid, f"c{n}-{i}", f"k{n}-{i}")
        except BaseException as exc:  # noqa: BLE001 -- reported below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert sum(len(check_session(store, sid)) for sid in sids) == 48


def test_same_key_in_two_sessions_is_two_messages(url, local):
    store, sessions, _ = local
    runner = TurnRunner(sup.make_autogram("chain"), store, optimistic=True)
    for sid in ("p", "q"):
        sessions.create(sid)
        runner.run_turn(sid, "m0", "k0")
    first = runner.run_turn("p", "hello", "shared")
    second = runner.run_turn("q", "other", "shared")
    assert not second.replayed and second.reply == sup.expected_chain(["m0", "other"])[-1]
    assert first.reply == sup.expected_chain(["m0", "hello"])[-1]


def test_more_sessions_than_kept_copies(url, local):
    """Past the runner's kept copies (256 per runner), sessions are evicted, never mixed."""
    store, sessions, claimed = local
    runner = TurnRunner(sup.make_autogram("chain"), store, optimistic=True)
    sids = [f"e{i}" for i in range(270)]
    for sid in sids:
        sessions.create(sid)
        runner.run_turn(sid, f"{sid}-0", "k0")
    claimed.run_turn("e5", "e5-x", "kx")  # an evicted copy's session moves on elsewhere
    claimed.run_turn("e269", "e269-x", "kx")  # a kept copy's session moves on elsewhere
    for sid in sids[:10] + sids[-10:]:
        runner.run_turn(sid, f"{sid}-1", "k1")
    for sid in sids[:10] + sids[-10:]:
        check_session(store, sid)


# ----------------------------------------------------------------------------- stale copy, errors


def test_stale_copy_raising_is_not_the_sessions_error(url, local):
    store, sessions, claimed = local
    sessions.create("a")
    kept = sup.LocalWorker(sup.make_autogram("chain"), store, optimistic=True)
    for i in range(3):  # the bot's count is 2 on the copy
        ok(kept.turn("a", f"m{i}", f"k{i}"))
    claimed.run_turn("a", "m3", "k3")  # count 3 on the session: 'odd?' fails at odd counts
    answer = kept.turn("a", "odd?", "k4")
    assert answer.get("ok"), f"the message was refused by the copy's state: {answer}"
    check_session(store, "a", {"k4": answer["reply"]})


def test_stale_copy_rerun_is_billed_not_stored(url, model):
    """A turn on an old copy runs again on the session: its first model call is billed through
    on_billed, the session's usage holds only the committed run's (docs/stores.md)."""
    store = open_store(url)
    try:
        autogram = sup.make_autogram("model", base_url=model.base_url)
        sessions = Sessions(autogram, store)
        kept = TurnRunner(autogram, store, optimistic=True)
        other = TurnRunner(sup.make_autogram("model", base_url=model.base_url), store)
        sessions.create("b")
        for i in range(3):
            kept.run_turn("b", f"m{i}", f"k{i}")
        other.run_turn("b", "m3", "k3")
        before_calls, before_usage = model.calls, sessions.get("b").usage
        billed = []
        result = kept.run_turn("b", "m4", "k4", on_billed=billed.append)
        assert model.calls - before_calls == 2, "the old copy's run and the run on the session"
        assert result.usage.calls == 1, result.usage
        wasted = sum(getattr(u, "calls", 0) for u in billed)
        assert wasted == 1, f"on_billed was given {billed}"
        after = sessions.get("b").usage
        assert after.calls == before_usage.calls + 1, (before_usage, after)
    finally:
        store.close()


def test_postmaster_killed_under_mixed_load(cluster, workers):
    """PostgreSQL killed twice (postmaster and backends, SIGKILL) under optimistic and claimed
    workers whose clients retry with the same key: every acknowledged turn is stored, once."""
    url = cluster.new_database()
    store = open_store(url)
    try:
        sessions = Sessions(sup.make_autogram("chain"), store)
        sids = ["p0", "p1", "p2"]
        for sid in sids:
            sessions.create(sid)
        pool = workers.many(url, [{"optimistic": i % 2 == 0} for i in range(3)])
        for w, worker in enumerate(pool):
            jobs = [[sids[(i + w) % 3], f"w{w}-{i}", f"k{w}-{i}"] for i in range(15)]
            worker.send(op="batch", jobs=jobs)
        rng = random.Random(7)
        for _ in range(2):
            time.sleep(0.2 + rng.random() * 0.5)
            cluster.kill_server()
        acked: dict[str, dict[str, str]] = {sid: {} for sid in sids}
        for worker in pool:
            for _ in range(15):
                answer = ok(worker.read(timeout=150))
                acked[answer["sid"]][answer["key"]] = answer["reply"]
            assert worker.read(timeout=30).get("done")
        for sid in sids:
            assert len(check_session(store, sid, acked[sid])) == 15
    finally:
        store.close()


def _forked_turns(runner, sid: str, tag: str, out: str) -> None:
    replies = []
    for i in range(4):
        result = runner.run_turn(sid, f"{tag}-{i}", f"k{tag}-{i}")
        replies.append([f"k{tag}-{i}", result.reply])
    pathlib.Path(out).write_text(json.dumps(replies))


def test_runner_made_before_fork(url, tmp_path):
    """gunicorn --preload: the store and an optimistic runner made in the parent, which ran
    turns (so it keeps copies), then forked; the children run the same sessions."""
    import multiprocessing
    import warnings

    store = open_store(url)
    try:
        autogram = sup.make_autogram("chain")
        sessions = Sessions(autogram, store)
        runner = TurnRunner(autogram, store, optimistic=True)
        sessions.create("f")
        for i in range(3):
            runner.run_turn("f", f"m{i}", f"k{i}")
        context = multiprocessing.get_context("fork")
        outs = [str(tmp_path / f"out{n}.json") for n in range(3)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
            children = [
                context.Process(target=_forked_turns, args=(runner, "f", f"c{n}", outs[n]))
                for n in range(3)
            ]
            for child in children:
                child.start()
        for child in children:
            child.join(120)
            assert child.exitcode == 0, f"a forked worker failed: exit {child.exitcode}"
        runner.run_turn("f", "parent", "kparent")  # the parent's copy is the oldest now
        acked = {}
        for out in outs:
            acked.update(dict(json.loads(pathlib.Path(out).read_text())))
        assert len(check_session(store, "f", acked)) == 3 + 12 + 1
    finally:
        store.close()

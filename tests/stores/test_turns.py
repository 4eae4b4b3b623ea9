"""The turn runner on SQLite and PostgreSQL: replies, idempotent retries, refusals, the two
policies for a busy session, the fork race, failed turns and tampered blobs."""

from __future__ import annotations

import base64
import functools
import pickle
import random
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from autograms.stores import (
    IdempotencyKeyReusedError,
    SessionBusyError,
    SessionNotFoundError,
    Sessions,
    StoredSessionError,
    TokenUsage,
    TurnResult,
    TurnRunner,
    open_store,
)
from tests.stores import bots
from tests.stores.checks import check_store, replay
from tests.stores.conftest import make_autogram


@pytest.fixture
def store(store_url):
    opened = open_store(store_url)
    yield opened
    opened.close()


def execute_sql(store_url: str, statement: str, parameters: tuple = ()) -> None:
    """Change the database behind the store's back (an operator, an attacker)."""
    if store_url.startswith("sqlite"):
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as connection:
            connection.execute(statement, parameters)
        return
    import psycopg

    with psycopg.connect(store_url, autocommit=True) as connection:
        connection.execute(statement.replace("?", "%s"), parameters)


def start(store, autogram=None, owner=None):
    autogram = autogram or make_autogram()
    session = Sessions(autogram, store).create(owner=owner)
    runner = TurnRunner(autogram, store)
    assert runner.run_turn(session.id, "", f"{session.id}-start").reply == "ready"
    return autogram, runner, session.id


def test_turns_commit_in_order_and_match_a_run_without_store(store) -> None:
    autogram, runner, sid = start(store)
    texts = ["a", "b", "c"]
    results = [runner.run_turn(sid, text, f"k{i}") for i, text in enumerate(texts)]
    expected, _ = replay(autogram, ["", *texts])
    assert [r.reply for r in results] == expected[1:]
    assert [r.version for r in results] == [2, 3, 4]
    assert not any(r.replayed for r in results)
    check_store(autogram, store)


def test_a_retry_with_the_same_key_returns_the_stored_reply_without_running(store) -> None:
    autogram = make_autogram(bots.thinker)
    session = Sessions(autogram, store).create()
    runner = TurnRunner(autogram, store)
    first = runner.run_turn(session.id, "hello", "key-1")
    calls = store.token_usage(session.id).calls
    again = runner.run_turn(session.id, "hello", "key-1")
    assert again.replayed and (again.reply, again.version) == (first.reply, first.version)
    assert store.token_usage(session.id).calls == calls  # no model call: nothing ran
    assert len(store.turns(session.id)) == 1


def test_the_same_key_with_another_message_is_refused_and_changes_nothing(store) -> None:
    autogram, runner, sid = start(store)
    runner.run_turn(sid, "a", "key-a")
    before = store.load_session(sid)
    with pytest.raises(IdempotencyKeyReusedError) as refused:
        runner.run_turn(sid, "something else", "key-a")
    assert refused.value.reason == "key reused" and refused.value.session_id == sid
    assert "key-a" in str(refused.value)
    assert store.load_session(sid) == before


def test_a_session_of_another_owner_is_not_found(store) -> None:
    autogram, runner, sid = start(store, owner="team-a")
    with pytest.raises(SessionNotFoundError) as missing:
        runner.run_turn(sid, "hi", "k", owner="team-b")
    assert missing.value.reason == "not found"
    with pytest.raises(SessionNotFoundError):
        runner.run_turn("no-such-session", "hi", "k")
    assert runner.run_turn(sid, "hi", "k", owner="team-a").version == 2


def test_a_failed_turn_leaves_the_session_exactly_as_it_was_and_records_nothing(
    store, store_url
) -> None:
    autogram, runner, sid = start(store)
    runner.run_turn(sid, "a", "k-a")
    before = (store.load_session(sid), store.turns(sid), store.read_log(sid))
    with pytest.raises(ValueError, match="on purpose"):
        runner.run_turn(sid, bots.BOOM, "k-boom")
    assert (store.load_session(sid), store.turns(sid), store.read_log(sid)) == before
    # the failed turn left the queue: under "reject" the next message runs at once
    rejecting = TurnRunner(autogram, store, policy="reject")
    assert rejecting.run_turn(sid, "b", "k-b").reply == replay(autogram, ["", "a", "b"])[0][2]
    # its key was not used up: a retry of the failed message runs it again
    with pytest.raises(ValueError, match="on purpose"):
        runner.run_turn(sid, bots.BOOM, "k-boom")
    check_store(autogram, store)


def test_a_blob_edited_in_the_database_is_refused_before_unpickling(store, store_url, tmp_path):
    autogram = make_autogram(session_key="secret")
    autogram, runner, sid = start(store, autogram)
    blob = store.load_session(sid).blob
    marker = tmp_path / "unpickled"
    parts = blob.split(".")
    evil = pickle.dumps(_Touch(str(marker)))
    parts[2] = base64.b64encode(evil).decode().rstrip("=")
    execute_sql(
        store_url, "UPDATE autograms_sessions SET blob = ? WHERE id = ?", (".".join(parts), sid)
    )
    with pytest.raises(StoredSessionError) as refused:
        runner.run_turn(sid, "a", "k-a")
    assert refused.value.reason == "tampered" and refused.value.session_id == sid
    assert sid in str(refused.value)
    assert not marker.exists()
    with pytest.raises(StoredSessionError):
        Sessions(autogram, store).get(sid)
    assert not marker.exists()
    assert store.turns(sid)[-1].version == 1  # nothing recorded


def test_an_unsigned_blob_is_refused_when_a_key_is_configured(store, store_url) -> None:
    plain = make_autogram()
    _, _, sid = start(store, plain)
    signed = TurnRunner(make_autogram(session_key="secret"), store)
    with pytest.raises(StoredSessionError) as refused:
        signed.run_turn(sid, "a", "k-a")
    assert refused.value.reason == "unsigned"


@pytest.mark.parametrize(
    "edit",
    [
        ["UPDATE autograms_turns SET reply = 'FORGED' WHERE idempotency_key = 'k-b'"],
        ["UPDATE autograms_turns SET user_text = 'x' WHERE idempotency_key = 'k-b'"],
        # two turn rows with the same message, their keys swapped: each row now answers the
        # other's retry
        [
            "UPDATE autograms_turns SET user_text = 'b' WHERE idempotency_key = 'k-a'",
            "UPDATE autograms_turns SET idempotency_key = 'tmp' WHERE idempotency_key = 'k-a'",
            "UPDATE autograms_turns SET idempotency_key = 'k-a' WHERE idempotency_key = 'k-b'",
            "UPDATE autograms_turns SET idempotency_key = 'k-b' WHERE idempotency_key = 'tmp'",
        ],
    ],
    ids=["reply", "message", "keys swapped"],
)
def test_a_signed_store_never_replays_a_turn_row_edited_in_the_database(
    store, store_url, edit
) -> None:
    autogram, runner, sid = start(store, make_autogram(session_key="secret"))
    runner.run_turn(sid, "a", "k-a")
    committed = runner.run_turn(sid, "b", "k-b")
    assert runner.run_turn(sid, "b", "k-b").reply == committed.reply  # unedited: replayed
    for statement in edit:
        execute_sql(store_url, statement)
    with pytest.raises(StoredSessionError) as refused:
        runner.run_turn(sid, "b", "k-b")
    assert refused.value.reason == "tampered" and refused.value.session_id == sid
    assert "turn row" in str(refused.value)
    assert store.load_session(sid).version == 3  # nothing ran, nothing was written


class _Touch:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def run_in_thread(function, *arguments):
    """Start `function` in a thread; returns a callable that joins it and gives its
    result (or raises its exception)."""
    outcome = {}

    def target():
        try:
            outcome["value"] = function(*arguments)
        except BaseException as error:  # handed to the test thread
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()

    def join():
        thread.join(60)
        assert not thread.is_alive()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    return join


def gate(tmp_path: Path, name: str) -> tuple[str, Path]:
    path = tmp_path / name
    return f"{bots.GATE}{path}", path


def wait_for(path: Path) -> None:
    deadline = time.monotonic() + 30
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.005)


def test_reject_refuses_a_message_for_a_busy_session(store_url, tmp_path) -> None:
    autogram = make_autogram()
    stores = [open_store(store_url) for _ in range(2)]
    try:
        _, _, sid = start(stores[0], autogram)
        first, second = (TurnRunner(autogram, s, policy="reject") for s in stores)
        message, path = gate(tmp_path, "g")
        running = run_in_thread(first.run_turn, sid, message, "k-1")
        wait_for(Path(f"{path}.entered"))
        with pytest.raises(SessionBusyError) as busy:
            second.run_turn(sid, "other", "k-2")
        assert busy.value.reason == "busy" and busy.value.session_id == sid
        path.touch()
        assert running().version == 2
        check_store(autogram, stores[0])
    finally:
        for s in stores:
            s.close()


def test_enqueue_applies_a_second_message_after_the_running_one(store_url, tmp_path) -> None:
    autogram = make_autogram()
    stores = [open_store(store_url) for _ in range(2)]
    try:
        _, _, sid = start(stores[0], autogram)
        first, second = (TurnRunner(autogram, s) for s in stores)
        message, path = gate(tmp_path, "g")
        running = run_in_thread(first.run_turn, sid, message, "k-1")
        wait_for(Path(f"{path}.entered"))
        queued = run_in_thread(second.run_turn, sid, "second", "k-2")
        path.touch()
        assert (running().version, queued().version) == (2, 3)
        turns = check_store(autogram, stores[0])[sid]
        assert [t.user_text for t in turns] == ["", message, "second"]
    finally:
        for s in stores:
            s.close()


@pytest.mark.parametrize("policy", ["enqueue", "reject"])
def test_fork_a_turn_paused_before_commit_never_commits_on_a_stale_base(
    store_url, tmp_path, policy
) -> None:
    """Worker A pauses inside its turn past its lease; B commits; A continues: A's commit is
    refused, then A's message is applied on top of B's (enqueue) or refused (reject). A's
    thread held at the gate stands for a paused worker, which renews no lease (the same with
    a stopped process: test_processes.py)."""
    autogram = make_autogram()
    stores = [open_store(store_url) for _ in range(2)]
    try:
        _, _, sid = start(stores[0], autogram)
        a = TurnRunner(autogram, stores[0], policy=policy, lease_seconds=0.2, renew_lease=False)
        b = TurnRunner(autogram, stores[1], policy=policy, lease_seconds=0.2)
        message, path = gate(tmp_path, "a")
        worker_a = run_in_thread(a.run_turn, sid, message, "k-a")
        wait_for(Path(f"{path}.entered"))
        time.sleep(0.3)  # A is paused past its lease
        assert b.run_turn(sid, "from b", "k-b").version == 2
        path.touch()
        if policy == "enqueue":
            assert worker_a().version == 3
            expected = ["", "from b", message]
        else:
            with pytest.raises(SessionBusyError):
                worker_a()
            expected = ["", "from b"]
        turns = check_store(autogram, stores[0])[sid]
        assert [t.user_text for t in turns] == expected
    finally:
        for s in stores:
            s.close()


def test_a_claim_lost_in_a_crash_costs_a_rerun_never_a_second_application(
    store_url, tmp_path
) -> None:
    """A claim's ticket is written without a flush to disk (serving.md: a lost ticket is a
    lost hint). Removed behind a running turn's back, as a crash of the database's machine
    would lose it, it lets the next message run at once; the version check still applies
    every message exactly once, and a retry of the first with its key replays its reply."""
    autogram = make_autogram()
    stores = [open_store(store_url) for _ in range(2)]
    try:
        _, _, sid = start(stores[0], autogram)
        a = TurnRunner(autogram, stores[0], renew_lease=False)
        b = TurnRunner(autogram, stores[1], wait_seconds=5)
        message, path = gate(tmp_path, "a")
        worker_a = run_in_thread(a.run_turn, sid, message, "k-a")
        wait_for(Path(f"{path}.entered"))
        execute_sql(store_url, "DELETE FROM autograms_queue")  # A's claim, lost
        assert b.run_turn(sid, "from b", "k-b").version == 2
        path.touch()
        assert worker_a().version == 3  # A lost its commit's race and ran again on top
        retried = a.run_turn(sid, message, "k-a")
        assert (retried.version, retried.replayed) == (3, True)
        turns = check_store(autogram, stores[0])[sid]
        assert [t.user_text for t in turns] == ["", "from b", message]
    finally:
        for s in stores:
            s.close()


def test_a_turn_whose_session_is_deleted_and_created_again_is_not_applied_to_the_new_one(
    store, tmp_path
) -> None:
    autogram, runner, sid = start(store, owner="o")
    message, path = gate(tmp_path, "a")
    turn = run_in_thread(runner.run_turn, sid, message, "k-a")
    wait_for(Path(f"{path}.entered"))
    sessions = Sessions(autogram, store)
    sessions.delete(sid, owner="o")
    sessions.create(sid, owner="o")
    path.touch()
    with pytest.raises(SessionNotFoundError) as refused:
        turn()
    assert refused.value.session_id == sid and "deleted" in str(refused.value)
    assert store.load_session(sid).version == 0 and store.turns(sid) == []
    assert runner.run_turn(sid, "", "k-new").reply == "ready"  # the new session is free


def test_vet_sees_the_claim_with_the_committed_turns_and_may_run_refuse_or_answer(store):
    """`run_turn(vet=...)` shows the claim, with the session's committed turns read in the
    claim's transaction, before the turn runs or a committed one is replayed."""
    autogram, runner, sid = start(store)
    seen = []

    def letting(claim):
        seen.append(claim)

    assert runner.run_turn(sid, "a", "k-a", vet=letting).version == 2
    assert [turn.user_text for turn in seen[-1].turns] == [""]
    assert seen[-1].turns == store.turns(sid)[:1] and seen[-1].done is None

    class Refused(Exception):
        pass

    def refusing(claim):
        raise Refused

    with pytest.raises(Refused):
        runner.run_turn(sid, "b", "k-b", vet=refusing)
    answer = TurnResult(sid, "stored elsewhere", 2, replayed=True)
    assert runner.run_turn(sid, "c", "k-c", vet=lambda claim: answer) is answer
    assert store.load_session(sid).version == 2  # neither ran
    # the refused and the answered turns left the queue: the next one runs at once
    quick = TurnRunner(autogram, store, wait_seconds=0)
    assert quick.run_turn(sid, "d", "k-d").version == 3
    # a retry of a committed key is vetted too, the claim naming that turn
    runner.run_turn(sid, "a", "k-a", vet=letting)
    assert seen[-1].done.idempotency_key == "k-a"
    assert [turn.user_text for turn in seen[-1].turns] == ["", "a", "d"]


def test_vet_without_turns_sees_the_history_digest_of_the_conversation(store):
    """`run_turn(vet=..., vet_turns=False)`: the claim carries no turns, and its session's
    history digest says whether a conversation is the session's (what serve compares)."""
    from autograms.stores import history

    autogram, runner, sid = start(store)
    seen = []
    first = runner.run_turn(sid, "a", "k-a", vet=seen.append, vet_turns=False)
    assert seen[-1].turns is None
    held = history.of_messages([("user", ""), ("assistant", "ready")])
    assert seen[-1].session.history_digest == held
    runner.run_turn(sid, "b", "k-b", vet=seen.append, vet_turns=False)
    held = history.extend(held, [("user", "a"), ("assistant", first.reply.strip())])
    assert seen[-1].session.history_digest == held
    assert held != history.of_messages([("user", ""), ("assistant", "ready"), ("user", "a")])


def test_runners_share_one_lease_thread(store) -> None:
    """A runner made per request starts no thread of its own: one renewing thread serves
    every runner of the process."""
    autogram = make_autogram()
    sid = Sessions(autogram, store).create().id
    for number in range(20):
        TurnRunner(autogram, store).run_turn(sid, "" if number == 0 else f"m{number}", f"k{number}")
    leases = [t for t in threading.enumerate() if t.name == "autograms-leases"]
    assert len(leases) <= 1


def test_a_short_lease_taken_while_the_lease_thread_sleeps_long_is_still_renewed(
    store, tmp_path
) -> None:
    """The renewing thread, idle after a turn with a long lease, looks again only a third of
    that lease later; a turn with a shorter lease must still have it renewed in time: its
    message holds the session for many of its leases, and another is refused as busy."""
    autogram = make_autogram()
    sid = Sessions(autogram, store).create().id
    TurnRunner(autogram, store, lease_seconds=60).run_turn(sid, "", "k0")  # thread: 20 s naps
    short = TurnRunner(autogram, store, lease_seconds=0.3)
    message, path = gate(tmp_path, "short")
    running = run_in_thread(short.run_turn, sid, message, "k1")
    try:
        wait_for(Path(f"{path}.entered"))
        time.sleep(1.2)  # four of its leases
        with pytest.raises(SessionBusyError):
            TurnRunner(autogram, store, policy="reject").run_turn(sid, "other", "k2")
    finally:
        path.touch()
    assert running().version == 2


def test_on_billed_is_told_the_model_calls_of_each_failed_turn(store) -> None:
    """Generated conversations: each turn makes a random number of model calls and, at
    random, fails; `on_billed` hears of each failed turn's calls once, the session's usage
    counts the committed turns' alone."""
    autogram = make_autogram(bots.spender)
    runner = TurnRunner(autogram, store)
    for case in range(4):
        rng = random.Random(case)
        sid = Sessions(autogram, store).create().id
        runner.run_turn(sid, "", f"{case}-open")
        billed: list[TokenUsage] = []
        failed, committed = [], 0
        for number in range(rng.randint(3, 10)):
            calls, fails = rng.randint(0, 3), rng.random() < 0.4
            message = f"{calls} {bots.BOOM}" if fails else f"{calls} ok"
            if fails:
                with pytest.raises(ValueError, match="on purpose"):
                    runner.run_turn(sid, message, f"{case}-{number}", on_billed=billed.append)
                failed += [calls] if calls else []
            else:
                result = runner.run_turn(sid, message, f"{case}-{number}", on_billed=billed.append)
                assert result.usage.calls == calls, (case, number, result)
                committed += calls
        assert [usage.calls for usage in billed] == failed, (case, billed)
        assert store.token_usage(sid).calls == committed, case


def test_on_billed_is_told_the_model_calls_of_a_run_that_lost_its_commit(
    store_url, tmp_path
) -> None:
    autogram = make_autogram(bots.spender)
    stores = [open_store(store_url) for _ in range(2)]
    try:
        _, _, sid = start(stores[0], autogram)
        a = TurnRunner(autogram, stores[0], lease_seconds=0.2, renew_lease=False)
        b = TurnRunner(autogram, stores[1], lease_seconds=0.2)
        gate_message, path = gate(tmp_path, "a")
        billed: list[TokenUsage] = []
        turn = functools.partial(a.run_turn, on_billed=billed.append)
        worker_a = run_in_thread(turn, sid, f"2 {gate_message}", "k-a")
        wait_for(Path(f"{path}.entered"))
        time.sleep(0.3)  # A is paused past its lease
        assert b.run_turn(sid, "0 from b", "k-b").version == 2
        path.touch()
        result = worker_a()  # lost its commit, ran again on top of B's turn
        assert (result.version, result.usage.calls) == (3, 2)
        assert [usage.calls for usage in billed] == [2], billed
    finally:
        for s in stores:
            s.close()

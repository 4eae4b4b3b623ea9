"""``TurnRunner(optimistic=True)`` on SQLite and PostgreSQL: a session's later turns run on the
copy the runner committed, without a claim, and commit only if nothing happened to the
session since -- another turn committed, a turn holds a ticket, the key was used, the session
was made again. Otherwise the turn runs again through the claim, as any turn does."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from autograms.stores import (
    SessionNotFoundError,
    Sessions,
    StoredSessionError,
    TurnRunner,
    open_store,
)
from tests.stores import bots
from tests.stores.checks import check_store, replay
from tests.stores.conftest import make_autogram
from tests.stores.test_turns import execute_sql, gate, run_in_thread, wait_for


@pytest.fixture
def stores(store_url):
    """Two stores on one database: two workers."""
    opened = [open_store(store_url) for _ in range(2)]
    yield opened
    for store in opened:
        store.close()


def count_claims(store) -> list[int]:
    """A counter of the claims made on `store` (its method wrapped)."""
    claims = [0]
    claim = store.claim

    def counted(*arguments, **options):
        claims[0] += 1
        return claim(*arguments, **options)

    store.claim = counted
    return claims


def new_session(store, autogram) -> str:
    return Sessions(autogram, store).create().id


def test_only_the_first_turn_of_each_session_is_claimed_and_the_transcripts_match(
    stores,
) -> None:
    autogram, store = make_autogram(), stores[0]
    claims = count_claims(store)
    runner = TurnRunner(autogram, store, optimistic=True)
    sessions = [new_session(store, autogram) for _ in range(4)]
    chooser = random.Random(7)
    sent = {sid: [""] for sid in sessions}
    for sid in sessions:
        runner.run_turn(sid, "", f"{sid}-start")
    for number in range(40):
        sid = chooser.choice(sessions)
        text = f"m{number}-{chooser.randrange(1000)}"
        result = runner.run_turn(sid, text, f"{sid}-{number}")
        sent[sid].append(text)
        assert result.reply == replay(autogram, sent[sid])[0][-1]
        assert result.version == len(sent[sid])
    assert claims[0] == len(sessions), "a kept session's turn was claimed"
    turns = check_store(autogram, store)
    assert {sid: [t.user_text for t in turns[sid]] for sid in sessions} == sent


def test_a_turn_on_a_copy_another_worker_made_old_runs_again_on_top(stores) -> None:
    autogram = make_autogram(bots.spender)
    a = TurnRunner(autogram, stores[0], optimistic=True)
    b = TurnRunner(autogram, stores[1])
    sid = new_session(stores[0], autogram)
    a.run_turn(sid, "", "k-0")
    a.run_turn(sid, "0 a1", "k-a1")  # kept by A at version 2
    b.run_turn(sid, "0 b", "k-b")  # version 3: A's copy is old
    claims, billed = count_claims(stores[0]), []
    result = a.run_turn(sid, "2 a2", "k-a2", on_billed=billed.append)
    assert (result.version, result.reply) == (4, "made 2 calls")
    assert claims[0] == 1, "the turn did not run again through a claim"
    assert [usage.calls for usage in billed] == [2], "the run not committed was not billed"
    assert [t.user_text for t in stores[0].turns(sid)] == ["", "0 a1", "0 b", "2 a2"]


def test_a_turn_on_a_copy_never_overtakes_a_turn_holding_a_ticket(stores, tmp_path) -> None:
    """B's turn holds a ticket and runs; A's turn, on A's copy of the same version, ends
    first: its commit is refused, and it waits for B's and is applied after it (the store's
    arrival order)."""
    autogram = make_autogram()
    a = TurnRunner(autogram, stores[0], optimistic=True)
    b = TurnRunner(autogram, stores[1])
    sid = new_session(stores[0], autogram)
    a.run_turn(sid, "", "k-0")
    message, path = gate(tmp_path, "b")
    worker_b = run_in_thread(b.run_turn, sid, message, "k-b")
    wait_for(Path(f"{path}.entered"))
    worker_a = run_in_thread(a.run_turn, sid, "from a", "k-a")
    wait_for_queued(stores[0], sid)
    path.touch()
    assert (worker_b().version, worker_a().version) == (2, 3)
    turns = check_store(autogram, stores[0])[sid]
    assert [t.user_text for t in turns] == ["", message, "from a"]


def test_fork_a_turn_on_a_copy_paused_while_another_commits_never_commits(stores, tmp_path) -> None:
    """A's turn runs on its copy (no ticket, so nothing keeps B waiting); B commits; A
    continues: its commit is refused, then its message is applied on top of B's."""
    autogram = make_autogram()
    a = TurnRunner(autogram, stores[0], optimistic=True)
    b = TurnRunner(autogram, stores[1])
    sid = new_session(stores[0], autogram)
    a.run_turn(sid, "", "k-0")
    message, path = gate(tmp_path, "a")
    worker_a = run_in_thread(a.run_turn, sid, message, "k-a")
    wait_for(Path(f"{path}.entered"))
    assert b.run_turn(sid, "from b", "k-b").version == 2
    path.touch()
    assert worker_a().version == 3
    turns = check_store(autogram, stores[0])[sid]
    assert [t.user_text for t in turns] == ["", "from b", message]


def test_optimistic_needs_the_enqueue_policy(stores) -> None:
    with pytest.raises(ValueError, match="optimistic=True needs policy 'enqueue'"):
        TurnRunner(make_autogram(), stores[0], policy="reject", optimistic=True)


def wait_for_queued(store, session_id: str, tickets: int = 2) -> None:
    """Until `tickets` tickets of the session are in its queue (a turn waits behind one)."""
    deadline = time.monotonic() + 30
    while True:
        found = store._read_row(
            "SELECT COUNT(*) FROM autograms_queue WHERE session_id = ?", (session_id,)
        )[0]
        if found >= tickets:
            return
        assert time.monotonic() < deadline, f"{found} tickets in the queue, never {tickets}"
        time.sleep(0.005)


def test_a_retry_of_the_kept_turns_key_is_replayed_without_running(stores) -> None:
    """The key of the turn that made the copy: replayed by the claim, nothing run (nothing
    billed). An older key: the copy's run is refused at the commit (billed), then replayed."""
    autogram = make_autogram(bots.spender)
    runner = TurnRunner(autogram, stores[0], optimistic=True)
    sid = new_session(stores[0], autogram)
    runner.run_turn(sid, "", "k-0")
    first = runner.run_turn(sid, "1 hello", "k-1")
    billed = []
    again = runner.run_turn(sid, "1 hello", "k-1", on_billed=billed.append)
    assert (again.reply, again.version, again.replayed) == (first.reply, 2, True)
    assert billed == [], "the retry ran the program"
    assert runner.run_turn(sid, "1 next", "k-2").version == 3
    older = runner.run_turn(sid, "1 hello", "k-1", on_billed=billed.append)
    assert (older.reply, older.version, older.replayed) == (first.reply, 2, True)
    assert [usage.calls for usage in billed] == [1]
    assert [t.user_text for t in stores[0].turns(sid)] == ["", "1 hello", "1 next"]


@pytest.mark.parametrize("remade", ["created", "imported"])
def test_a_session_made_again_before_the_turn_gets_it_as_a_claimed_runner_would(
    stores, tmp_path, remade
) -> None:
    """The copy kept from before the session was deleted is never written: the turn runs
    through the claim on the session made since (another conversation under the id, even at
    the copy's version), as the same call on a runner without copies does."""
    autogram = make_autogram()
    runner = TurnRunner(autogram, stores[0], optimistic=True)
    sessions = Sessions(autogram, stores[1])
    sid = new_session(stores[0], autogram)
    runner.run_turn(sid, "", "k-0")
    runner.run_turn(sid, "one", "k-1")
    b = TurnRunner(autogram, stores[1])
    if remade == "created":
        sessions.delete(sid)
        sessions.create(sid)
        b.run_turn(sid, "", "n-0")
        b.run_turn(sid, "new", "n-1")  # the new session is at the old copy's version
        sent = ["", "new", "two"]
    else:
        other = new_session(stores[1], autogram)
        for number, text in enumerate(["", "x", "y"]):
            b.run_turn(other, text, f"o-{number}")
        sessions.export_file(other, tmp_path / "other.session")
        sessions.delete(sid)
        sessions.import_file(tmp_path / "other.session", sid)
        sent = ["", "x", "y", "two"]
    result = runner.run_turn(sid, "two", "k-2")
    assert result.reply == replay(autogram, sent)[0][-1], "ran on the old copy"
    stored = [t.user_text for t in stores[0].turns(sid)]
    assert stored == (sent if remade == "created" else ["two"]), stored
    assert runner.run_turn(sid, "three", "k-3").version == result.version + 1
    if remade == "created":  # (an imported session's turns begin after its file's)
        check_store(autogram, stores[0])


def test_a_kept_session_of_another_owner_is_not_found(stores) -> None:
    autogram = make_autogram()
    runner = TurnRunner(autogram, stores[0], optimistic=True)
    sid = Sessions(autogram, stores[0]).create(owner="o").id
    runner.run_turn(sid, "", "k-0", owner="o")
    with pytest.raises(SessionNotFoundError):
        runner.run_turn(sid, "x", "k-1", owner="someone else")
    assert runner.run_turn(sid, "x", "k-1", owner="o").version == 2


@pytest.mark.parametrize("key", [None, "secret"])
@pytest.mark.parametrize("column", ["owner", "program"])
def test_an_owner_or_program_edited_under_a_kept_copy_is_left_to_the_claim(
    stores, store_url, key, column
) -> None:
    """The row's owner or program changed in the database after the copy was kept: the copy
    is not committed, and the claim decides as for any turn -- another owner's session is
    not found; in a signed store another program is refused as tampered (the seal binds
    it); in an unsigned one the program column is a label the claimed turn goes past (the
    blob names its program), so the turn is committed through the claim."""
    autogram = make_autogram(session_key=key)
    runner = TurnRunner(autogram, stores[0], optimistic=True)
    sid = Sessions(autogram, stores[0]).create(owner="al").id
    for number, text in enumerate(["", "one"]):
        runner.run_turn(sid, text, f"k-{number}", owner="al")
    value = "eve" if column == "owner" else "someone.else:chatbot"
    execute_sql(store_url, f"UPDATE autograms_sessions SET {column} = ? WHERE id = ?", (value, sid))
    claims = count_claims(stores[0])
    if column == "program" and key is None:
        assert runner.run_turn(sid, "two", "k-2", owner="al").version == 3
        assert claims[0] == 1, "the copy was committed over the edited row"
        return
    with pytest.raises((SessionNotFoundError, StoredSessionError)) as refused:
        runner.run_turn(sid, "two", "k-2", owner="al")
    assert refused.value.session_id == sid
    expected = "not found" if column == "owner" else "tampered"
    assert refused.value.reason == expected, refused.value
    assert stores[1].load_session(sid).version == 2
    assert [t.user_text for t in stores[1].turns(sid)] == ["", "one"]


@pytest.mark.parametrize("copy", ["old", "current"])
def test_a_turn_that_fails_on_a_copy_fails_only_if_the_session_would_fail_it(stores, copy) -> None:
    """The program raises on the kept copy: on a copy another worker made old, the error
    is the copy's and the turn runs through the claim on the session (which takes the
    message); on a current copy it is the session's own, and reaches the caller."""
    autogram = make_autogram(bots.picky)
    runner = TurnRunner(autogram, stores[0], optimistic=True)
    sid = new_session(stores[0], autogram)
    sent = ["", "a"]
    for number, text in enumerate(sent):
        runner.run_turn(sid, text, f"k-{number}")  # the copy has seen one message: odd
    if copy == "old":
        TurnRunner(autogram, stores[1]).run_turn(sid, "b", "k-b")  # two on the session
        sent.append("b")
        result = runner.run_turn(sid, bots.ODD, "k-odd")
        sent.append(bots.ODD)
        assert result.reply == replay(autogram, sent)[0][-1]
    else:
        with pytest.raises(ValueError, match="odd number"):
            runner.run_turn(sid, bots.ODD, "k-odd")
    assert [t.user_text for t in stores[1].turns(sid)] == sent
    check_store(autogram, stores[1])


def test_turns_on_copies_in_a_signed_store_are_sealed_as_claimed_ones(stores) -> None:
    """The kept copy carries the seal and log head its commit wrote: the next turn on it
    checks them as a claimed turn checks the row's, and what it commits checks out."""
    autogram = make_autogram(session_key="secret")
    runner = TurnRunner(autogram, stores[0], optimistic=True)
    sid = new_session(stores[0], autogram)
    claims = count_claims(stores[0])
    texts = ["", "one", "two", "three"]
    for number, text in enumerate(texts):
        runner.run_turn(sid, text, f"k-{number}")
    assert claims[0] == 1
    turns = check_store(autogram, stores[0])[sid]
    assert [t.user_text for t in turns] == texts
    claimed = TurnRunner(autogram, stores[1])  # a claimed turn checks the stored seals
    assert claimed.run_turn(sid, "four", "k-4").version == 5

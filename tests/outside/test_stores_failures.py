"""Outside tests of issue 13 (README "Sessions in a database"): failed turns.

"A failed turn (the program raises, the model is down) records nothing and the error reaches the
caller." A message the store cannot take must not leave the session busy: with the default
lease of 30 s every later message of the conversation is refused (or waits) for half a minute.
"""

import os
import signal
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stores_outside_support as sup  # noqa: E402

from autograms.stores import (  # noqa: E402
    InvalidInputError,
    SessionBusyError,
    TurnInProgressError,
)


@pytest.fixture
def stores():
    opened = []
    yield opened
    for store in opened:
        store.close()


def _setup(backend, tmp_path, stores, **options):
    options.setdefault("lease_seconds", 20)
    options.setdefault("wait_seconds", 2)
    url = sup.new_store_url(backend, tmp_path)
    store, sessions, runner = sup.open_all(sup.echo, url, **options)
    stores.append(store)
    sid = sessions.create(owner="o").id
    assert runner.run_turn(sid, "hi", "k0").reply == "ready"
    return url, store, sessions, runner, sid


def _snapshot(store, sessions, sid):
    rec = sessions.record(sid)
    return (
        rec.version,
        rec.blob,
        [t.idempotency_key for t in store.turns(sid)],
        len(sessions.log(sid)),
    )


# ---------------------------------------------------------------------------------------------
# What holds


@pytest.mark.parametrize("backend", sup.BACKENDS)
def test_bot_exception_records_nothing_and_frees_the_key_and_the_session(backend, tmp_path, stores):
    url, store, sessions, runner, sid = _setup(backend, tmp_path, stores)
    before = _snapshot(store, sessions, sid)
    with pytest.raises(RuntimeError, match="boom in the bot"):
        runner.run_turn(sid, "boom", "k1")
    assert _snapshot(store, sessions, sid) == before
    # the key was not used: another text with it is a new message (at once: wait_seconds=2)
    assert runner.run_turn(sid, "fine", "k1").reply == "1:fine"


@pytest.mark.parametrize("backend", sup.BACKENDS)
@pytest.mark.parametrize("text,exc", [("sysexit", SystemExit)])
def test_base_exception_in_bot_frees_the_session(backend, text, exc, tmp_path, stores):
    url, store, sessions, runner, sid = _setup(backend, tmp_path, stores)
    before = _snapshot(store, sessions, sid)
    with pytest.raises(exc):
        runner.run_turn(sid, text, "k1")
    assert _snapshot(store, sessions, sid) == before
    assert runner.run_turn(sid, "next", "k2").reply == "1:next"


@pytest.mark.parametrize("backend", sup.BACKENDS)
def test_model_down_records_nothing_and_token_usage_is_summed_from_the_log(
    backend, tmp_path, stores
):
    server = sup.start_model_server()
    try:
        autogram = sup.model_autogram(server.server_address[1])
        url = sup.new_store_url(backend, tmp_path)
        store, sessions, runner = sup.open_all(autogram, url, lease_seconds=20, wait_seconds=2)
        stores.append(store)
        sid = sessions.create().id
        assert runner.run_turn(sid, "hello", "k0").reply == "ready"
        first = runner.run_turn(sid, "one", "k1")
        assert first.reply == "model says hi"
        assert (first.usage.calls, first.usage.prompt_tokens, first.usage.completion_tokens) == (
            1,
            7,
            3,
        )
        before = _snapshot(store, sessions, sid)
        server.fail = True
        with pytest.raises(Exception) as info:
            runner.run_turn(sid, "two", "k2")
        assert "400" in str(info.value)
        assert _snapshot(store, sessions, sid) == before
        server.fail = False
        assert runner.run_turn(sid, "two", "k2").reply == "model says hi"
        usage = sessions.get(sid).usage
        assert (usage.calls, usage.prompt_tokens, usage.completion_tokens) == (2, 14, 6)
        model_entries = [e for e in sessions.log(sid) if e["entry_type"] == "model"]
        assert [e["usage_log"]["prompt_tokens"] for e in model_entries] == [7, 7]
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------------------------------------
# Messages the store cannot take


def _bad_text_cases():
    return [
        pytest.param("sqlite", "a\x00b", id="sqlite-nul"),
        pytest.param("postgresql", "a\x00b", id="postgresql-nul"),
        pytest.param("sqlite", "half an emoji \ud83d", id="sqlite-surrogate"),
        pytest.param("postgresql", "half an emoji \ud83d", id="postgresql-surrogate"),
    ]


@pytest.mark.parametrize("backend,text", _bad_text_cases())
def test_store_runs_any_message_autogram_reply_runs(backend, text, tmp_path, stores):
    """Or refuses it before the program runs, naming it, when the database cannot hold it
    (a lone surrogate is not Unicode text; PostgreSQL text holds no NUL): nothing is written."""
    url, store, sessions, runner, sid = _setup(backend, tmp_path, stores)
    plain = sup.plain_replies(sup.echo, ["hi", text])
    assert plain[1] == f"1:{text}"
    before = _snapshot(store, sessions, sid)
    try:
        result = runner.run_turn(sid, text, "k1")
    except InvalidInputError as exc:
        assert exc.reason in ("not unicode", "nul character") and "user_text" in str(exc)
        assert _snapshot(store, sessions, sid) == before
        return
    assert result.reply == plain[1]
    assert sessions.get(sid).history[-2:] == [
        {"role": "user", "content": text},
        {"role": "assistant", "content": plain[1]},
    ]


@pytest.mark.parametrize("backend", sup.BACKENDS)
def test_none_message_is_refused_before_the_program_runs_or_taken_as_empty(
    backend, tmp_path, stores
):
    url, store, sessions, runner, sid = _setup(backend, tmp_path, stores)
    try:
        result = runner.run_turn(sid, None, "k1")
    except TypeError as exc:
        assert "user_text" in str(exc)
    else:
        # Autogram.reply(None) answers as for an empty message
        assert result.reply == sup.plain_replies(sup.echo, ["hi", None])[1]


def _refused_cases():
    cases = []
    for backend in sup.BACKENDS:
        for name, text in (("none", None), ("surrogate", "x\ud800"), ("nul", "a\x00b")):
            cases.append(pytest.param(backend, text, id=f"{backend}-{name}"))
    return cases


@pytest.mark.parametrize("backend,text", _refused_cases())
def test_a_message_the_store_refuses_leaves_the_session_free(backend, text, tmp_path, stores):
    """Whatever the store says about the message, the conversation goes on at once: the next
    message runs, and the refused key can be retried with a good text."""
    url, store, sessions, runner, sid = _setup(backend, tmp_path, stores)
    try:
        runner.run_turn(sid, text, "k1")
        refused = False
    except Exception:  # noqa: BLE001 - any refusal will do here
        refused = True
    version = sessions.record(sid).version
    try:
        runner.run_turn(sid, "next", "k2")
        if refused:  # nothing was recorded with the key: a good text may use it
            runner.run_turn(sid, "retry", "k1")
    except (SessionBusyError, TurnInProgressError) as exc:
        pytest.fail(f"the session stayed busy after a refused message: {exc!r}")
    assert sessions.record(sid).version == version + (2 if refused else 1)


# ---------------------------------------------------------------------------------------------
# A turn interrupted while it waits in the queue


@pytest.mark.parametrize("backend", sup.BACKENDS)
def test_interrupted_wait_in_the_queue_leaves_no_ticket(backend, tmp_path, stores):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("needs the main thread for SIGALRM")
    url, store, sessions, runner, sid = _setup(backend, tmp_path, stores, wait_seconds=10)
    paused = sup.PausedTurn(runner, sid, "A", tmp_path)

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    def ctrl_c_once_queued():
        # B waits behind A once its ticket is in the queue (A's and B's): then Ctrl-C
        t0 = time.monotonic()
        while time.monotonic() - t0 < 20:
            if (
                sup.sql(url, "SELECT count(*) FROM autograms_queue WHERE session_id = ?", (sid,))[
                    0
                ][0]
                >= 2
            ):
                break
            time.sleep(0.02)
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGALRM)

    old = signal.signal(signal.SIGALRM, interrupt)
    try:
        threading.Thread(target=ctrl_c_once_queued, daemon=True).start()
        with pytest.raises(KeyboardInterrupt):
            runner.run_turn(sid, "B", "B")  # waits behind A, then Ctrl-C
    finally:
        signal.signal(signal.SIGALRM, old)
    assert paused.release().reply == "1:block-A"
    fast = sup.TurnRunner(sup.echo, store, lease_seconds=20, wait_seconds=2)
    try:
        assert fast.run_turn(sid, "C", "C").reply == "2:block-A|C"
    except SessionBusyError as exc:
        pytest.fail(f"the interrupted turn still holds the session: {exc!r}")

"""The threads turns run in (`autograms.serve.threads`): handed over at once, at most the
limit at a time, reused, daemon, and a turn's outcome on its future."""

from __future__ import annotations

import threading
import time

import pytest

from autograms.serve.threads import TurnThreads

#: how long a test waits for something that should happen at once
PATIENCE = 10


def test_a_turn_runs_in_a_daemon_thread_and_its_result_is_on_its_future():
    threads = TurnThreads(4)
    seen = threading.Event()
    names = []

    def work():
        names.append((threading.current_thread().name, threading.current_thread().daemon))
        seen.set()
        return 42

    future = threads.submit(work)
    assert future.result(PATIENCE) == 42
    assert seen.is_set()
    assert names == [("autograms-turn", True)]


def test_an_exception_is_on_the_future_and_the_thread_goes_on():
    threads = TurnThreads(1)
    failed = threads.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failed.result(PATIENCE)
    assert threads.submit(lambda: "next").result(PATIENCE) == "next"


def test_a_turn_cannot_be_cancelled():
    threads = TurnThreads(1)
    release = threading.Event()
    running = threads.submit(lambda: release.wait(PATIENCE))
    waiting = threads.submit(lambda: "ran")
    assert not running.cancel()
    assert not waiting.cancel()
    release.set()
    assert running.result(PATIENCE) is True
    assert waiting.result(PATIENCE) == "ran"


def test_at_most_the_limit_run_at_once_and_the_rest_run_in_turn():
    threads = TurnThreads(2)
    lock = threading.Lock()
    running, most = 0, 0
    release = threading.Event()

    def work():
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        release.wait(PATIENCE)
        with lock:
            running -= 1
        return threading.get_ident()

    futures = [threads.submit(work) for _ in range(6)]
    deadline = time.monotonic() + PATIENCE
    while most < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)  # a third thread, if one were started, would be running by now
    assert most == 2
    release.set()
    idents = {future.result(PATIENCE) for future in futures}
    assert most == 2
    assert len(idents) == 2  # the two threads ran all six turns


def test_an_idle_thread_takes_the_next_turn_instead_of_a_new_one():
    threads = TurnThreads(8)
    idents = set()
    for _ in range(5):
        idents.add(threads.submit(threading.get_ident).result(PATIENCE))
    assert len(idents) == 1


def test_the_limit_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        TurnThreads(0)

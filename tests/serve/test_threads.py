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


def test_one_groups_turns_take_at_most_its_limit_and_the_others_still_run():
    threads = TurnThreads(4, group_limit=2)
    release = threading.Event()
    busy = [threads.submit(lambda: release.wait(PATIENCE), "busy") for _ in range(6)]
    time.sleep(0.2)
    started = time.monotonic()
    assert threads.submit(lambda: "other", "other").result(PATIENCE) == "other"
    assert threads.submit(lambda: "free").result(PATIENCE) == "free"
    assert time.monotonic() - started < PATIENCE / 2
    assert sum(turn.running() and not turn.done() for turn in busy) == 6  # none has ended
    release.set()
    assert [turn.result(PATIENCE) for turn in busy] == [True] * 6


def test_random_groups_never_exceed_their_limit_and_run_in_arrival_order():
    import random

    rng = random.Random(14)
    for _ in range(20):
        _random_round(rng)


def _random_round(rng) -> None:
    limit, group_limit = rng.randint(1, 5), rng.randint(1, 3)
    threads = TurnThreads(limit, group_limit)
    lock = threading.Lock()
    running: dict[str | None, int] = {}
    most: dict[str | None, int] = {}
    order: dict[str | None, list[int]] = {}
    pauses = [rng.random() / 500 for _ in range(40)]

    def work(group, number):
        with lock:
            running[group] = running.get(group, 0) + 1
            most[group] = max(most.get(group, 0), running[group])
            order.setdefault(group, []).append(number)
        time.sleep(pauses[number])
        with lock:
            running[group] -= 1
        if number % 7 == 3:
            raise ValueError(number)
        return number

    turns = []
    for number in range(rng.randint(1, 40)):
        group = rng.choice(["a", "b", "c", None])
        future = threads.submit(lambda g=group, n=number: work(g, n), group)
        turns.append((group, number, future))
    for _group, number, future in turns:
        if number % 7 == 3:
            with pytest.raises(ValueError):
                future.result(PATIENCE)
        else:
            assert future.result(PATIENCE) == number
    for group, seen in most.items():
        assert seen <= (group_limit if group is not None else limit), (group, seen)
    if group_limit == 1:  # one at a time: a group's turns start in the order they came
        for group in ("a", "b", "c"):
            assert order.get(group, []) == [n for g, n, _ in turns if g == group]

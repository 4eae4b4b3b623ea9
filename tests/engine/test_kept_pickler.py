"""The snapshot pickler each thread keeps between pauses: every dump starts as a new pickler
would (nothing of an earlier dump is remembered, kept alive or written again), whatever the
earlier dump did (failed, ran in another thread, or ran a dump of its own inside it)."""

from __future__ import annotations

import gc
import pickle
import random
import threading
import weakref

import pytest

from autograms._frames import pickling
from autograms._frames.resources import ResourceRefused


class _Saved:
    """An object a snapshot copies (weakly referable)."""

    def __init__(self, value: object) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Saved) and other.value == self.value


class _SavesItsValueInside:
    """Pickled as a snapshot of its value made while the outer snapshot is being written."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __reduce__(self) -> tuple:
        return (_SavesItsValueInside.from_blob, (pickling.dumps(self.value),))

    @staticmethod
    def from_blob(blob: bytes) -> _SavesItsValueInside:
        return _SavesItsValueInside(pickle.loads(blob))


def _round_trip(value: object) -> object:
    return pickle.loads(pickling.dumps(value))


def test_a_dump_keeps_nothing_it_saved_alive() -> None:
    saved = _Saved([1, 2, 3])
    watcher = weakref.ref(saved)
    assert _round_trip((saved, [saved])) == (saved, [saved])
    del saved
    gc.collect()
    assert watcher() is None, "the pickler kept for the next dump still holds a saved object"


def test_a_refused_dump_leaves_nothing_in_the_next_one() -> None:
    shared = [1, 2, 3]
    with pytest.raises(ResourceRefused):
        pickling.dumps((shared, threading.Lock()))
    loaded = _round_trip((shared, shared))
    assert loaded == ([1, 2, 3], [1, 2, 3]), f"loaded {loaded!r}"
    assert loaded[0] is loaded[1]


def test_consecutive_dumps_are_each_what_a_new_pickler_writes() -> None:
    rng = random.Random(11)
    for _ in range(50):
        shared = [rng.randrange(100) for _ in range(rng.randrange(5))]
        value = (shared, {"k": shared, "n": rng.random()}, _Saved(shared))
        blob = pickling.dumps(value)
        assert blob == pickling.dumps(value)
        loaded = pickle.loads(blob)
        assert loaded == value
        assert loaded[0] is loaded[1]["k"] is loaded[2].value


def test_a_dump_made_inside_a_dump_leaves_the_outer_one_whole() -> None:
    shared = [7, 8]
    value = (shared, _SavesItsValueInside((shared, [shared])), shared, _Saved(shared))
    loaded = _round_trip(value)
    assert loaded[0] is loaded[2] is loaded[3].value == [7, 8]
    inner = loaded[1].value
    assert inner == ([7, 8], [[7, 8]]) and inner[0] is inner[1][0]
    assert _round_trip((shared, shared)) == ([7, 8], [7, 8])


def test_threads_dumping_at_once_each_get_their_own_values() -> None:
    threads, rounds = 4, 200
    start = threading.Barrier(threads)
    wrong: list[str] = []

    def dump_many(seed: int) -> None:
        rng = random.Random(seed)
        start.wait(timeout=60)
        for _ in range(rounds):
            shared = [seed] * rng.randrange(1, 6)
            value = (shared, _Saved(shared), {seed: shared})
            loaded = pickle.loads(pickling.dumps(value))
            if loaded != value or loaded[0] is not loaded[1].value:
                wrong.append(f"thread {seed}: dumped {value!r}, loaded {loaded!r}")

    workers = [threading.Thread(target=dump_many, args=(seed,)) for seed in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not any(worker.is_alive() for worker in workers), "a dumping thread did not finish"
    assert not wrong, wrong[:3]

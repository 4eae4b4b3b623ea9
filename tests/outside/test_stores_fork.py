"""Outside tests of issue 13 (README "Sessions in a database"): a store opened before the
worker processes fork (gunicorn --preload, multiprocessing's default "fork" start on Linux).

README: turns run "exactly once, whatever the number of worker processes". The obvious way to
get worker processes is to open the store at import time and fork.
"""

import multiprocessing
import os
import queue as queue_module
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stores_outside_support as sup  # noqa: E402

TURNS = 15


def _child(runner, sid, barrier, queue):
    out = []
    try:
        barrier.wait(30)
        for i in range(TURNS):
            try:
                out.append(runner.run_turn(sid, f"m{i}", f"k{i}").reply)
            except Exception as exc:  # noqa: BLE001 - reported to the parent
                out.append(f"{type(exc).__name__}: {exc}"[:200])
                if sum(not r.startswith(("ready", f"{n}:")) for n, r in enumerate(out)) >= 2:
                    break  # a broken store waits 10 s per call: stop at the second error
    finally:
        queue.put((sid, out))
        queue.close()
        queue.join_thread()


@pytest.mark.parametrize("backend", sup.BACKENDS)
def test_store_opened_before_fork_serves_forked_workers(backend, tmp_path):
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    url = sup.new_store_url(backend, tmp_path)
    store, sessions, runner = sup.open_all(sup.echo, url)
    procs = []
    try:
        warm = sessions.create().id
        runner.run_turn(warm, "hello", "warm")  # the parent has used the store
        sids = [sessions.create().id for _ in range(2)]
        ctx = multiprocessing.get_context("fork")
        barrier, queue = ctx.Barrier(2), ctx.Queue()
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
            procs = [ctx.Process(target=_child, args=(runner, sid, barrier, queue)) for sid in sids]
            for p in procs:
                p.start()
        results = {}
        deadline = time.monotonic() + 30
        for _ in procs:
            try:
                sid, out = queue.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue_module.Empty:
                pytest.fail("a forked worker hangs in its turn (no answer in 30 s)")
            results[sid] = out
        for p in procs:
            p.join(30)
        texts = [f"m{i}" for i in range(TURNS)]
        want = [sup.expected_reply(texts[: i + 1]) for i in range(TURNS)]
        for sid in sids:
            assert results[sid] == want
            assert sessions.record(sid).version == TURNS
        # and the parent's store still works
        assert runner.run_turn(warm, "again", "again").reply == "1:again"
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join(10)
        store.close()

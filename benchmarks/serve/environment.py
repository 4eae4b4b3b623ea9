"""What the service benchmarks' tools serve against: the fake model in a process of its own
and a store (a fresh SQLite file, or a schema of a throwaway PostgreSQL cluster)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import uvicorn

from benchmarks.stores.environment import start_cluster
from tests.serve.server import ROOT, free_port


@contextlib.contextmanager
def model_and_store(store: str, token_ms: float) -> Iterator[tuple[str, str]]:
    """``(model URL, store URL)`` for `store` ("sqlite" or "postgresql"), the model writing a
    token every `token_ms`; both are stopped when the block ends."""
    model_port = free_port()
    model = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.serve.model", str(model_port), str(token_ms / 1000)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    cluster = start_cluster() if store == "postgresql" else None
    try:
        assert model.stdout is not None and model.stdout.readline().strip() == "ready"
        yield f"http://127.0.0.1:{model_port}/v1", store_url(cluster)
    finally:
        model.kill()
        if cluster is not None:
            cluster.remove()


def store_url(cluster: Any) -> str:
    """A fresh SQLite file's URL, or (given a cluster) a new schema's."""
    if cluster is None:
        return f"sqlite:///{tempfile.mkdtemp(prefix='bench-serve-')}/sessions.db"
    schema = f"s_{uuid.uuid4().hex[:10]}"
    cluster.create_schema(schema)
    return cluster.url_for_schema(schema)


@contextlib.contextmanager
def served_in_thread(app: Any) -> Iterator[int]:
    """The port of a uvicorn serving `app` in a thread of this process, stopped after."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(30)

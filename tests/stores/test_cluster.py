"""The throwaway PostgreSQL cluster of the tests stops itself when the process that made it is
killed with SIGKILL (it cannot stop it then): its watchdog stops it and deletes its folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.stores.cluster import PostgresCluster, find_bindir

REPO = Path(__file__).resolve().parents[2]
MAKER = """
import sys, time
from tests.stores.cluster import PostgresCluster, find_bindir
cluster = PostgresCluster(find_bindir())
cluster.start()
print(cluster.root, cluster.postmaster_pid(), flush=True)
time.sleep(120)
"""


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def test_a_cluster_whose_maker_is_killed_stops_and_is_deleted() -> None:
    if find_bindir() is None:
        pytest.skip("PostgreSQL 15 is not installed")
    maker = subprocess.Popen(
        [sys.executable, "-c", MAKER], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        root, postmaster = maker.stdout.readline().split()
        assert Path(root).exists() and not _gone(int(postmaster))
    finally:
        os.kill(maker.pid, signal.SIGKILL)
        maker.wait(30)
    deadline = time.monotonic() + 60
    while (not _gone(int(postmaster)) or Path(root).exists()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _gone(int(postmaster)), "the cluster still runs after its maker was killed"
    assert not Path(root).exists(), "the cluster's folder is still there"


def test_remove_ends_the_watchdog() -> None:
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL 15 is not installed")
    cluster = PostgresCluster(bindir)
    cluster.start()
    cluster.remove()
    watchdogs = subprocess.run(
        ["pgrep", "-f", f"cluster.py watch {os.getpid()} {cluster.root} "],
        capture_output=True,
        text=True,
    )
    assert watchdogs.stdout == "" and not cluster.root.exists()

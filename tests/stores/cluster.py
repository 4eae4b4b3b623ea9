"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb into a temporary folder,
started on a loopback port with a private socket folder, stopped (and deleted) at the end.
Used by tests/stores and benchmarks/stores.

PostgreSQL's tools refuse to run as root, so as root they run as the ``postgres`` user
(``runuser``) with the folders owned by it. A postmaster killed with SIGKILL can linger as a
zombie for a moment and its backends notice its death a little later: `kill` waits until
they are all gone, so `start` finds no stale ``postmaster.pid`` or shared memory.

A process that makes a cluster and is then killed with SIGKILL (a test run stopped by
``timeout -s KILL``, an out-of-memory kill) cannot stop it: so each cluster has a *watchdog*,
a small process of its own session that checks every half second whether the process that
made the cluster is alive, and when it is gone stops the cluster and deletes its folder
(``python tests/stores/cluster.py watch PID ROOT BINDIR``). `remove` ends the watchdog.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: where Debian's PostgreSQL 15 puts its server programs
DEBIAN_BINDIR = Path("/usr/lib/postgresql/15/bin")


def find_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    if (DEBIAN_BINDIR / "pg_ctl").exists():
        return DEBIAN_BINDIR
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        bindir = Path(found.stdout.strip())
        if (bindir / "pg_ctl").exists():
            return bindir
    return None


class PostgresCluster:
    """One cluster; `url` names its ``postgres`` database (user ``postgres``, trust auth)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="autograms-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0
        os.chmod(self.root, 0o755)
        for folder in (self.data, self.sockets):
            folder.mkdir()
            if self.as_postgres:
                shutil.chown(folder, "postgres", "postgres")
        self._watchdog = _watch(os.getpid(), self.root, bindir)
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-sync")  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url_for_schema(self, schema: str) -> str:
        """A URL whose connections use `schema` (create it first with `create_schema`)."""
        return f"{self.url}?options=-csearch_path%3D{schema}"

    def create_schema(self, schema: str) -> None:
        self.psql(f"CREATE SCHEMA {schema}")

    def psql(self, command: str) -> str:
        """Run one SQL command with psql; its output."""
        found = subprocess.run(
            [self.bindir / "psql", "-X", "-q", "-At", "-d", self.url, "-c", command],
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        return found.stdout

    def start(self, *settings: str) -> None:
        """Start the server; each of `settings` (``name=value``) is passed on as ``-c``."""
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1"
        options += "".join(f" -c {setting}" for setting in settings)
        self._run("pg_ctl", "-D", self.data, "-o", options, "-l", self.data / "server.log",
                  "-w", "-t", "60", "start")  # fmt: skip

    def stop(self) -> None:
        if self.postmaster_pid() is not None:
            self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        if self._watchdog.poll() is None:
            self._watchdog.terminate()
            self._watchdog.wait(10)

    def postmaster_pid(self) -> int | None:
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return None
        return pid if Path(f"/proc/{pid}").exists() else None

    def kill(self) -> None:
        """SIGKILL the postmaster and its backends (a crash); returns when all are gone."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        doomed = [pid, *_children(pid)]
        for victim in doomed:
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 30
        while any(_exists(victim) for victim in doomed) and time.monotonic() < deadline:
            time.sleep(0.05)

    def _run(self, program: str, *arguments: object) -> None:
        _run_tool(self.bindir, program, *arguments)


def _run_tool(bindir: Path, program: str, *arguments: object) -> None:
    """Run one of PostgreSQL's programs (as the ``postgres`` user when we are root)."""
    command = [str(bindir / program), *map(str, arguments)]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, capture_output=True, timeout=120)


def _watch(pid: int, root: Path, bindir: Path) -> subprocess.Popen:
    """The watchdog of the cluster in `root`: a process in a session of its own (a signal
    to the test's process group does not reach it) that outlives `pid`."""
    return subprocess.Popen(
        [sys.executable, __file__, "watch", str(pid), str(root), str(bindir)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, close_fds=True,
    )  # fmt: skip


def watch(pid: int, root: Path, bindir: Path) -> None:
    """Wait until `pid` is gone (or the cluster's folder is), then stop the cluster in
    `root` if it runs and delete the folder."""
    data = root / "data"
    while _alive(pid) and root.exists():
        time.sleep(0.5)
    if (data / "postmaster.pid").exists():
        try:
            _run_tool(bindir, "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        except (OSError, subprocess.SubprocessError):
            pass  # not running after all (a stale postmaster.pid)
    shutil.rmtree(root, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the parent pid is the second field after the parenthesised command name
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _exists(pid: int) -> bool:
    """True until `pid` is reaped (a zombie still holds its pid: postgres would take it
    for a live postmaster)."""
    return Path(f"/proc/{pid}").exists()


if __name__ == "__main__" and sys.argv[1:2] == ["watch"]:
    watch(int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))

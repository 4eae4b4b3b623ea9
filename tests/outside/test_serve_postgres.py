"""Outside tests of `autograms serve --store postgresql://...` (README "Operations": "two services
started separately on one PostgreSQL serve one conversation in turns without a fork"), on a
throwaway PostgreSQL cluster of Debian's binaries, run as the postgres user."""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_outside_support as sup  # noqa: E402


def pg_bindir():
    if not shutil.which("pg_config") or not shutil.which("runuser") or os.geteuid() != 0:
        return None
    bindir = subprocess.run(
        ["pg_config", "--bindir"], capture_output=True, text=True
    ).stdout.strip()
    return bindir if os.path.exists(os.path.join(bindir, "initdb")) else None


@pytest.fixture(scope="module")
def postgres():
    bindir = pg_bindir()
    if bindir is None:
        pytest.skip("needs PostgreSQL's binaries and root (to run them as the postgres user)")
    folder = tempfile.mkdtemp(prefix="serve-outside-pg-")
    data, sockdir = os.path.join(folder, "data"), os.path.join(folder, "sock")
    os.makedirs(sockdir)
    shutil.chown(folder, "postgres")
    shutil.chown(sockdir, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    as_pg = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        as_pg + [f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    ctl = as_pg + [f"{bindir}/pg_ctl", "-D", data]
    subprocess.run(
        ctl
        + [
            "-o",
            f"-p {port} -k {sockdir} -c listen_addresses=127.0.0.1",
            "-l",
            os.path.join(folder, "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(Exception):
            subprocess.run(ctl + ["-m", "immediate", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def test_two_services_on_one_postgresql_serve_one_conversation_in_turns(postgres, tmp_path):
    bot = sup.write_bot(tmp_path, "echobot", sup.ECHO_BOT)
    with (
        sup.Server(bot, "--test-mode", folder=tmp_path, store=postgres) as one,
        sup.Server(bot, "--test-mode", folder=tmp_path, store=postgres) as two,
    ):
        history = []
        for i in range(6):
            history.append({"role": "user", "content": f"m{i}"})
            history.append(
                {"role": "assistant", "content": (one, two)[i % 2].chat_text(history, "pg-alt-1")}
            )
        assert history[-1]["content"] == "turn 5: m5"
        # two different next messages at once, one on each service: one wins, no fork
        results = []
        threads = [
            threading.Thread(
                target=lambda s=s, x=x: results.append(
                    s.chat(history + [{"role": "user", "content": x}], "pg-alt-1")
                )
            )
            for s, x in ((one, "slow a"), (two, "slow b"))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(r[0] for r in results) == [200, 409]
        stored = two.session("pg-alt-1")
        assert stored["version"] == 7
        assert [m["content"] for m in stored["history"]][:12] == [m["content"] for m in history]


def test_a_nul_character_in_a_message_neither_fails_nor_blocks_the_session(postgres, tmp_path):
    bot = sup.write_bot(tmp_path, "echobot", sup.ECHO_BOT)
    with sup.Server(
        bot, "--test-mode", "--lease-seconds", "10", folder=tmp_path, store=postgres
    ) as server:
        history = sup.converse(server, "pg-nul-1", ["hi"])
        status, _, raw = server.chat(history + [{"role": "user", "content": "a\x00b"}], "pg-nul-1")
        failed = status >= 500
        started = time.monotonic()
        status2, _, raw2 = server.chat(history + [{"role": "user", "content": "next"}], "pg-nul-1")
        took = time.monotonic() - started
        assert status2 == 200 and took < 3, (status2, round(took, 1), raw2[:200])
        assert not failed, json.loads(raw)["error"]

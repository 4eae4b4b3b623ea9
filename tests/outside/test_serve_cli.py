"""Outside tests of the `autograms serve` command line (README "Serving a bot", "Security";
`autograms serve --help`: "exit status: 0 after a clean shutdown (SIGTERM, Ctrl-C); 1 when the
bot fails to import or the server fails; 2 for a usage error")."""

import os
import signal
import socket
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_outside_support as sup  # noqa: E402


def exit_status(server, timeout=40):
    """The status the command exits with by itself within `timeout` s (None: still running)."""
    try:
        return server.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", ""])
def test_a_public_host_without_api_keys_is_refused_with_status_2(tmp_path, host):
    with sup.Server(
        "recruiter",
        "--test-mode",
        "--host",
        host,
        folder=tmp_path,
        wait=False,
        env={"AUTOGRAMS_API_KEYS": ""},
    ) as server:
        assert exit_status(server) == 2
        assert "--insecure" in server.stderr()


def test_an_empty_api_key_is_not_a_key(tmp_path):
    with sup.Server(
        "recruiter",
        "--test-mode",
        "--host",
        "0.0.0.0",
        "--api-key",
        "",
        folder=tmp_path,
        wait=False,
        env={"AUTOGRAMS_API_KEYS": " , "},
    ) as server:
        assert exit_status(server) == 2


def test_usage_errors_exit_2_and_name_the_problem(tmp_path):
    (tmp_path / "cfg.json").write_text('{"no_such_field": 1}')
    cases = [
        (["no_such_bot", "--test-mode"], "no_such_bot"),
        (["recruiter", "--test-mode", "--config", str(tmp_path / "cfg.json")], "no_such_field"),
        (["recruiter", "--test-mode", "--workers", "0"], "--workers"),
    ]
    for argv, named in cases:
        with sup.Server(argv[0], *argv[1:], folder=tmp_path, wait=False) as server:
            assert exit_status(server) == 2, argv
            assert named in server.stderr(), argv


def test_sigterm_stops_the_service_with_status_0(tmp_path):
    with sup.Server("recruiter", "--test-mode", folder=tmp_path) as server:
        server.signal(signal.SIGTERM)
        assert exit_status(server, 40) == 0


def test_a_port_out_of_range_is_a_usage_error(tmp_path):
    with sup.Server("recruiter", "--test-mode", folder=tmp_path, port=99999, wait=False) as server:
        status = exit_status(server, 15)
        wrapped = socket.socket()
        try:
            listening_elsewhere = wrapped.connect_ex(("127.0.0.1", 99999 % 65536)) == 0
        finally:
            wrapped.close()
        assert status == 2, (
            f"still running={status is None}, listening on 34463={listening_elsewhere}"
        )


def test_a_negative_body_limit_is_a_usage_error(tmp_path):
    with sup.Server(
        "recruiter", "--test-mode", "--max-body-bytes", "-1", folder=tmp_path, wait=False
    ) as server:
        assert exit_status(server, 15) == 2


def test_a_port_in_use_exits_with_status_1(tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    try:
        port = holder.getsockname()[1]
        with sup.Server(
            "recruiter", "--test-mode", folder=tmp_path, port=port, wait=False
        ) as server:
            status = exit_status(server, 60)
            assert "address already in use" in server.stderr()
            assert status == 1
    finally:
        holder.close()

"""Outside tests (session 4): TurnRunner's lease and wait arguments. A lease is how long a dead
worker holds a session (README: "holds the session no longer than one lease") and a running
turn renews it every third of a lease; `expire()` already "refuses an idle time that is not a
positive number". A lease that is not a positive finite number of seconds should be refused
when the runner is made, naming the argument -- not crash the renewal thread, escape as a
sqlite3 error, or hold a dead worker's session forever.
"""

from __future__ import annotations

import math

import pytest

from autograms import Autogram
from autograms.stores import Sessions, TurnRunner, open_store
from tests.outside import s4_store_bot

BAD_LEASES = [0, -1, math.nan, math.inf, "30"]


@pytest.mark.parametrize("lease", BAD_LEASES, ids=["zero", "negative", "nan", "inf", "str"])
def test_turn_runner_refuses_a_lease_that_is_not_a_positive_finite_number(tmp_path, lease):
    autogram = Autogram(root_function=s4_store_bot.chatbot, test_mode=True)
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises((ValueError, TypeError)) as info:
        runner = TurnRunner(autogram, store, lease_seconds=lease)
        sid = Sessions(autogram, store).create(owner="o").id
        runner.run_turn(
            sid, "hi", idempotency_key="k", owner="o"
        )  # a late error must still name it
        raise AssertionError(f"the runner took lease_seconds={lease!r}")
    assert "lease_seconds" in str(info.value)


@pytest.mark.parametrize("lease", ["-1"])
def test_serve_refuses_a_lease_seconds_that_is_not_a_positive_finite_number(tmp_path, lease):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from tests.outside.s4_support import free_port

    (tmp_path / "s4_lease_bot.py").write_text(
        "from autograms import autograms_function\n"
        "from autograms.functional import reply\n\n"
        "@autograms_function()\n"
        "def chatbot():\n"
        "    while True:\n"
        '        reply("hi", ADDRESS="loop")\n'
    )
    exe = str(Path(sys.executable).parent / "autograms")
    args = [exe, "serve", "s4_lease_bot.py", "--test-mode", f"--lease-seconds={lease}"]
    args += ["--port", str(free_port()), "--store", f"sqlite:///{tmp_path / 's.db'}"]
    proc = subprocess.Popen(
        args,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=5)  # a usage error exits at once
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)
        raise AssertionError(f"serve started with --lease-seconds={lease}") from None
    assert proc.returncode == 2 and "--lease-seconds" in output

"""``autograms run recruiter`` on the embedded default model, for real, in a pseudo-terminal:
the local model starts with progress messages, the recruiter answers, ``/state`` shows where it
waits, and a session saved on Ctrl-D continues in a new process. Part of ``make test-llm``.

Model answers are not asserted (a 135M model varies); the conversation's structure is.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

from autograms.models.local_server import (
    LocalModelUnavailableError,
    default_llama_server_path,
    find_backend,
    find_model_path,
)

pexpect = pytest.importorskip("pexpect")

pytestmark = pytest.mark.llm

ROOT = Path(__file__).resolve().parents[2]
#: the local model's start and each real answer can take long on a busy 2-core machine
TIMEOUT = 300
GREETING = "Are you ready to start?"


@pytest.fixture
def real_model_env(tmp_path: Path) -> dict[str, str]:
    try:
        find_model_path()
        find_backend()
    except LocalModelUnavailableError as exc:
        pytest.fail(str(exc))
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    # keep the cached llama-server reachable: XDG_CACHE_HOME stays as it is
    env.update(TERM="dumb", PYTHONUNBUFFERED="1")
    return env


def spawn(env: dict[str, str], *argv: str):  # noqa: ANN201
    return pexpect.spawn(
        sys.executable,
        ["-m", "autograms", *argv],
        cwd=str(ROOT),
        env=env,
        encoding="utf-8",
        timeout=TIMEOUT,
        dimensions=(50, 200),
    )


def test_recruiter_on_the_local_model_saves_and_continues(real_model_env, tmp_path):
    session = tmp_path / "recruiter.session"
    child = spawn(real_model_env, "run", "recruiter", "--session", str(session))
    child.expect_exact("starting local model")
    child.expect_exact("warming up local model")
    child.expect_exact("local model ready at http://127.0.0.1:")
    child.expect_exact(GREETING)
    child.expect_exact("User: ")
    child.sendline("Yes, I'm ready.")
    child.expect(r"Agent: [^\r\n]+")
    child.expect_exact("User: ")
    child.sendline("/state")
    child.expect_exact("paused in (outermost first):")
    child.expect_exact("chatbot (recruiter.py:")
    child.expect_exact("User: ")
    child.sendeof()
    child.expect_exact(f"(conversation saved in {session}; to continue it: ")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    child = spawn(real_model_env, "run", "recruiter", "--session", str(session))
    child.expect_exact("local model ready")
    child.expect_exact(f"(continuing the session saved in {session})")
    child.expect_exact("User: ")
    child.sendline("I studied computer science in Boston.")
    child.expect(r"Agent: [^\r\n]+")
    child.expect_exact("User: ")
    child.sendline("/exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


@pytest.fixture
def own_cache_env(real_model_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """`real_model_env` with the cache (saved conversations) under the test's folder; the
    llama-server built into the real cache stays in use."""
    env = {**real_model_env, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    built = default_llama_server_path()
    if built.is_file() and "AUTOGRAMS_LLAMA_SERVER" not in env:
        env["AUTOGRAMS_LLAMA_SERVER"] = str(built)
    return env


def test_the_demo_conversation_is_offered_again_and_notices_stay_out(own_cache_env):
    transcript = io.StringIO()
    child = spawn(own_cache_env, "run", "recruiter", "-v")
    child.logfile_read = transcript
    child.expect_exact(GREETING)
    child.expect_exact("User: ")
    child.sendline("Yes, let's go.")
    child.expect(r"Agent: [^\r\n]+")
    child.expect_exact("User: ")
    child.sendline("/exit")
    child.expect(r"\(conversation saved in (\S+recruiter\.session); to continue it: ")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    # the local server was asked in its own forms from the first call: nothing was refused
    assert "rejected structured output form" not in transcript.getvalue()

    child = spawn(own_cache_env, "run", "recruiter")
    child.expect_exact("continue it? [Y/n] ")
    child.sendline("y")
    child.expect_exact("(continuing the session saved in")
    child.expect_exact("User: ")
    child.sendline("/exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_any_gguf_file_runs_on_the_local_server(real_model_env):
    model = find_model_path()  # the packaged one stands for "a GGUF file the user has"
    child = spawn(real_model_env, "run", "recruiter", "--gguf", str(model), "--no-save")
    child.expect_exact(f"starting local model {model.name}")
    child.expect_exact(GREETING)
    child.expect_exact("User: ")
    child.sendline("/exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "no OpenAI key" not in (child.before or "")

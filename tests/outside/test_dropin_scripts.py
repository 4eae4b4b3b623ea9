"""Outside tests (issue 16): AutoGRAMS 0.6.0's own scripts and examples, unchanged, on this library.

They need a copy of the original repository (AUTOGRAMS_REF, default /work/ref/autograms-0.6.0);
without one they are skipped. Its files are copied into a temporary folder and run from there,
in test mode, the way its README runs them; nothing of it is kept.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REF = Path(os.environ.get("AUTOGRAMS_REF", "/work/ref/autograms-0.6.0"))

pytestmark = pytest.mark.skipif(
    not (REF / "debug_autogram.py").is_file() or not (REF / "examples").is_dir(),
    reason=f"no copy of AutoGRAMS 0.6.0 at {REF}",
)

EXAMPLES = ("simple_example", "recruiter", "fraction_tutor", "general_tutor")


@pytest.fixture
def original(tmp_path):
    """A folder holding the original's scripts and examples (not its package), and a pandas stub.

    The scripts import pandas and never use it; the stub stands in so they run unchanged.
    """
    root = tmp_path / "autograms-0.6.0"
    root.mkdir()
    shutil.copy(REF / "debug_autogram.py", root)
    shutil.copytree(REF / "examples", root / "examples")
    stub = tmp_path / "stub" / "pandas"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("")
    return root


def _python(args, cwd, stub, timeout=120):
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env["PYTHONPATH"] = os.fspath(stub)
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_original_debug_script_simulates_users(original):
    done = _python(
        [
            "debug_autogram.py",
            "--example_name",
            "simple_example",
            "--num_simulations",
            "1",
            "--turns_per_simulation",
            "3",
        ],
        original,
        original.parent / "stub",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "successfully simulated 1 users without errors" in done.stdout


def test_original_examples_run_in_test_mode_through_serialize_every_turn(original):
    driver = textwrap.dedent(
        f"""
        import importlib
        from autograms import Autogram, AutogramConfig
        for name in {EXAMPLES!r}:
            chatbot = importlib.import_module("examples." + name).chatbot
            autogram = Autogram(autogram_config=AutogramConfig(), root_function=chatbot, test_mode=True)
            for run in range(2):
                chat_reply, memory_object = autogram.reply()
                for turn in range(6):
                    assert isinstance(chat_reply, str) and chat_reply, (name, turn, chat_reply)
                    memory_object = autogram.deserialize(autogram.serialize(memory_object))
                    chat_reply, memory_object = autogram.reply("<test user reply>", memory_object=memory_object)
                turns = memory_object.memory_dict["model_turns"]
                users = [e for e in turns if e["entry_type"] == "user_reply" and e["user_reply"]]
                assert len(users) == 6, (name, len(users))
            print("ok", name)
        """
    )
    done = _python(["-c", driver], original, original.parent / "stub")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == [w for name in EXAMPLES for w in ("ok", name)]

"""Snapshots are tied to the code that made them. Moving code keeps them valid; edited code
resumes only at an ADDRESS label that still exists with everything it needs; anything else is
refused with old and new fingerprints named -- never a crash (3.12+ would segfault on a
missing local the compiler believes bound). Every step runs in its own interpreter."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autograms._frames import Reason

ROOT = Path(__file__).resolve().parents[2]

_STEP = textwrap.dedent(
    """
    import json, sys
    from autograms import _frames
    import bot
    path, reply = sys.argv[1], sys.argv[2]
    try:
        if reply == "-":
            outcome = _frames.run(bot.main)
        else:
            outcome = _frames.resume(open(path, "rb").read(), reply)
    except _frames.ContinuationError as exc:
        print(json.dumps({"refused": type(exc).__name__, "message": str(exc),
                          "reason": str(exc.reason)}))
        sys.exit(0)
    if isinstance(outcome, _frames.Paused):
        open(path, "wb").write(outcome.snapshot)
        print(json.dumps({"paused": outcome.payload}))
    else:
        print(json.dumps({"finished": outcome.value}))
    """
)

ORIGINAL = """
from autograms import _frames

def ask(question, ADDRESS=None):
    return _frames.pause(question)

def main():
    name = ask("name?", ADDRESS="name")
    colour = ask("colour?")
    return f"{name} likes {colour}"

_frames.instrument(main)
"""


def step(folder: Path, source: str, reply: str, python: str = sys.executable) -> dict:
    (folder / "bot.py").write_text(textwrap.dedent(source))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(folder), str(ROOT)]))
    result = subprocess.run(
        [python, "-c", _STEP, str(folder / "snapshot.bin"), reply],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, f"interpreter crashed or failed:\n{result.stderr}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_moved_code_still_resumes(tmp_path: Path) -> None:
    assert step(tmp_path, ORIGINAL, "-") == {"paused": "name?"}
    shifted = "\n# a comment\n\n\n" + ORIGINAL
    assert step(tmp_path, shifted, "Ada") == {"paused": "colour?"}
    assert step(tmp_path, shifted, "red") == {"finished": "Ada likes red"}


def test_edit_after_labelled_pause_remaps_and_runs_new_code(tmp_path: Path) -> None:
    assert step(tmp_path, ORIGINAL, "-") == {"paused": "name?"}
    edited = ORIGINAL.replace('return f"{name} likes {colour}"', 'return f"{name} loves {colour}!"')
    edited = edited.replace('colour = ask("colour?")', 'colour = ask("favourite colour?")')
    assert step(tmp_path, edited, "Ada") == {"paused": "favourite colour?"}
    assert step(tmp_path, edited, "red") == {"finished": "Ada loves red!"}


def test_edit_adding_a_local_before_the_pause_is_refused(tmp_path: Path) -> None:
    assert step(tmp_path, ORIGINAL, "-") == {"paused": "name?"}
    edited = ORIGINAL.replace(
        '    name = ask("name?", ADDRESS="name")',
        '    extra = 42\n    name = ask("name?", ADDRESS="name")\n    colour = extra',
    )
    result = step(tmp_path, edited, "Ada")
    assert result["refused"] == "SnapshotMismatchError"
    assert result["reason"] == Reason.MISSING_LOCALS
    assert "['extra']" in result["message"]


def test_edit_at_an_unlabelled_pause_is_refused_with_fingerprints(tmp_path: Path) -> None:
    assert step(tmp_path, ORIGINAL, "-") == {"paused": "name?"}
    assert step(tmp_path, ORIGINAL, "Ada") == {"paused": "colour?"}
    edited = ORIGINAL.replace("likes", "prefers")
    result = step(tmp_path, edited, "red")
    assert result["refused"] == "SnapshotMismatchError"
    assert result["reason"] == Reason.CODE_CHANGED
    fingerprints = re.findall(r"fingerprint (\w+) vs\. saved (\w+)", result["message"])
    assert len(fingerprints) == 1 and fingerprints[0][0] != fingerprints[0][1]
    assert "no ADDRESS label" in result["message"] and "Python" not in result["message"]


def test_removed_label_is_refused(tmp_path: Path) -> None:
    assert step(tmp_path, ORIGINAL, "-") == {"paused": "name?"}
    edited = ORIGINAL.replace('ADDRESS="name"', 'ADDRESS="who"')
    result = step(tmp_path, edited, "Ada")
    assert result["refused"] == "SnapshotMismatchError"
    assert result["reason"] == Reason.LABEL_REMOVED
    assert "'name' no longer exists" in result["message"]


def _sibling_python(version: str) -> str | None:
    candidate = ROOT / ".venv" / version / "bin" / "python"
    return str(candidate) if candidate.exists() else None


CROSS = [("3.11.7", "3.12.1"), ("3.12.1", "3.13.0"), ("3.13.0", "3.11.7")]


@pytest.mark.parametrize(("saver", "loader"), CROSS)
def test_other_python_resumes_only_at_labels(tmp_path: Path, saver: str, loader: str) -> None:
    first, second = _sibling_python(saver), _sibling_python(loader)
    if first is None or second is None:
        pytest.skip(f"needs .venv/{saver} and .venv/{loader} (created by `make test`)")
    assert step(tmp_path, ORIGINAL, "-", first) == {"paused": "name?"}
    assert step(tmp_path, ORIGINAL, "Ada", second) == {"paused": "colour?"}
    result = step(tmp_path, ORIGINAL, "red", first)
    assert result["refused"] == "SnapshotMismatchError"
    assert result["reason"] == Reason.OTHER_PYTHON
    # both versions and the remedy, and no fingerprints (they differ across Pythons anyway)
    assert f"saved by Python {loader[:4]} and this is Python {saver[:4]}" in result["message"]
    assert "ADDRESS label" in result["message"] and "fingerprint" not in result["message"]


@pytest.mark.parametrize(("saver", "loader"), CROSS)
def test_other_python_refuses_a_passed_plain_helper_whose_source_changed(
    tmp_path: Path, saver: str, loader: str
) -> None:
    first, second = _sibling_python(saver), _sibling_python(loader)
    if first is None or second is None:
        pytest.skip(f"needs .venv/{saver} and .venv/{loader} (created by `make test`)")
    assert step(tmp_path, ORIGINAL, "-", first) == {"paused": "name?"}
    edited = ORIGINAL.replace(
        "return _frames.pause(question)", "return _frames.pause(question)[:2]"
    )
    result = step(tmp_path, edited, "Ada", second)
    assert result["refused"] == "SnapshotMismatchError"
    assert result["reason"] == Reason.CODE_CHANGED
    assert "bot.ask" in result["message"] and "source changed" in result["message"]

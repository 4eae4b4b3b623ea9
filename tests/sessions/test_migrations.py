"""Each migration step, on the committed session files of the format it reads: every earlier
format has data for this Python, and each step gives what the next format would hold.
(``test_session_data.py`` continues the same files end to end.)"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from autograms import _frames, session
from autograms._frames import wire

DATA = Path(__file__).parent / "data"
PYTHON = f"py{sys.version_info[0]}.{sys.version_info[1]}"


def _written_format(text: str) -> int:
    return json.loads(session._unb64(text.strip().split(".")[1]))["format"]


def _files() -> list[tuple[int, Path]]:
    """(format written, file) of every committed session file for this Python."""
    files = []
    for manifest in sorted(DATA.glob(f"*/{PYTHON}/manifest.json")):
        for entry in json.loads(manifest.read_text())["sessions"]:
            for name in entry["files"].values():
                path = manifest.parent / name
                files.append((_written_format(path.read_text()), path))
    return files


FILES = _files()


def _of_format(number: int) -> list[Path]:
    return [path for written, path in FILES if written == number]


def _ids(paths: list[Path]) -> list[str]:
    return [f"{path.parent.parent.name}/{path.name}" for path in paths]


def _envelope(path: Path) -> session.Envelope:
    """The file as its format's reader gives it, before any migration."""
    text = path.read_text().strip()
    header = json.loads(session._unb64(text.split(".")[1]))
    key = b"session-data-key" if header.get("signed") else None
    read = session._read_format_1 if header["format"] == 1 else session._read
    return read(text, header, text.find(".", len(session.MAGIC) + 1), key)


def test_every_format_up_to_this_one_has_committed_sessions_for_this_python() -> None:
    assert {written for written, _ in FILES} == set(range(1, session.FORMAT + 1))
    assert set(session.MIGRATIONS) == set(range(1, session.FORMAT))


FORMAT_1 = _of_format(1)


@pytest.mark.parametrize("path", FORMAT_1, ids=_ids(FORMAT_1))
def test_migration_1_to_2_names_the_program_by_its_outermost_paused_frame(path: Path) -> None:
    envelope = _envelope(path)
    assert envelope.program is None
    migrated = session.MIGRATIONS[1](envelope)
    frames = _frames.describe(envelope.snapshot, with_locals=False)
    assert migrated.program == f"{frames[0].module}:{frames[0].qualname}"
    assert migrated.snapshot == envelope.snapshot and migrated.log == envelope.log


FORMAT_2 = _of_format(2)


@pytest.mark.parametrize("path", FORMAT_2, ids=_ids(FORMAT_2))
def test_migration_2_to_3_keeps_the_snapshot_whose_frames_name_no_saved_locals(
    path: Path,
) -> None:
    envelope = _envelope(path)
    migrated = session.MIGRATIONS[2](envelope)
    assert migrated == envelope
    states = wire.read(envelope.snapshot)[0]
    assert states and all(state.saved is None for state in states)


FORMAT_3 = _of_format(3)


@pytest.mark.parametrize("path", FORMAT_3, ids=_ids(FORMAT_3))
def test_format_3_frames_name_their_saved_locals(path: Path) -> None:
    states = wire.read(_envelope(path).snapshot)[0]
    assert states and all(state.saved is not None for state in states)

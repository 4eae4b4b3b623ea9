"""Each migration step, on the committed session files of the format it reads: every earlier
format has data for this Python, and each step gives what the next format would hold.
(``test_session_data.py`` continues the same files end to end.)"""

from __future__ import annotations

import io
import json
import pickle
import random
import sys
from pathlib import Path

import pytest

from autograms import SessionFormatError, SessionSignatureError, _frames, session
from autograms._frames import payload_layout, pickling, wire
from tests.sessions.make_session_data import _autogram

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
    if header["format"] == 1:
        read = session._read_format_1
    else:
        read = session._read if header["format"] >= 6 else session._read_format_2
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


#: format-3 sessions whose payload is two pickles (written by main at 20ebe58)
TWO_PICKLES = sorted(
    (Path(__file__).parents[1] / "outside" / "data_deploys" / "main-20ebe58").glob(
        f"*.{PYTHON}.session"
    )
)


@pytest.mark.parametrize(
    "path", FORMAT_3 + TWO_PICKLES, ids=_ids(FORMAT_3) + [p.name for p in TWO_PICKLES]
)
def test_migration_3_to_4_leaves_one_pickle_and_makes_two_pickles_one(path: Path) -> None:
    envelope = _envelope(path)
    two = payload_layout.is_two_pickles(envelope.snapshot)
    assert two == (path in TWO_PICKLES)
    migrated = session.MIGRATIONS[3](envelope)
    assert not payload_layout.is_two_pickles(migrated.snapshot)
    assert (migrated == envelope) != two
    assert wire.split(migrated.snapshot)[0] == wire.split(envelope.snapshot)[0]


FORMAT_4 = _of_format(4)


@pytest.mark.parametrize("path", FORMAT_4, ids=_ids(FORMAT_4))
def test_migration_4_to_5_keeps_the_snapshot_whose_frames_name_no_cells(path: Path) -> None:
    envelope = _envelope(path)
    migrated = session.MIGRATIONS[4](envelope)
    assert migrated == envelope
    states = wire.read(envelope.snapshot)[0]
    assert states and all(state.cells is None for state in states)


FORMAT_5 = _of_format(5)


@pytest.mark.parametrize("path", FORMAT_5, ids=_ids(FORMAT_5))
def test_migration_5_to_6_keeps_the_conversation_and_log_exact_in_a_round_trip(
    path: Path,
) -> None:
    envelope = _envelope(path)
    assert session.MIGRATIONS[5](envelope) == envelope and envelope.window == ""
    entry = _manifest_entry(path)
    autogram = _autogram(entry["example"], entry["seed"], entry["signed"])
    if path.name.endswith(".session"):
        memory = autogram.load(path)
    else:
        memory = autogram.deserialize(path.read_text())
    view = memory.memory_dict
    levels, log = view["turn_stack"], list(view["model_turns"])
    history = memory.extract_full_conv_history()
    assert any(level["turns"] for level in levels)
    again = autogram.deserialize(autogram.serialize(memory))
    assert _written_format(autogram.serialize(again)) == session.FORMAT
    assert again.memory_dict["turn_stack"] == levels
    assert list(again.memory_dict["model_turns"]) == log
    assert again.extract_full_conv_history() == history
    if path.name.endswith("-log.txt") or path.name.endswith(".session"):
        # every message (the opening "" too, as in AutoGRAMS) and a reply to each
        assert history and len(history) == len(entry["messages"]) * 2


FORMAT_6 = _of_format(6)


@pytest.mark.parametrize("path", FORMAT_6, ids=_ids(FORMAT_6))
def test_migration_6_to_7_leaves_the_window_to_be_checked_turn_by_turn_then_saves_its_crc(
    path: Path,
) -> None:
    envelope = _envelope(path)
    assert session.MIGRATIONS[6](envelope) == envelope
    assert envelope.window_checked is not bool(envelope.window)
    entry = _manifest_entry(path)
    autogram = _autogram(entry["example"], entry["seed"], entry["signed"])
    memory = _loaded(autogram, path)
    history = memory.extract_full_conv_history()
    text = autogram.serialize(memory)
    header = json.loads(session._unb64(text.split(".")[1]))
    assert header["format"] == session.FORMAT
    assert header["window_crc"] == session._crc(envelope.window)
    assert autogram.deserialize(text).extract_full_conv_history() == history


FORMAT_7 = _of_format(7)


@pytest.mark.parametrize("path", FORMAT_7, ids=_ids(FORMAT_7))
def test_migration_7_to_8_reads_values_by_name_and_saves_them_as_tuples(path: Path) -> None:
    envelope = _envelope(path)
    assert session.MIGRATIONS[7](envelope) == envelope
    assert not envelope.snapshot.startswith(wire.MAGIC)  # AGF3 or AGF2: values by name
    by_name, _ = pickling.load_snapshot(wire.read(envelope.snapshot)[1])
    assert by_name and all(type(values) is dict for values in by_name)
    entry = _manifest_entry(path)
    autogram = _autogram(entry["example"], entry["seed"], entry["signed"])
    memory = _loaded(autogram, path)
    history = memory.extract_full_conv_history()
    assert autogram.deserialize(autogram.serialize(memory)).extract_full_conv_history() == history
    reply, memory = autogram.reply(entry["next"], memory_object=memory)
    assert reply == entry["expected_reply"]
    text = autogram.serialize(memory)
    assert _written_format(text) == session.FORMAT
    again = session.decode(text, key=b"session-data-key" if entry["signed"] else None)
    assert again.snapshot.startswith(wire.MAGIC)
    states, payload = wire.read(again.snapshot)
    ordered, _ = pickling.load_snapshot(payload)
    for state, values in zip(states, ordered, strict=True):
        assert type(values) is tuple and len(values) == len(state.saved) + len(state.hidden)
    continued = autogram.deserialize(text)
    assert continued.extract_full_conv_history() == memory.extract_full_conv_history()


WINDOWED_6 = [path for path in FORMAT_6 if _envelope(path).window]


@pytest.mark.parametrize("path", WINDOWED_6, ids=_ids(WINDOWED_6))
def test_a_format_6_session_with_a_damaged_window_is_refused_before_any_turn_runs(
    path: Path, tmp_path: Path
) -> None:
    entry = _manifest_entry(path)
    autogram = _autogram(entry["example"], entry["seed"], entry["signed"])
    text = path.read_text()
    window = _envelope(path).window
    at = text.index(window) + len(window) // 2
    edited = text[:at] + ("x" if text[at] != "x" else "y") + text[at + 1 :]
    if path.name.endswith(".session"):
        for log in path.parent.glob(path.name + ".log"):
            (tmp_path / log.name).write_bytes(log.read_bytes())
        (tmp_path / path.name).write_text(edited)
        read = lambda: autogram.load(tmp_path / path.name)  # noqa: E731
    else:
        read = lambda: autogram.deserialize(edited)  # noqa: E731
    if entry["signed"]:
        with pytest.raises(SessionSignatureError):
            read()
        return
    with pytest.raises(SessionFormatError, match="conversation window") as caught:
        read()
    assert caught.value.reason == "damaged window"


def _loaded(autogram, path: Path):
    if path.name.endswith(".session"):
        return autogram.load(path)
    return autogram.deserialize(path.read_text())


def _manifest_entry(path: Path) -> dict:
    for entry in json.loads((path.parent / "manifest.json").read_text())["sessions"]:
        if path.name in entry["files"].values():
            return entry
    raise AssertionError(f"{path} is not in its manifest")


SHARED = ["a module-level list, saved by reference"]


def _two_pickle_snapshot(values: tuple[dict, ...], attachment: object) -> bytes:
    """A snapshot written as the two-pickle layout was: one memo, module-level objects as
    persistent ids."""

    class Frames(pickle.Pickler):
        def persistent_id(self, obj: object) -> tuple[str, str] | None:
            return (__name__, "SHARED") if obj is SHARED else None

    buffer = io.BytesIO()
    frames = Frames(buffer, protocol=5)
    frames.dump(values)
    state = Frames(buffer, protocol=5)
    state.memo = frames.memo
    state.dump(attachment)
    one = wire.encode_entries([], [], (3, 12), None, [])
    return wire.with_payload(one, buffer.getvalue())


@pytest.mark.parametrize("seed", range(20))
def test_a_two_pickle_payload_rewritten_as_one_keeps_shared_and_module_level_objects(
    seed: int,
) -> None:
    rng = random.Random(seed)
    common = {"n": rng.randrange(100)}

    def value(depth: int) -> object:
        choice = rng.randrange(5 if depth < 3 else 3)
        if choice == 0:
            return SHARED
        if choice == 1:
            return common
        if choice == 2:
            return rng.choice(["x", 1.5, None, ("t", rng.randrange(9))])
        if choice == 3:
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        return {f"k{i}": value(depth + 1) for i in range(rng.randrange(4))}

    values = tuple({f"v{i}": value(0) for i in range(rng.randrange(1, 4))} for _ in range(2))
    attachment = {"state": value(0), "common": common, "shared": SHARED}
    snapshot = payload_layout.as_one_pickle(_two_pickle_snapshot(values, attachment))
    got_values, got_attachment = pickling.load_snapshot(wire.split(snapshot)[1])
    assert got_values == values and got_attachment == attachment
    assert got_attachment["shared"] is SHARED
    assert got_attachment["common"] is _find(got_values, common, got_attachment["common"])


def _find(values: object, like: dict, default: dict) -> dict:
    """The first dict equal to `like` among `values` (the shared object), else `default`."""
    stack = [values]
    while stack:
        item = stack.pop(0)
        if isinstance(item, dict) and item == like and "n" in item:
            return item
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return default

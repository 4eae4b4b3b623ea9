"""The snapshot API: attachments saved with the frames, validation before unpickling, and
frame-less snapshots."""

from __future__ import annotations

import json
import pickle
import pickletools
import random
import sys
import zlib
from autograms._record import replace

import pytest

from autograms import _frames
from autograms._frames import pickling, wire
from autograms._frames.versions import PY_MINOR
from tests.engine import earlier_formats
from tests.engine.programs import attached, header_shapes


def test_attachment_shares_objects_with_the_frames() -> None:
    shared = ["start"]
    state = {"items": shared}
    outcome = _frames.run(attached.keep, (shared,), attachment=lambda: state)
    loaded = _frames.load(outcome.snapshot)
    assert loaded.attachment == {"items": ["start"]}
    outcome = _frames.resume(loaded, "one")
    loaded = _frames.load(outcome.snapshot)
    # the local `items` and the attachment's list are still one list after the round trip
    assert loaded.attachment["items"] == ["start", "one"]
    final = _frames.resume(loaded, "two")
    assert final.value == ["start", "one", "two"]


def test_store_keeps_changes_made_to_the_attachment() -> None:
    outcome = _frames.run(attached.keep, (["x"],), attachment=lambda: {"turns": 0})
    loaded = _frames.load(outcome.snapshot)
    loaded.attachment["turns"] = 5
    again = _frames.load(_frames.store(loaded))
    assert again.attachment == {"turns": 5}
    assert _frames.resume(again, "y").payload == "again"


def test_loaded_snapshot_resumes_once() -> None:
    loaded = _frames.load(_frames.run(attached.keep, (["x"],)).snapshot)
    _frames.resume(loaded, "y")
    with pytest.raises(_frames.ContinuationError, match="already resumed"):
        _frames.resume(loaded, "z")


def test_frameless_snapshot_carries_only_the_attachment() -> None:
    loaded = _frames.load(_frames.pack({"history": [1, 2]}))
    assert not loaded.is_paused and loaded.attachment == {"history": [1, 2]}
    with pytest.raises(_frames.ContinuationError, match="no paused program"):
        _frames.resume(loaded, "x")


def _trip() -> _Tripwire:
    _Tripwire.fired.append("unpickled")
    return _Tripwire()


class _Tripwire:
    """Unpickling this records that it happened (in `_Tripwire.fired`)."""

    fired: list = []

    def __reduce__(self):
        return (_trip, ())


def test_mismatched_snapshot_is_refused_before_anything_is_unpickled() -> None:
    outcome = _frames.run(attached.keep, (["x"],), attachment=lambda: _Tripwire())
    header = wire.read(outcome.snapshot)[0][0]
    forged = wire.encode(
        [replace(header, module="no_such_module_anywhere", values=_each_named(header, []))],
        header.python,
        _Tripwire(),
    )
    _Tripwire.fired.clear()
    with pytest.raises(_frames.SnapshotMismatchError, match="cannot import module"):
        _frames.load(forged)
    assert _Tripwire.fired == []


def _each_named(state, value: object) -> dict[str, object]:
    """`value` under each name the header entry `state` lists (as `wire.encode` needs)."""
    return dict.fromkeys((*state.saved, *state.hidden), value)


def test_garbage_is_refused_clearly() -> None:
    with pytest.raises(_frames.SnapshotMismatchError, match="not a snapshot"):
        _frames.load(pickle.dumps({"a": 1}))


def test_check_reads_the_header_and_checksum_but_unpickles_nothing() -> None:
    snapshot = _frames.run(attached.keep, (["x"],), attachment=lambda: _Tripwire()).snapshot
    _Tripwire.fired.clear()
    assert _frames.check(snapshot) == len(_frames.describe(snapshot, with_locals=False)) > 0
    assert _frames.check(_frames.pack({"no": "frames"})) == 0
    assert _Tripwire.fired == []
    _frames.load(snapshot)
    assert _Tripwire.fired == ["unpickled"]


@pytest.mark.parametrize(
    "damage",
    [
        lambda blob: blob[:-1],
        lambda blob: blob[:-3] + bytes([blob[-3] ^ 1]) + blob[-2:],
        lambda blob: blob + b"\x00",
        lambda blob: blob[:10],
    ],
    ids=["truncated", "flipped bit", "extended", "cut in the prefix"],
)
def test_check_refuses_a_damaged_payload(damage) -> None:
    snapshot = _frames.run(attached.keep, (["x"],), attachment=lambda: {"n": 1}).snapshot
    with pytest.raises(_frames.SnapshotMismatchError, match="truncated|damaged") as caught:
        _frames.check(damage(snapshot))
    assert caught.value.reason == "damaged"
    _frames.check(snapshot)


class _Vanishing:
    """Pickled by reference to a class that a later process no longer has."""


def test_saved_values_that_cannot_be_unpickled_are_named_not_raw_pickle_errors(
    monkeypatch,
) -> None:
    snapshot = _frames.run(attached.keep, ([_Vanishing()],)).snapshot
    monkeypatch.delattr(sys.modules[__name__], "_Vanishing")
    _frames.check(snapshot)  # the bytes are intact
    with pytest.raises(_frames.SnapshotMismatchError, match="cannot be read: Attr") as caught:
        _frames.load(snapshot)
    assert caught.value.reason == "unreadable"
    assert isinstance(caught.value.__cause__, AttributeError)
    monkeypatch.undo()
    assert isinstance(_frames.load(snapshot).frames[0].values["items"][0], _Vanishing)


def test_an_exception_with_a_demanding_init_survives_the_round_trip() -> None:
    from tests.engine.programs import custom_errors

    outcome = _frames.run(custom_errors.handles)
    assert outcome.payload == ("handling", "ready?: unclear")
    finished = _frames.resume(_frames.load(outcome.snapshot), "yes")
    assert finished.value == ("yes", "ready?", "unclear", "NeedsTwo")


def test_a_validated_header_is_checked_again_after_the_function_changes() -> None:
    outcome = _frames.run(attached.keep, (["x"],))
    _frames.load(outcome.snapshot)  # validated (and remembered)
    original = attached.keep
    try:

        def impostor(items):
            return items

        attached.keep = impostor
        with pytest.raises(_frames.SnapshotMismatchError):
            _frames.load(outcome.snapshot)
    finally:
        attached.keep = original
    code = original.__code__
    try:
        original.__code__ = (lambda items: items).__code__
        with pytest.raises(_frames.SnapshotMismatchError):
            _frames.load(outcome.snapshot)
    finally:
        original.__code__ = code
    assert _frames.resume(_frames.load(outcome.snapshot), "y").payload == "again"


def _with_header(snapshot: bytes, change) -> bytes:
    """`snapshot` with its JSON header replaced by `change(header)` (payload untouched)."""
    header, payload = wire.split(snapshot)
    python, frames = json.loads(header)
    python, frames = change(python, frames)
    new = json.dumps([python, frames], separators=(",", ":")).encode()
    return wire.assemble(new, payload)


def test_a_header_naming_another_python_names_both_versions_and_no_fingerprints() -> None:
    snapshot = _frames.run(attached.keep, (["x"],)).snapshot
    older = _with_header(snapshot, lambda python, frames: ([python[0], python[1] - 1], frames))
    with pytest.raises(_frames.SnapshotMismatchError) as caught:
        _frames.check(older)
    assert caught.value.reason is _frames.Reason.OTHER_PYTHON
    message = str(caught.value)
    assert f"saved by Python {PY_MINOR[0]}.{PY_MINOR[1] - 1} and this is Python" in message
    assert "ADDRESS label" in message and "fingerprint" not in message


@pytest.mark.parametrize(
    "change",
    [
        lambda python, frames: ("3.12", frames),
        lambda python, frames: (python, [[*frames[0][:3], "0", *frames[0][4:]]]),
        lambda python, frames: (python, [frames[0][:6]]),
        lambda python, frames: (python, [[*frames[0][:6], [7]]]),
    ],
    ids=["python as text", "site as text", "field missing", "hidden name not text"],
)
def test_a_malformed_header_is_refused_as_damaged(change) -> None:
    snapshot = _frames.run(attached.keep, (["x"],)).snapshot
    with pytest.raises(_frames.SnapshotMismatchError) as caught:
        _frames.check(_with_header(snapshot, change))
    assert caught.value.reason is _frames.Reason.BAD_HEADER


def test_the_header_a_pause_remembers_is_the_one_a_parse_reads() -> None:
    outcome, headers = _frames.run(header_shapes.outer, ([1, 2, 3],)), []
    while isinstance(outcome, _frames.Paused):
        header, _ = wire.split(outcome.snapshot)
        headers.append(header)
        assert wire.read_header(header) == list(wire._parse_header(header))
        outcome = _frames.resume(outcome.snapshot, "answer")
    assert len(set(headers)) >= 3  # the inner pause, with cells, and the labelled one
    assert outcome.value == [7, 8, "answer", 9, "answer"]


def _pauses_of_header_shapes(answers: list[str]) -> list[bytes]:
    """The snapshot of every pause of `header_shapes.outer`, each answered in turn."""
    outcome, snapshots = _frames.run(header_shapes.outer, ([1, 2, 3],)), []
    for answer in answers:
        assert isinstance(outcome, _frames.Paused)
        snapshots.append(outcome.snapshot)
        outcome = _frames.resume(outcome.snapshot, answer)
    assert not isinstance(outcome, _frames.Paused)
    return snapshots


ANSWERS = ["a", "bb", "ccc", "dddd", "eeeee"]


def test_a_frame_s_values_are_pickled_without_their_names() -> None:
    for snapshot in _pauses_of_header_shapes(ANSWERS):
        assert snapshot.startswith(wire.MAGIC)
        states, payload = wire.read(snapshot)
        strings = {arg for op, arg, _ in pickletools.genops(bytes(payload)) if type(arg) is str}
        assert not [text for text in strings if text.startswith(wire.HIDDEN_PREFIX)]
        values, _ = pickling.load_snapshot(payload)
        for state, frame_values in zip(states, values, strict=True):
            assert type(frame_values) is tuple
            assert len(frame_values) == len(state.saved) + len(state.hidden)


@pytest.mark.parametrize("seed", range(8))
def test_a_snapshot_whose_values_are_pickled_by_name_resumes_as_it_was_written(
    seed: int,
) -> None:
    rng = random.Random(seed)
    answers = ["".join(rng.choices("xyz", k=rng.randint(0, 4))) for _ in ANSWERS]
    snapshots = _pauses_of_header_shapes(answers)
    at = rng.randrange(len(snapshots))
    older = earlier_formats.values_by_name(snapshots[at])
    assert older.startswith(wire.MAGIC_VALUES_BY_NAME)
    assert _frames.check(older) == _frames.check(snapshots[at])

    def finish(snapshot: bytes) -> object:
        outcome = _frames.resume(_frames.load(snapshot), answers[at])
        for answer in answers[at + 1 :]:
            outcome = _frames.resume(
                _frames.load(_frames.store(_frames.load(outcome.snapshot))), answer
            )
        return outcome.value

    assert finish(older) == finish(snapshots[at])
    again = _frames.store(_frames.load(older))  # saved again: tuples, under today's marker
    assert again.startswith(wire.MAGIC) and wire.read(again)[0] == wire.read(snapshots[at])[0]


def test_a_payload_whose_values_do_not_match_the_names_of_its_header_is_refused() -> None:
    snapshot = _pauses_of_header_shapes(ANSWERS)[0]
    states, payload = wire.read(snapshot)
    values, attachment = pickling.load_snapshot(payload)
    short = (values[0][:-1], *values[1:])
    damaged = wire.with_payload(snapshot, pickling.dumps((short, attachment)))
    with pytest.raises(_frames.SnapshotMismatchError, match="not the ones its header names"):
        _frames.load(damaged)
    _frames.load(snapshot)  # the snapshot itself is unharmed


@pytest.mark.parametrize("seed", range(5))
def test_header_entries_are_the_json_the_standard_encoder_writes(seed: int) -> None:
    rng = random.Random(seed)

    def text() -> str:
        return "".join(rng.choice('ab"\\/\n\té€😀\x00\u2028') for _ in range(rng.randint(0, 6)))

    for _ in range(200):
        fields = [
            text(),
            text(),
            text(),
            rng.randint(0, 10**6),
            rng.randint(0, 10**6),
            rng.choice([None, text()]),
            tuple(text() for _ in range(rng.randint(0, 3))),
            rng.choice([None, (text(),)]),
            rng.choice([False, True]),
            rng.choice([None, (text(), text())]),
        ]
        entry = wire.header_entry(*fields)
        written = [*fields[:6], list(fields[6])]
        if fields[7] is not None or fields[8] or fields[9] is not None:
            written.append(None if fields[7] is None else list(fields[7]))
        if fields[8] or fields[9] is not None:
            written.append(1 if fields[8] else 0)
        if fields[9] is not None:
            written.append(list(fields[9]))
        assert entry == json.dumps(written, separators=(",", ":")).encode()


def test_every_one_byte_change_of_a_header_is_refused_as_damaged_before_it_is_read() -> None:
    snapshot = _frames.run(attached.keep, (["x"],)).snapshot
    header, payload = wire.split(snapshot)
    start = snapshot.index(header)
    for offset in range(start, start + len(header)):
        damaged = bytearray(snapshot)
        damaged[offset] ^= 0x01
        with pytest.raises(_frames.SnapshotMismatchError) as caught:
            _frames.check(bytes(damaged))
        assert caught.value.reason is _frames.Reason.DAMAGED, offset


def test_a_snapshot_written_before_headers_had_a_checksum_still_loads() -> None:
    outcome = _frames.run(attached.keep, (["x"],))
    header, payload = wire.split(outcome.snapshot)
    unchecked = wire._PREFIX_UNCHECKED_HEADER.pack(
        wire.MAGIC_UNCHECKED_HEADER, len(header), zlib.crc32(payload)
    )
    older = unchecked + header + bytes(payload)
    _frames.check(older)
    assert (
        _frames.resume(_frames.load(older), "y").payload
        == _frames.resume(_frames.load(outcome.snapshot), "y").payload
    )

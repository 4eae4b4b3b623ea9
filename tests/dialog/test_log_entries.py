"""Entries a program or run loop appends to ``memory_dict['model_turns']`` come back equal and
of the same types after every kind of round trip (in process, serialize/deserialize, signed,
saved to a file, in a fresh process), as AutoGRAMS, which pickles its memory, gives them back;
a value that cannot be saved is refused naming the entry, and loses nothing.

The entries are generated (nested dicts, lists, tuples, sets, frozensets, datetimes, bytes,
non-str keys, str subclasses, None, NaN and infinities, long strings) and appended at random
turns, by the run loop and by the program; a plain list kept beside the bot is the oracle."""

from __future__ import annotations

import datetime
import decimal
import json
import math
import pickle
import random
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from autograms import (
    Autogram,
    AutogramConfig,
    SessionError,
    SessionFormatError,
    SessionSignatureError,
)
from autograms import autograms_function
from autograms.functional import get_memory, reply

#: how many generated sessions `make test` runs (each a dozen turns and four round trips)
CASES = 6
ROOT = Path(__file__).resolve().parents[2]


class Label(str):
    """A str subclass, as a program may log (markupsafe.Markup, numpy.str_ ...)."""


#: entries the program appends when a message names them (set by `_grow`)
PROGRAM_NOTES: dict[str, Any] = {}


@autograms_function()
def noting_bot():
    while True:
        message = reply("ok")
        if message in PROGRAM_NOTES:
            get_memory().memory_dict["model_turns"].append(PROGRAM_NOTES[message])


def _autogram(**config: Any) -> Autogram:
    return Autogram(
        root_function=noting_bot, autogram_config=AutogramConfig(**config), test_mode=True
    )


# -- generated values ----------------------------------------------------------------------------


def _scalar(rng: random.Random) -> Any:
    return rng.choice(
        [
            lambda: None,
            lambda: rng.random() < 0.5,
            lambda: rng.randint(-(2**70), 2**70),
            lambda: rng.choice([float("nan"), float("inf"), -float("inf"), -0.0, rng.random()]),
            lambda: "".join(
                rng.choice("aé\u2603\x00\ud800.,\"'\\") for _ in range(rng.randint(0, 9))
            ),
            lambda: "x" * rng.choice([10, 70_000]),
            lambda: Label(f"label{rng.randint(0, 9)}"),
            lambda: bytes(rng.randrange(256) for _ in range(rng.randint(0, 9))),
            lambda: datetime.datetime(2020, 1, 2, 3, 4, rng.randint(0, 59)),
            lambda: datetime.date(2021, rng.randint(1, 12), 1),
            lambda: decimal.Decimal(rng.randint(0, 999)) / 100,
        ]
    )()


def _key(rng: random.Random) -> Any:
    return rng.choice([f"k{rng.randint(0, 20)}", rng.randint(-5, 5), (1, f"t{rng.randint(0, 3)}")])


def _value(rng: random.Random, depth: int = 0) -> Any:
    if depth > 3 or rng.random() < 0.4:
        return _scalar(rng)
    items = [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    hashable = [rng.choice([rng.randint(0, 50), f"s{rng.randint(0, 9)}", (1, 2)]) for _ in items]
    return rng.choice(
        [
            lambda: items,
            lambda: tuple(items),
            lambda: set(hashable),
            lambda: frozenset(hashable),
            lambda: {f"f{n}": item for n, item in enumerate(items)},
            lambda: {_key(rng): item for item in items},
        ]
    )()


def _entry(rng: random.Random, n: int) -> Any:
    kind = rng.random()
    if kind < 0.1:
        return _value(rng)  # not even a dict: AutoGRAMS' list takes anything
    if kind < 0.2:
        return {_key(rng): _value(rng) for _ in range(3)}
    entry = {"entry_type": "run_loop_note", "n": n}
    entry.update({f"v{i}": _value(rng) for i in range(rng.randint(0, 4))})
    return entry


def same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (NaN is the same as NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(
            same(x, y) and same(a[x], b[y]) for x, y in zip(a, b, strict=True)
        )
    if isinstance(a, (set, frozenset)):
        return a == b and sorted(map(repr, a)) == sorted(map(repr, b))
    return a == b


def _appended(entries: list[Any]) -> list[Any]:
    """The entries the run loop or program appended (not the library's own)."""
    return [e for e in entries if not (type(e) is dict and e.get("entry_type") in _OWN)]


_OWN = {"user_reply", "agent_reply", "node", "model"}


# -- the round trips -----------------------------------------------------------------------------


def _round_trip(autogram: Autogram, memory: Any, how: str, tmp_path: Path) -> Any:
    if how in ("serialized", "signed"):
        return autogram.deserialize(autogram.serialize(memory))
    if how == "saved":  # the first save writes the .log, later ones append to it
        autogram.save(tmp_path / "s.session", memory)
        return autogram.load(tmp_path / "s.session")
    return memory


def _grow(autogram: Autogram, how: str, seed: int, tmp_path: Path) -> tuple[Any, list[Any]]:
    """A session where the run loop and the program append generated entries at random
    turns, round-tripped `how` before every turn; returns it and what was appended."""
    rng = random.Random(seed)
    expected: list[Any] = []
    _, memory = autogram.reply()
    for turn in range(12):
        message = f"m{seed}-{turn}"
        if rng.random() < 0.4:  # the program appends while the turn runs
            PROGRAM_NOTES[message] = _entry(rng, turn)
            expected.append(PROGRAM_NOTES[message])
        memory = _round_trip(autogram, memory, how, tmp_path)
        _, memory = autogram.reply(message, memory_object=memory)
        for _ in range(rng.choice([0, 0, 1, 3])):  # the run loop appends between turns
            entry = _entry(rng, turn)
            memory.memory_dict["model_turns"].append(entry)
            expected.append(entry)
    return _round_trip(autogram, memory, how, tmp_path), expected


@pytest.mark.parametrize("how", ["in_process", "serialized", "signed", "saved"])
@pytest.mark.parametrize("seed", range(CASES))
def test_appended_entries_come_back_equal_and_of_the_same_types(
    how: str, seed: int, tmp_path: Path
) -> None:
    autogram = _autogram(session_key="k" if how == "signed" else None)
    memory, expected = _grow(autogram, how, seed, tmp_path)
    got = _appended(memory.memory_dict["model_turns"])
    assert len(got) == len(expected)
    for index, (back, entry) in enumerate(zip(got, expected, strict=True)):
        assert same(back, entry), (index, back, entry)
    texts = [t["content"] for t in memory.extract_full_conv_history() if t["role"] == "user"]
    assert texts == ["", *(f"m{seed}-{turn}" for turn in range(12))]


FRESH_READER = """
import pickle, sys
from autograms import Autogram
from tests.dialog.test_log_entries import noting_bot

autogram = Autogram(root_function=noting_bot, test_mode=True)
with open(sys.argv[1]) as stream:
    memory = autogram.deserialize(stream.read())
with open(sys.argv[2], "wb") as stream:
    pickle.dump(list(memory.memory_dict["model_turns"]), stream)
"""


def test_appended_entries_come_back_in_a_fresh_process(tmp_path: Path) -> None:
    autogram = _autogram()
    memory, expected = _grow(autogram, "serialized", 99, tmp_path)
    (tmp_path / "session.txt").write_text(autogram.serialize(memory))
    subprocess.run(
        [sys.executable, "-c", FRESH_READER, str(tmp_path / "session.txt"), str(tmp_path / "out")],
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    got = _appended(pickle.loads((tmp_path / "out").read_bytes()))
    assert len(got) == len(expected)
    assert all(same(back, entry) for back, entry in zip(got, expected, strict=True))


def test_the_librarys_own_entries_stay_plain_json_in_the_saved_log(tmp_path: Path) -> None:
    autogram = _autogram()
    _, memory = autogram.reply()
    _, memory = autogram.reply("hi", memory_object=memory)
    memory.memory_dict["model_turns"].append({"entry_type": "note", "when": datetime.date.today()})
    autogram.save(tmp_path / "s", memory)
    lines = (tmp_path / "s.log").read_text().splitlines()
    assert [json.loads(line) for line in lines[:-1]] == memory.model_turns[:-1]
    assert json.loads(lines[-1])["entry_type"] == "note"  # its plain fields stay readable


# -- refusals ------------------------------------------------------------------------------------


def test_an_unpicklable_value_is_refused_at_the_append_naming_the_entry() -> None:
    autogram = _autogram()
    _, memory = autogram.reply()
    turns = memory.memory_dict["model_turns"]
    index = len(turns)
    with pytest.raises(TypeError) as refused:
        turns.append({"entry_type": "note", "lock": threading.Lock()})
    assert f"[{index}]['lock']" in str(refused.value)
    assert len(memory.memory_dict["model_turns"]) == index
    autogram.serialize(memory)


def test_a_value_made_unsaveable_after_the_append_is_refused_at_serialize_and_loses_nothing(
    tmp_path: Path,
) -> None:
    autogram = _autogram()
    _, memory = autogram.reply()
    _, memory = autogram.reply("hi", memory_object=memory)
    entry = {"entry_type": "note", "value": 1}
    memory.memory_dict["model_turns"].append(entry)
    index = len(memory.memory_dict["model_turns"]) - 1
    entry["value"] = threading.Lock()
    for save in (autogram.serialize, lambda m: autogram.save(tmp_path / "s", m)):
        with pytest.raises(SessionError) as refused:
            save(memory)
        assert refused.value.reason == "unsaveable log entry"
        assert f"['model_turns'][{index}]['value']" in str(refused.value)
    entry["value"] = "fixed"
    again = autogram.deserialize(autogram.serialize(memory))
    assert again.memory_dict["model_turns"][-1] == {"entry_type": "note", "value": "fixed"}
    assert len(again.memory_dict["model_turns"]) == index + 1


def test_a_damaged_pickled_value_in_a_saved_log_is_refused_before_it_is_unpickled(
    tmp_path: Path,
) -> None:
    autogram = _autogram()
    _, memory = autogram.reply()
    memory.memory_dict["model_turns"].append({"entry_type": "note", "value": {1, 2, 3}})
    autogram.save(tmp_path / "s", memory)
    log = tmp_path / "s.log"
    text = log.read_text()
    blob_start = text.index('"\\u0000pickled": {"value": "') + len('"\\u0000pickled": {"value": "')
    damaged = text[: blob_start + 20] + ("A" if text[blob_start + 20] != "A" else "B")
    log.write_text(damaged + text[blob_start + 21 :])
    loaded = autogram.load(tmp_path / "s")
    with pytest.raises(SessionFormatError) as refused:
        list(loaded.memory_dict["model_turns"])
    # the CRC-32 of the .log file's bytes, in the session file's header, refuses it first
    assert refused.value.reason == "damaged log"


# -- the view behaves as a list ------------------------------------------------------------------


def _edit(rng: random.Random, view: Any, oracle: list[Any], n: int) -> None:
    """One random list operation, done on the view and on the oracle alike."""
    operation = rng.choice(["append", "extend", "iadd", "insert", "pop", "del", "set", "reverse"])
    if operation in ("pop", "del", "set") and not oracle:
        operation = "append"
    entry = {"entry_type": "edit", "n": n, "value": _value(rng)}
    index = rng.randrange(-len(oracle), len(oracle)) if oracle else 0
    if operation == "append":
        view.append(entry), oracle.append(entry)
    elif operation in ("extend", "iadd"):
        more = [entry, {"entry_type": "edit", "n": -n}]
        if operation == "extend":
            view.extend(more)
        else:
            view += more
        oracle.extend(more)
    elif operation == "insert":
        view.insert(index, entry), oracle.insert(index, entry)
    elif operation == "pop":
        assert same(view.pop(index), oracle.pop(index))
    elif operation == "del":
        del view[index:], oracle[index:]
    elif operation == "set":
        view[index] = entry
        oracle[index] = entry
    else:
        view.reverse(), oracle.reverse()


@pytest.mark.parametrize("seed", range(CASES))
def test_model_turns_reads_and_edits_as_a_plain_list_kept_beside_it(seed: int) -> None:
    rng = random.Random(seed)
    autogram = _autogram()
    _, memory = autogram.reply()
    oracle = list(memory.memory_dict["model_turns"])
    for n in range(60):
        step = rng.random()
        if step < 0.15:  # a turn: the library's entries join both
            before = memory.log_length()
            _, memory = autogram.reply(f"m{n}", memory_object=memory)
            oracle.extend(memory.model_turns[before:])
        elif step < 0.35:  # a round trip: the log comes back encoded, read as far as used
            memory = autogram.deserialize(autogram.serialize(memory))
        elif step < 0.45:  # a save: what was added is encoded after what was read
            autogram.serialize(memory)
        else:
            _edit(rng, memory.memory_dict["model_turns"], oracle, n)
        view = memory.memory_dict["model_turns"]
        assert len(view) == len(oracle)
        depth = min(len(oracle), rng.choice([3, 8, len(oracle)]))  # mostly near the end
        for index in [-rng.randint(1, depth) for _ in range(2)] if oracle else []:
            assert same(view[index], oracle[index])  # decodes the newest chunks down to it
    view = memory.memory_dict["model_turns"]
    assert same(view[:], oracle) and same(list(reversed(view)), oracle[::-1])
    copy = view[:]  # (== on the oracle would compare a NaN unpickled with the one appended)
    assert view == copy and copy == view and view != copy + [{}] and same(view + [], oracle + [])
    assert same([] + view, oracle) and (oracle[-1] in view) and view.count(oracle[0]) >= 1


def test_reading_the_newest_entry_of_a_signed_log_refuses_an_older_chunk_edited() -> None:
    autogram = _autogram(session_key="k")
    _, memory = autogram.reply()
    for turn in range(3):
        memory = autogram.deserialize(autogram.serialize(memory))
        _, memory = autogram.reply(f"m{turn}", memory_object=memory)
    head, log, signature = autogram.serialize(memory).rsplit(".", 2)
    edited = log[:5] + ("A" if log[5] != "A" else "B") + log[6:]  # in the oldest chunk
    damaged = autogram.deserialize(f"{head}.{edited}.{signature}")
    with pytest.raises(SessionSignatureError) as refused:
        damaged.memory_dict["model_turns"][-1]
    assert refused.value.reason == "tampered"

"""A MemoryObject pickled the way AutoGRAMS users pickle theirs (pickle or dill, as its run
loops, processors and ``parallel_wrapper`` did) is the session by value: it loads anywhere,
inside another session too, as that session, and continues it; in a paused program's locals it
stays the session's own memory. Log entries changed in place are saved changed, through
``serialize`` and through ``save`` (whose ``.log`` is appended to)."""

from __future__ import annotations

import pickle
from pathlib import Path

import dill
import pytest

from autograms import Autogram, autograms_function
from autograms.functional import get_memory, reply, thought
from autograms import use_config
from autograms.memory import SimpleMemory, use_memory


@autograms_function()
def counter():
    count = 0
    while True:
        thought(f"count {count}")
        reply(f"n={count}")
        count += 1


@autograms_function()
def holder():
    memory = get_memory()  # the session's own memory, held across pauses
    while True:
        text = reply(f"turns {len(memory.model_turns)}")
        if text == "stop":
            break


def _autogram(root=counter) -> Autogram:
    return Autogram(root_function=root, test_mode=True, seed=3)


def _advanced(autogram: Autogram, turns: int):
    _, memory = autogram.reply()
    for n in range(turns):
        memory = autogram.deserialize(autogram.serialize(memory))
        _, memory = autogram.reply(f"m{n}", memory_object=memory)
    return memory


@pytest.mark.parametrize("pickler", [pickle, dill], ids=["pickle", "dill"])
@pytest.mark.parametrize("where", ["outside", "inside itself", "inside another"])
def test_a_pickled_memory_object_loads_as_its_own_session(pickler, where: str) -> None:
    autogram = _autogram()
    memory = _advanced(autogram, 4)
    other = _advanced(autogram, 1)
    current = {"outside": None, "inside itself": memory, "inside another": other}[where]
    with use_memory(current) if current is not None else _nothing():
        blob = pickler.dumps(memory)
    with use_memory(other):
        restored = pickler.loads(blob)
    assert restored is not memory and restored is not other
    assert restored.model_turns == memory.model_turns
    assert autogram.reply("next", memory_object=restored)[0] == "n=5"
    assert autogram.reply("next", memory_object=memory)[0] == "n=5"  # the original is untouched


def test_a_memory_held_in_a_paused_programs_locals_stays_the_sessions_own() -> None:
    autogram = _autogram(holder)
    _, memory = autogram.reply()
    for n in range(3):
        memory = autogram.deserialize(autogram.serialize(memory))
        text, memory = autogram.reply(f"m{n}", memory_object=memory)
    assert text == f"turns {len(memory.model_turns) - 1}"


def test_a_pickled_simple_memory_still_refuses_to_pause() -> None:
    with use_config(test_mode=True) as memory:
        thought("something")
    restored = pickle.loads(pickle.dumps(memory))
    assert isinstance(restored, SimpleMemory)
    assert len(restored.model_turns) == len(memory.model_turns) == 1
    with use_memory(restored), pytest.raises(Exception, match="outside a conversation"):
        reply("hello")


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.mark.parametrize("read_first", [False, True], ids=["lent-first", "read-first"])
@pytest.mark.parametrize("how", ["serialize", "save"])
def test_log_entries_changed_in_place_are_saved_changed(
    tmp_path: Path, how: str, read_first: bool
) -> None:
    autogram = _autogram()
    memory = _advanced(autogram, 3)
    path = tmp_path / "session"

    def carried(memory):
        if how == "serialize":
            return autogram.deserialize(autogram.serialize(memory))
        autogram.save(path, memory)
        return autogram.load(path)

    memory = carried(memory)  # the log is encoded (and the file written whole)
    if read_first:  # the library reads the log before any entry is lent: saving it elsewhere
        autogram.save(tmp_path / "elsewhere", memory)  # writes the whole log
    for entry in memory.memory_dict["model_turns"]:
        entry["reviewed"] = True
    memory.memory_dict["model_turns"][-1]["usage_log"] = {"total_tokens": 7}
    changed = len(memory.model_turns)
    _, memory = autogram.reply("more", memory_object=memory)
    memory = carried(memory)  # appended to: the changed entries are written again
    entries = list(memory.memory_dict["model_turns"])
    assert [bool(e.get("reviewed")) for e in entries] == [n < changed for n in range(len(entries))]
    assert entries[changed - 1]["usage_log"] == {"total_tokens": 7}
    memory = carried(carried(memory))  # nothing changed since: the same again
    assert list(memory.memory_dict["model_turns"]) == entries

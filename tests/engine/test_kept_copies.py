"""Module-level objects at places the program changes (an item of a module-level dict, an
attribute of an instance a module binds) come back as the module's own while the place holds
them, and as what they were when the place is empty at the resume (evicted between turns, or a
new process): never a refusal. Checked against plain Python on generated programs."""

from __future__ import annotations

import random
import subprocess
import sys
import threading

import pytest

from autograms import Autogram, _frames
from tests.dialog.harness import ROOT
from tests.engine.programs import evicted_places

SEEDS = range(30)


def _expected(seed: int, names: list[str], evicted: set[str]) -> list[tuple]:
    """What plain Python gives: the objects the locals held, with what they held."""
    rng = random.Random(seed)
    chosen = [rng.choice(names) for _ in range(4)]
    return [(name, name not in evicted, True, repr(evicted_places.entry(name))) for name in chosen]


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_holders_of_evicted_entries_match_plain_python(seed: int) -> None:
    names = evicted_places.fill(seed)
    outcome = _frames.run(evicted_places.holder, (seed, names))
    rng = random.Random(seed + 1000)
    evicted = {name for name in names if rng.random() < 0.5}
    expected = _expected(seed, names, evicted)
    for name in evicted:
        if name.startswith("CACHE"):
            del evicted_places.CACHE[name[7:-2]]
        else:
            delattr(evicted_places.SERVICE, name[8:])
    final = _frames.resume(bytes(outcome.snapshot), "go")
    assert final.value == expected, (evicted, final.value)


def test_generated_holders_resume_in_a_fresh_process_with_what_they_held() -> None:
    snapshots, expected = [], []
    for seed in SEEDS:
        names = evicted_places.fill(seed)
        snapshots.append(bytes(_frames.run(evicted_places.holder, (seed, names)).snapshot))
        expected.append(_expected(seed, names, set(names)))  # the new process has none
    script = (
        "import sys, pickle\n"
        "from autograms import _frames\n"
        "from tests.engine.programs import evicted_places\n"
        "snapshots = pickle.loads(sys.stdin.buffer.read())\n"
        "values = [_frames.resume(blob, 'go').value for blob in snapshots]\n"
        "sys.stdout.write(repr(values))\n"
    )
    import pickle

    done = subprocess.run(
        [sys.executable, "-c", script],
        input=pickle.dumps(snapshots),
        capture_output=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode() == repr(expected)


_LOCKED = """
import threading
from autograms import autograms_function
from autograms.functional import reply

class Client:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls = []

CLIENTS = {"db": Client()}

@autograms_function()
def chatbot():
    client = CLIENTS["db"]
    reply("holding the client")
    client.calls.append(1)
    return reply(repr([client is CLIENTS["db"], CLIENTS["db"].calls]))
"""


def test_an_entry_that_cannot_be_copied_is_saved_as_its_place_alone(tmp_path, monkeypatch):
    (tmp_path / "kept_locked_bot.py").write_text(_LOCKED)
    monkeypatch.syspath_prepend(str(tmp_path))
    import kept_locked_bot

    autogram = Autogram(root_function=kept_locked_bot.chatbot, test_mode=True)
    _, memory = autogram.reply()
    memory = autogram.deserialize(autogram.serialize(memory))
    text, _ = autogram.reply("go", memory_object=memory)
    assert text == "[True, [1]]"
    assert isinstance(kept_locked_bot.CLIENTS["db"].lock, type(threading.Lock()))

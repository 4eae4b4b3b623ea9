"""A resumed program sees the values plain Python would: live iterators over its dicts and sets,
exceptions with their chain and traceback, module-level objects as the very objects, closures
that share their cells -- in process, after serialize/deserialize and in a fresh process per
turn, compared with a reference run in which reply() simply blocks.

Also: snapshots are written by the C pickler (dill only for an object nothing else can save),
module-level objects keep sessions small, and operating-system resources are refused on every
path. Generated programs check live dict/set/list iterators against plain Python.
"""

from __future__ import annotations

import dataclasses
import decimal
import enum
import fractions
import gc
import io
import json
import os
import pickletools
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autograms import Autogram, _frames, session
from autograms._frames import wire
from autograms._errors import UnpicklableLocalError
from tests.dialog.harness import ROOT, reference_run, resumed_run
from tests.engine.programs import nested_places
from tests.engine.values import generated_identity, generated_loops, module_objects_bot, refused_bot

MODES = ["in_process", "serialized", "fresh_process"]
BOTS = {
    "iterators_bot": 40,
    "exceptions_bot": 10,
    "module_objects_bot": 2,
    "closures_bot": 8,
    "files_bot": 7,
    "weak_and_memory_bot": 5,
    "forwarding_bot": 3,
    "hashed_keys_bot": 3,
    "finalizers_bot": 5,
}


def _script(turns: int) -> list[str]:
    return [f"message {number}" for number in range(turns)]


def _normalized(run: dict) -> dict:
    return json.loads(json.dumps(run, default=repr))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bot", sorted(BOTS))
def test_resumed_values_are_what_plain_python_sees(bot: str, mode: str) -> None:
    name = f"tests.engine.values.{bot}"
    script = _script(BOTS[bot])
    expected = _normalized(reference_run(name, script))
    assert expected["transcript"][-1] is None, "the script must run the bot to its end"
    assert _normalized(resumed_run(name, script, mode)) == expected


def _snapshots(bot: str, turns: int) -> list[bytes]:
    """The snapshot after each turn of `bot`, each turn resumed from the serialized session."""
    module = __import__(f"tests.engine.values.{bot}", fromlist=["chatbot"])
    autogram = Autogram(root_function=module.chatbot, test_mode=True)
    text, memory = autogram.reply()
    snapshots = []
    for message in _script(turns):
        envelope = session.decode(autogram.serialize(memory), key=None)
        snapshots.append(envelope.snapshot)
        if text is None:
            break
        text, memory = autogram.reply(message, memory_object=autogram.deserialize(
            autogram.serialize(memory)))  # fmt: skip
    return snapshots


def test_closures_cells_and_nested_functions_are_saved_without_dill() -> None:
    snapshots = _snapshots("closures_bot", 5)  # every pause before the local class
    assert len(snapshots) == 5
    assert all(b"dill" not in snapshot for snapshot in snapshots)


def _nested_pickles(snapshot: bytes) -> int:
    """How many pickles the snapshot's payload carries as byte strings (dill's, one per
    object it saved)."""
    stream = io.BytesIO(bytes(wire.split(snapshot)[1]))
    count = 0
    while stream.tell() < len(stream.getbuffer()):
        for opcode, argument, _ in pickletools.genops(stream):
            count += isinstance(argument, bytes) and argument.startswith(b"\x80")
            if opcode.name == "STOP":
                break
    return count


def test_only_the_object_pickle_cannot_save_goes_to_dill() -> None:
    last = _snapshots("closures_bot", 7)[-1]  # paused in local_class
    assert b"dill" in last
    assert _nested_pickles(last) == 1  # the local class alone


def test_a_program_without_such_objects_never_imports_dill() -> None:
    code = (
        "import sys; from tests.dialog.harness import resumed_run; "
        "resumed_run('tests.engine.values.closures_bot', ['a'] * 5, 'serialized'); "
        "print('dill' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr[-2000:]


@pytest.mark.parametrize("mode", MODES[:2])  # a new process imports fresh module registries
def test_closures_handed_to_a_module_stay_the_modules_own(mode: str) -> None:
    name = "tests.engine.values.registered_closures_bot"
    script = _script(9)
    expected = _normalized(reference_run(name, script))
    assert expected["transcript"][-1] is None, "the script must run the bot to its end"
    assert _normalized(resumed_run(name, script, mode)) == expected


def test_a_callback_the_app_dropped_comes_back_as_a_copy_sharing_its_cell() -> None:
    from tests.engine.values import registered_closures_bot as bot

    autogram = Autogram(root_function=bot.chatbot, test_mode=True)
    text, memory = autogram.reply()
    assert text == "list registered 1"
    bot.HANDLERS[:] = [lambda step: -step]  # the app replaced the callbacks between turns
    gc.collect()
    text, _ = autogram.reply("x", memory_object=autogram.deserialize(autogram.serialize(memory)))
    assert text == "list: 10 [-5] 11 False"  # as plain Python: on_event still shares `count`


@pytest.mark.parametrize("mode", MODES[:2])  # a new process hashes strings with another seed
def test_sets_list_their_elements_in_the_order_they_had(mode: str) -> None:
    name = "tests.engine.values.set_order_bot"
    script = _script(7)
    expected = _normalized(reference_run(name, script))
    assert expected["transcript"][-1] is None, "the script must run the bot to its end"
    assert _normalized(resumed_run(name, script, mode)) == expected


@pytest.mark.parametrize("seed", range(6))
def test_generated_sets_load_laid_out_as_saved(seed: int) -> None:
    """Sets of plain values (strings, ints with colliding hashes, frozen dataclasses, enum
    members, decimals, fractions, sets with deletions, emptied and popped sets, frozensets, the program's
    subclasses of both; alone and inside containers) load listing their elements in the saved order, and list them as the original
    does after the same pop and add."""
    from autograms._frames import pickling

    rng = random.Random(seed)
    for _ in range(60):
        original = _generated_set(rng)
        loaded = pickling.load_snapshot(pickling.dumps((original, {"inner": original})))
        assert loaded[1]["inner"] is loaded[0]
        assert type(loaded[0]) is type(original)
        assert list(loaded[0]) == list(original)
        assert vars(loaded[0]) == vars(original) if hasattr(original, "__dict__") else True
        if isinstance(original, set):
            for each in (original, loaded[0]):
                each.add("added")
                if len(each) > 1:
                    each.pop()
            assert list(loaded[0]) == list(original)


@dataclasses.dataclass(frozen=True)
class _Point:
    x: int
    tag: str


class _Shade(enum.Enum):
    LIGHT = 1
    DARK = 2


def _generated_set(rng: random.Random) -> set | frozenset:
    size = rng.choice([0, 1, 3, 8, 20, 100, 600])
    pick = rng.choice(
        [
            lambda: "".join(rng.choice("abcdef") for _ in range(rng.randint(1, 4))),
            lambda: rng.randint(0, 60) * rng.choice([8, 32, 1024]) + rng.randint(0, 2),
            lambda: rng.choice([rng.randint(-9, 9), str(rng.randint(0, 99)), 0.5, None, b"b"]),
            lambda: (rng.randint(0, 4), str(rng.randint(0, 4))),
            lambda: _Point(rng.randint(0, 60) * 8, str(rng.randint(0, 3))),
            lambda: rng.choice([*_Shade, rng.randint(0, 9)]),
            lambda: rng.choice([decimal.Decimal, fractions.Fraction])(rng.randint(0, 60) * 8),
        ]
    )
    kind = rng.choice([set, set, frozenset, _Tags, _FrozenTags])
    made: set = _Tags((), owner="generated") if kind is _Tags else set()
    for _ in range(size):
        made.add(pick())
        if rng.random() < 0.3:
            made.discard(pick())
        if made and rng.random() < 0.1:
            made.pop()
    if kind in (frozenset, _FrozenTags):
        made = kind(made)  # (a frozenset copies a set's table as it is)
    if kind is _FrozenTags:
        made.note = "kept"
    return made


class _Tags(set):
    """A program's set subclass whose __init__ takes what the base does not."""

    def __init__(self, items, owner):
        super().__init__(items)
        self.owner = owner


class _FrozenTags(frozenset):
    pass


def test_module_level_objects_are_not_copied_into_the_session() -> None:
    snapshot = _snapshots("module_objects_bot", 1)[0]
    big = len(json.dumps(module_objects_bot.BIG))
    assert len(snapshot) < big / 10  # BIG (20,000 numbers) is a reference, not a copy
    assert b"module_objects_bot" in snapshot and b"BIG" in snapshot


def test_module_level_containers_inside_a_locals_containers_are_the_modules_own() -> None:
    # TABLE and TABLE["row"] (one step from a program module's global) are module-level, and
    # so are ITEMS and BIG held inside a local's list or dict: referred to, never copied.
    autogram = Autogram(root_function=module_objects_bot.row_holder, test_mode=True)
    _, memory = autogram.reply()
    saved = autogram.serialize(memory)
    assert len(saved) < len(json.dumps(module_objects_bot.BIG)) / 10
    text, _ = autogram.reply("go", memory_object=autogram.deserialize(saved))
    assert text == (
        "table is TABLE: True; row is TABLE['row']: True; nested[0] is ITEMS: True; "
        "big['big'] is BIG: True"
    )


def test_a_global_bound_while_the_program_runs_is_module_level_at_the_next_pause() -> None:
    autogram = Autogram(root_function=module_objects_bot.rebound_global, test_mode=True)
    _, memory = autogram.reply()
    text, _ = autogram.reply("go", memory_object=autogram.deserialize(autogram.serialize(memory)))
    assert text == "cache is CACHE: True, {'loaded': True}"


def test_a_module_imported_after_the_first_pause_is_indexed_at_the_next() -> None:
    autogram = Autogram(root_function=module_objects_bot.imported_between_pauses, test_mode=True)
    _, memory = autogram.reply()
    _, memory = autogram.reply("go", memory_object=autogram.deserialize(autogram.serialize(memory)))
    snapshot = session.decode(autogram.serialize(memory), key=None).snapshot
    assert b"imported_late" in snapshot and b"MARKER" in snapshot  # a reference, not a copy
    text, _ = autogram.reply("go", memory_object=autogram.deserialize(autogram.serialize(memory)))
    assert text == "marker is MARKER: True"


def test_indexing_module_objects_never_imports_what_a_lazy_proxy_stands_for() -> None:
    # openai's package binds such proxies; asking them for __class__ imported hundreds of
    # modules, each import making the index be rebuilt again at the next pause
    from tests.engine.values import lazy_proxy_module  # noqa: F401 - imported to be indexed

    autogram = Autogram(root_function=module_objects_bot.rebound_global, test_mode=True)
    _, memory = autogram.reply()
    autogram.serialize(memory)
    assert "tests.engine.values.imported_by_proxy" not in sys.modules


@pytest.mark.parametrize(
    ("program", "local", "words"),
    [
        ("lock_from_module", "lock", "lock"),
        ("file_in_closure", "first_line", "operating-system resource"),
        ("file_in_local_class", "Holder", "operating-system resource"),
        ("generator_in_list", "pending", "running frame"),
        ("unstarted_generator_over_a_closure", "numbers", "closure"),
        ("open_file_in_with", "source", "operating-system resource"),
        ("code_of_no_function", "code", "belongs to no function of the program"),
    ],
)
def test_resources_are_refused_on_every_path(program: str, local: str, words: str) -> None:
    autogram = Autogram(root_function=getattr(refused_bot, program), test_mode=True)
    with pytest.raises(UnpicklableLocalError) as caught:
        autogram.reply()
    assert local in str(caught.value) and words in str(caught.value)
    assert caught.value.qualname == program


@pytest.mark.parametrize("program", ["frozenset_keyed_by_its_owner", "counter_keyed_by_its_owner"])
def test_a_container_keyed_by_its_owner_that_cannot_be_filled_late_is_refused_at_the_pause(
    program: str,
) -> None:
    autogram = Autogram(root_function=getattr(refused_bot, program), test_mode=True)
    text, memory = autogram.reply()
    saved = autogram.serialize(memory)
    with pytest.raises(UnpicklableLocalError) as caught:
        autogram.reply("tag", memory_object=memory)
    assert caught.value.local_name == "tag"
    assert caught.value.qualname == program
    assert "keyed by an object hashed by its own state" in str(caught.value)
    assert autogram.reply("x", memory_object=memory)[0] == "no tag"
    assert autogram.reply("y", memory_object=autogram.deserialize(saved))[0] == "no tag"


def test_a_frozenset_keyed_by_its_owner_past_the_walk_is_refused_at_the_pause(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past the objects the walk may look at, whether a frozenset is in a cycle with its keys
    is not known: refused (pickle's copy would file its owner under another hash, silently)."""
    from autograms._frames import hashed_keys

    monkeypatch.setattr(hashed_keys, "WALK_LIMIT", 500)  # the owner's state holds 3,000 lists
    autogram = Autogram(root_function=refused_bot.frozenset_past_the_walk, test_mode=True)
    _, memory = autogram.reply()
    with pytest.raises(UnpicklableLocalError) as caught:
        autogram.reply("tag", memory_object=memory)
    assert caught.value.local_name == "tag"
    assert "more than 500 objects" in str(caught.value)
    assert autogram.reply("x", memory_object=memory)[0] == "no tag"


def test_a_value_dill_cannot_save_is_refused_naming_it_whatever_the_frame_holds(capfd) -> None:
    autogram = Autogram(root_function=refused_bot.local_enum_beside_local_exception, test_mode=True)
    with pytest.raises(UnpicklableLocalError) as caught:
        autogram.reply()
    assert caught.value.local_name == "Mode" and "recursion" not in str(caught.value)
    assert "Warning" not in capfd.readouterr().err


SEEDS = range(60)


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_loops_over_changing_containers_match_plain_python(seed: int) -> None:
    script = [str(seed)] + _script(generated_loops.MAX_PAUSES)
    expected = _normalized(reference_run("tests.engine.values.generated_loops", script))
    for mode in ("in_process", "serialized"):
        got = _normalized(resumed_run("tests.engine.values.generated_loops", script, mode))
        assert got == expected, (seed, mode, generated_loops.describe(seed))


@pytest.mark.parametrize("seed", random.Random(11).sample(list(SEEDS), 3))
def test_generated_loops_match_plain_python_in_a_fresh_process(seed: int) -> None:
    script = [str(seed)] + _script(generated_loops.MAX_PAUSES)
    expected = _normalized(reference_run("tests.engine.values.generated_loops", script))
    got = _normalized(resumed_run("tests.engine.values.generated_loops", script, "fresh_process"))
    assert got == expected, (seed, generated_loops.describe(seed))


_STEP = textwrap.dedent(
    """
    import json, sys
    from autograms import Autogram
    import bot
    path, message = sys.argv[1], sys.argv[2]
    autogram = Autogram(root_function=bot.chatbot, test_mode=True)
    try:
        memory = None if message == "-" else autogram.load(path)
        text, memory = autogram.reply("" if message == "-" else message, memory_object=memory)
    except Exception as exc:
        print(json.dumps({"refused": type(exc).__name__, "message": str(exc)}))
        sys.exit(0)
    autogram.save(path, memory)
    print(json.dumps({"text": text}))
    """
)
_CLOSURE_BOT = """
from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def chatbot():
    base = 10

    def scaled(x):
        return x * base

    answer = reply("number?", ADDRESS="number")
    return reply(f"scaled: {scaled(int(answer))}")
"""


def _step(folder: Path, source: str, message: str) -> dict:
    (folder / "bot.py").write_text(source)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(folder), ROOT]))
    result = subprocess.run(
        [sys.executable, "-c", _STEP, str(folder / "session.txt"), message],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_saved_closure_runs_its_code_as_loaded_now(tmp_path: Path) -> None:
    assert _step(tmp_path, _CLOSURE_BOT, "-") == {"text": "number?"}
    edited = _CLOSURE_BOT.replace('f"scaled: ', 'f"scaled now: ')  # after the labelled pause
    assert _step(tmp_path, edited, "5") == {"text": "scaled now: 50"}


def test_a_saved_closure_whose_code_changed_is_refused(tmp_path: Path) -> None:
    assert _step(tmp_path, _CLOSURE_BOT, "-") == {"text": "number?"}
    edited = _CLOSURE_BOT.replace("return x * base", "return x + base")
    result = _step(tmp_path, edited, "5")
    assert result.get("refused"), result
    assert "chatbot.<locals>.scaled" in result["message"] and "changed" in result["message"]


@pytest.mark.parametrize("seed", range(40))
def test_module_level_containers_nested_in_generated_locals_are_the_modules_own(
    seed: int,
) -> None:
    outcome = _frames.run(nested_places.holder, (seed,))
    final = _frames.resume(bytes(outcome.snapshot), "go")
    assert [found for found in final.value if not found[2]] == []


def test_loads_that_are_not_resumed_run_no_finalizer() -> None:
    """Reading a saved session's state loads its values: those copies are let go quietly,
    and the copies a resume makes run ``__del__`` once, when the program drops them."""
    import gc

    from tests.engine.values import finalizers_bot as bot

    autogram = Autogram(root_function=bot.chatbot, test_mode=True)
    _, memory = autogram.reply()
    saved = autogram.serialize(memory)
    del memory
    gc.collect()
    bot.EVENTS.clear()
    for _ in range(3):
        copy = autogram.deserialize(saved)
        assert copy.memory_dict["turn_stack"]  # the state saved with the frames: a load
        del copy
    gc.collect()
    assert bot.EVENTS == []
    text, memory = autogram.reply("one", memory_object=autogram.deserialize(saved))
    assert text == "dels again [] single 2"
    text, memory = autogram.reply("two", memory_object=memory)
    assert text == "finalizer [] True"  # (dels() ran its finalizers once; chatbot cleared them)


IDENTITY_SEEDS = range(24)


@pytest.mark.parametrize("seed", IDENTITY_SEEDS)
def test_generated_unions_modules_local_classes_and_nans_match_plain_python(seed: int) -> None:
    script = [str(seed)] + _script(generated_identity.MAX_PAUSES)
    expected = _normalized(reference_run("tests.engine.values.generated_identity", script))
    for mode in ("in_process", "serialized"):
        got = _normalized(resumed_run("tests.engine.values.generated_identity", script, mode))
        assert got == expected, (seed, mode, generated_identity.describe(seed))


@pytest.mark.parametrize("seed", random.Random(12).sample(list(IDENTITY_SEEDS), 3))
def test_generated_identity_values_match_plain_python_in_a_fresh_process(seed: int) -> None:
    script = [str(seed)] + _script(generated_identity.MAX_PAUSES)
    expected = _normalized(reference_run("tests.engine.values.generated_identity", script))
    got = _normalized(
        resumed_run("tests.engine.values.generated_identity", script, "fresh_process")
    )
    assert got == expected, (seed, generated_identity.describe(seed))

"""The code cache (autograms/_frames/code_cache.py): a fresh process loads what instrumenting
built in an earlier one, and never uses an entry that does not fit.

Every test runs fresh interpreters, one per turn, as workers do, each with the cache folder of
the test (`AUTOGRAMS_CODE_CACHE`), and compares what they say with a run that builds everything
(the cache off). Whether a process built a function or loaded it shows in what it imported: a
build imports the rewrite (`autograms._frames.instrument`) and `bytecode`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograms._frames import code_cache

ROOT = Path(__file__).resolve().parents[2]

BOT = """
from autograms import autograms_function
from autograms.functional import reply

GREETING = "hello"
LABEL = "ask"


@autograms_function()
def ask(count):
    answers = []
    for index in range(count):
        try:
            answers.append(reply(f"{GREETING} {index}", ADDRESS=LABEL).upper())
        except ValueError:
            answers.append("?")
    return answers


@autograms_function()
def chatbot():
    total = 0
    while True:
        got = ask(2)
        total += len(got)
        scaled = [len(word) * total for word in got]
        reply(f"got {got} {scaled} total {total}")
"""

_TURN = """
import json, sys
session, message, version = sys.argv[1:4]
import autograms
if version:
    import autograms._version
    autograms._version.__version__ = version
from autograms import Autogram
from cache_bot import chatbot

autogram = Autogram(root_function=chatbot, test_mode=True)
if session:
    memory = autogram.deserialize(open(session).read())
    text, memory = autogram.reply(message, memory_object=memory)
else:
    text, memory = autogram.reply()
open(session or sys.argv[4], "w").write(autogram.serialize(memory))
print(json.dumps({
    "text": text,
    "built": "autograms._frames.instrument" in sys.modules,
    "bytecode": "bytecode" in sys.modules,
    "dill": "dill" in sys.modules,
}))
"""

MESSAGES = ("one", "two", "three")


@pytest.fixture
def bot(tmp_path: Path) -> Path:
    """A folder holding the bot's module, `cache_bot`."""
    folder = tmp_path / "bot"
    folder.mkdir()
    (folder / "cache_bot.py").write_text(BOT)
    return folder


def _start(bot: Path, cache: str | None, session: Path, message: str = "", version: str = ""):
    """Start a turn in a fresh interpreter; `cache` is the setting (None: not set, so the
    folder under the home directory, which is the bot's folder's parent's ``home``)."""
    environment = dict(os.environ, PYTHONPATH=f"{bot}{os.pathsep}{ROOT}", HOME=str(bot / "home"))
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    environment.pop("AUTOGRAMS_CODE_CACHE", None)
    if cache is not None:
        environment["AUTOGRAMS_CODE_CACHE"] = cache
    first = "" if message == "" else str(session)
    return subprocess.Popen(
        [sys.executable, "-c", _TURN, first, message, version, str(session)],
        cwd=bot,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return json.loads(out)


def _turn(
    bot: Path, cache: str | None, session: Path, message: str = "", version: str = ""
) -> dict:
    return _finish(_start(bot, cache, session, message, version))


def _conversation(
    bot: Path, cache: str | None, session: Path, turns: int = len(MESSAGES)
) -> list[dict]:
    said = [_turn(bot, cache, session)]
    said += [_turn(bot, cache, session, message) for message in MESSAGES[: turns - 1]]
    return said


def _texts(said: list[dict]) -> list[str]:
    return [turn["text"] for turn in said]


def _entries(cache: Path) -> list[Path]:
    return sorted(path for path in cache.rglob("*") if path.is_file())


def test_cached_and_uncached_fresh_processes_give_the_same_transcript(
    bot: Path, tmp_path: Path
) -> None:
    built = _conversation(bot, "off", tmp_path / "plain.session")
    cache = tmp_path / "cache"
    cached = _conversation(bot, str(cache), tmp_path / "cached.session")
    assert _texts(cached) == _texts(built)
    assert all(turn["built"] for turn in built)
    assert cached[0]["built"]  # the first process fills the cache
    assert not any(turn["built"] or turn["bytecode"] or turn["dill"] for turn in cached[1:])
    assert (tmp_path / "cached.session").read_text() != ""


def test_an_edited_function_is_built_again_never_loaded(bot: Path, tmp_path: Path) -> None:
    cache = str(tmp_path / "cache")
    _conversation(bot, cache, tmp_path / "first.session", turns=2)
    module = bot / "cache_bot.py"
    module.write_text(BOT.replace('f"{GREETING} {index}"', 'f"{GREETING}! {index}"'))
    edited = _turn(bot, cache, tmp_path / "edited.session")
    assert edited["built"]
    assert edited["text"] == "hello! 0"
    again = _turn(bot, cache, tmp_path / "again.session")
    assert not again["built"]
    assert again["text"] == "hello! 0"


def test_a_changed_label_global_is_built_again(bot: Path, tmp_path: Path) -> None:
    """The function's code is the same, but its ADDRESS= names a global whose value changed:
    the labels found at decoration differ, so the entry does not fit."""
    cache = str(tmp_path / "cache")
    _turn(bot, cache, tmp_path / "first.session")
    (bot / "cache_bot.py").write_text(BOT.replace('LABEL = "ask"', 'LABEL = "asked"'))
    assert _turn(bot, cache, tmp_path / "relabelled.session")["built"]
    assert not _turn(bot, cache, tmp_path / "again.session")["built"]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            'LABEL = "ask"\n',
            "",
        ),  # a constant bound below the function (read from the module's code)
        ('LABEL = "ask"\n', "class Labels:\n    ASK = 'ask'\n"),  # a class attribute
    ],
)
def test_a_label_bound_below_or_in_a_class_is_built_again_when_it_changes(
    bot: Path, tmp_path: Path, before: str, after: str
) -> None:
    """An ADDRESS= naming a constant bound below the function, or a class attribute: the entry
    is used while the label is the same, and built again when it changes."""
    source = BOT.replace(before, after)
    if after:
        source = source.replace("ADDRESS=LABEL", "ADDRESS=Labels.ASK")
    else:
        source += '\nLABEL = "ask"\n'
    (bot / "cache_bot.py").write_text(source)
    cache = str(tmp_path / "cache")
    assert _turn(bot, cache, tmp_path / "first.session")["built"]
    assert not _turn(bot, cache, tmp_path / "second.session")["built"]
    changed = source.replace("'ask'", "'asked'").replace('"ask"', '"asked"')
    (bot / "cache_bot.py").write_text(changed)
    assert _turn(bot, cache, tmp_path / "relabelled.session")["built"]
    assert not _turn(bot, cache, tmp_path / "again.session")["built"]


def test_another_library_version_builds_again(bot: Path, tmp_path: Path) -> None:
    cache = str(tmp_path / "cache")
    _turn(bot, cache, tmp_path / "first.session")
    other = _turn(bot, cache, tmp_path / "other.session", version="0.0.0+other")
    assert other["built"]
    assert not _turn(bot, cache, tmp_path / "same.session", version="0.0.0+other")["built"]


@pytest.mark.parametrize("damage", ["corrupt", "truncate", "empty"])
def test_a_damaged_entry_is_built_again_and_rewritten(
    bot: Path, tmp_path: Path, damage: str
) -> None:
    cache = tmp_path / "cache"
    expected = _texts(_conversation(bot, str(cache), tmp_path / "fill.session", turns=2))
    entries = _entries(cache)
    assert len(entries) == 4  # ask and chatbot, each with its twin
    for path in entries:
        blob = bytearray(path.read_bytes())
        if damage == "corrupt":
            blob[len(blob) // 2] ^= 0xFF
        elif damage == "truncate":
            del blob[len(blob) // 2 :]
        else:
            blob.clear()
        path.write_bytes(bytes(blob))
    said = _conversation(bot, str(cache), tmp_path / "damaged.session", turns=2)
    assert _texts(said) == expected
    assert said[0]["built"] and not said[1]["built"]  # the first process rewrote them


def test_two_processes_filling_the_cache_at_once_each_build_or_load_whole_entries(
    bot: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    sessions = [tmp_path / f"{n}.session" for n in range(3)]
    processes = [_start(bot, str(cache), session) for session in sessions]
    said = [_finish(process) for process in processes]
    assert {turn["text"] for turn in said} == {"hello 0"}
    assert not [path for path in _entries(cache) if path.name.endswith(".tmp")]
    later = _turn(bot, str(cache), sessions[0], "one")
    assert not later["built"]
    assert later["text"] == "hello 1"


def test_the_cache_lives_under_the_home_folder_unless_turned_off(bot: Path, tmp_path: Path) -> None:
    home_cache = bot / "home" / ".cache" / "autograms" / "code"
    said = _conversation(bot, "off", tmp_path / "off.session", turns=2)
    assert all(turn["built"] for turn in said)
    assert not (bot / "home").exists()
    said = _conversation(bot, None, tmp_path / "default.session", turns=2)
    assert said[0]["built"] and not said[1]["built"]
    assert len(_entries(home_cache)) == 4


_REBUILD = """
import json, sys
import cache_bot
from autograms._frames import registry
from autograms._frames.code_cache import twin_of
from autograms._frames.versions import CALL_OPS

loaded = "autograms._frames.instrument" not in sys.modules
checked = []
for info in registry.registered():
    cached = twin_of(info)
    calls = [info.flow.instrs[site.position].name in CALL_OPS for site in info.sites]
    from autograms._frames.twin import build_twin
    rebuilt = build_twin(info)
    checked.append({
        "function": info.qualname,
        "calls": all(calls) and len(calls) > 0,
        "twin": rebuilt.code.co_code == cached.code.co_code
        and rebuilt.code.co_consts == cached.code.co_consts
        and rebuilt.site_map == cached.site_map
        and rebuilt.stub_offsets == cached.stub_offsets,
    })
print(json.dumps({"loaded": loaded, "checked": checked}))
"""


def test_a_loaded_function_rebuilds_the_analysis_and_twin_it_was_cached_with(
    bot: Path, tmp_path: Path
) -> None:
    """What the rarer paths build again (`FunctionInfo.flow`, the layout) fits the cached call
    sites, and the twin built from it is the cached one, constants included."""
    cache = str(tmp_path / "cache")
    _turn(bot, cache, tmp_path / "fill.session")
    environment = dict(
        os.environ, PYTHONPATH=f"{bot}{os.pathsep}{ROOT}", AUTOGRAMS_CODE_CACHE=cache
    )
    completed = subprocess.run(
        [sys.executable, "-c", _REBUILD],
        cwd=bot,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert report["loaded"]
    assert sorted(entry["function"] for entry in report["checked"]) == ["ask", "chatbot"]
    assert all(entry["calls"] and entry["twin"] for entry in report["checked"]), report


def test_each_function_keeps_its_newest_entries_only(bot: Path, tmp_path: Path) -> None:
    """Every edit writes a new entry; the function's older ones beyond the newest few go."""
    cache = tmp_path / "cache"
    module = bot / "cache_bot.py"
    for edit in range(6):
        marks = "!" * edit  # another size each time: the .pyc of a same-sized edit may be reused
        module.write_text(BOT.replace('f"{GREETING} {index}"', f'f"{{GREETING}}{marks} {{index}}"'))
        assert _turn(bot, str(cache), tmp_path / f"{edit}.session")["built"]
    (ask,) = [path for path in cache.rglob("cache_bot.ask") if path.is_dir()]
    kept = sorted(path.name for path in ask.iterdir())
    assert len(kept) == 2 * code_cache._KEEP_PER_FUNCTION, kept  # each entry with its twin
    newest = _turn(bot, str(cache), tmp_path / "newest.session")
    assert not newest["built"]
    assert newest["text"] == "hello!!!!! 0"


def test_a_cache_folder_keeps_its_most_recently_written_functions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = tmp_path / "tag"
    for number in range(5):
        folder = tag / f"bot.f{number}"
        folder.mkdir(parents=True)
        (folder / "0000abcd").write_bytes(b"entry")
        os.utime(folder, ns=(number * 10**9, number * 10**9))
    (tag / "bot.old.0000abcd").write_bytes(b"an entry of the first layout")
    (tag / "bot.old.0000abcd.twin").write_bytes(b"its twin")
    monkeypatch.setattr(code_cache, "_KEEP_FUNCTIONS", 3)
    monkeypatch.setattr(code_cache, "_pruned", set())
    code_cache._evict(str(tag / "bot.f4" / "0000abcd"))
    assert sorted(path.name for path in tag.iterdir()) == ["bot.f2", "bot.f3", "bot.f4"]

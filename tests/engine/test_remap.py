"""Fitting a snapshot to changed code frame by frame (`fit`), from its header alone, and moving
frames the code no longer has to labels a mapping names (`relabel`). Every step runs in its own
interpreter, as a deploy does: the snapshot is written by one version of the code and fitted to
another."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]

_STEP = textwrap.dedent(
    """
    import json, sys
    from autograms import _frames
    import bot
    path, action, argument, labels = sys.argv[1:5]
    labels = json.loads(labels)
    blob = open(path, "rb").read() if action != "run" else b""

    def fits(read_values=False):
        return [
            {"qualname": f.qualname, "fit": f.fit.value, "line": f.lineno, "label": f.label,
             "reason": f.reason, "locals_checked": f.locals_checked}
            for f in _frames.fit(blob, labels, read_values=read_values)
        ]

    try:
        if action == "run":
            outcome = _frames.run(bot.main)
        elif action == "resume":
            outcome = _frames.resume(blob, argument)
        elif action == "fit":
            print(json.dumps({"fits": fits()}))
            sys.exit(0)
        elif action == "fit-reading":
            print(json.dumps({"fits": fits(read_values=True)}))
            sys.exit(0)
        elif action == "by-name":  # as written before values were tuples, entries cut short
            from autograms._frames import wire
            from tests.engine import earlier_formats
            python, frames = json.loads(wire.split(blob)[0])
            cut = [entry[: int(argument)] for entry in frames]
            header = json.dumps([python, cut]).encode()
            open(path, "wb").write(earlier_formats.values_by_name(blob, header))
            print(json.dumps({"rewritten": len(cut)}))
            sys.exit(0)
        else:  # relabel, store, then resume the stored snapshot
            loaded, _ = _frames.relabel(blob, labels)
            moved = _frames.store(loaded)
            outcome = _frames.resume(moved, argument)
    except _frames.ContinuationError as exc:
        print(json.dumps({"refused": exc.reason, "message": str(exc)}))
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

def interview():
    age = ask("age?", ADDRESS="age")
    town = ask("town?", ADDRESS="town")
    return f"{age} in {town}"

def main():
    name = ask("name?", ADDRESS="name")
    about = interview(ADDRESS="interview")
    colour = ask("colour?", ADDRESS="colour")
    return f"{name} ({about}) likes {colour}"

_frames.instrument(interview)
_frames.instrument(main)
"""


def step(folder: Path, source: str, action: str, argument: str = "", labels=None) -> dict:
    (folder / "bot.py").write_text(textwrap.dedent(source))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(folder), str(ROOT)]))
    command = [sys.executable, "-c", _STEP, str(folder / "snapshot.bin"), action, argument]
    result = subprocess.run(
        [*command, json.dumps(labels or {})], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, f"interpreter crashed or failed:\n{result.stderr}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def paused_in_interview(folder: Path) -> None:
    """Run the original to the pause at "age?" (main -> interview)."""
    assert step(folder, ORIGINAL, "run") == {"paused": "name?"}
    assert step(folder, ORIGINAL, "resume", "Ada") == {"paused": "age?"}


def fits(folder: Path, source: str, labels=None) -> list[dict]:
    return step(folder, source, "fit", labels=labels)["fits"]


def test_unchanged_and_moved_code_fits_where_it_paused(tmp_path: Path) -> None:
    paused_in_interview(tmp_path)
    same = fits(tmp_path, ORIGINAL)
    assert [(f["qualname"], f["fit"], f["label"]) for f in same] == [
        ("main", "same", "interview"),
        ("interview", "same", "age"),
    ]
    moved = fits(tmp_path, "\n\n\n# moved down\n" + ORIGINAL)
    assert [f["fit"] for f in moved] == ["same", "same"]
    assert [f["line"] for f in moved] == [f["line"] + 4 for f in same]


def test_an_edit_after_the_pause_remaps_by_label_with_locals_checked(tmp_path: Path) -> None:
    paused_in_interview(tmp_path)
    edited = ORIGINAL.replace('return f"{age} in {town}"', 'return f"{age}, from {town}"')
    result = fits(tmp_path, edited)
    assert [(f["fit"], f["reason"], f["locals_checked"]) for f in result] == [
        ("same", None, True),
        ("remapped", "code changed", True),
    ]
    assert step(tmp_path, edited, "resume", "36") == {"paused": "town?"}
    assert step(tmp_path, edited, "resume", "Oslo") == {"paused": "colour?"}


def test_a_needed_local_missing_is_found_from_the_header_alone(tmp_path: Path) -> None:
    source = (
        ORIGINAL.replace(
            'name = ask("name?", ADDRESS="name")',
            'keepsake = Keepsake()\n    name = ask("name?", ADDRESS="name")',
        )
        + "\nclass Keepsake:\n    pass\n"
    )
    assert step(tmp_path, source, "run") == {"paused": "name?"}
    # the class is gone: unpickling the snapshot would fail, so fit must not unpickle it
    edited = source.replace("class Keepsake:\n    pass\n", "").replace(
        '    keepsake = Keepsake()\n    name = ask("name?", ADDRESS="name")',
        '    extra = 1\n    name = ask("name?", ADDRESS="name")\n    print(extra)',
    )
    (result,) = fits(tmp_path, edited)
    assert (result["fit"], result["reason"]) == ("refused", "missing locals")


def test_a_removed_label_is_refused_and_a_mapping_resumes_it_at_the_new_one(
    tmp_path: Path,
) -> None:
    paused_in_interview(tmp_path)
    edited = ORIGINAL.replace('ADDRESS="age"', 'ADDRESS="years"')
    outer, inner = fits(tmp_path, edited)
    assert outer["fit"] == "same"
    assert (inner["fit"], inner["reason"]) == ("refused", "label removed")
    outer, inner = fits(tmp_path, edited, {"age": "years"})
    assert (inner["fit"], inner["label"]) == ("relabelled", "years")
    assert step(tmp_path, edited, "relabel", "36", {"age": "years"}) == {"paused": "town?"}
    # the stored snapshot names the new code: it resumes with no mapping
    assert step(tmp_path, edited, "resume", "Oslo") == {"paused": "colour?"}
    assert step(tmp_path, edited, "resume", "red") == {"finished": "Ada (36 in Oslo) likes red"}


def test_a_removed_function_maps_to_a_label_of_its_caller_and_is_dropped(
    tmp_path: Path,
) -> None:
    paused_in_interview(tmp_path)
    edited = (
        ORIGINAL.replace("_frames.instrument(interview)\n", "")
        .replace("def interview():", "def old_interview():")
        .replace(
            'about = interview(ADDRESS="interview")', 'about = ask("about you?", ADDRESS="about")'
        )
    )
    outer, inner = fits(tmp_path, edited)
    assert (inner["fit"], inner["reason"]) == ("refused", "function not found")
    for key in ("interview", "bot:interview", "bot.interview"):
        outer, inner = fits(tmp_path, edited, {key: "about"})
        assert (outer["fit"], outer["label"], inner["fit"]) == ("relabelled", "about", "dropped")
    # resumed as if paused at the call labelled "about": it returns the resume value
    assert step(tmp_path, edited, "relabel", "a painter", {"interview": "about"}) == {
        "paused": "colour?"
    }
    assert step(tmp_path, edited, "resume", "red") == {"finished": "Ada (a painter) likes red"}


def test_a_mapping_to_a_label_nobody_has_is_refused_naming_it(tmp_path: Path) -> None:
    paused_in_interview(tmp_path)
    edited = ORIGINAL.replace('ADDRESS="age"', 'ADDRESS="years"')
    _, inner = fits(tmp_path, edited, {"age": "nowhere"})
    assert (inner["fit"], inner["reason"]) == ("refused", "mapped label not found")
    result = step(tmp_path, edited, "relabel", "36", {"age": "nowhere"})
    assert result["refused"] == "mapped label not found" and "'nowhere'" in result["message"]


def test_a_mapping_is_checked_like_a_remap(tmp_path: Path) -> None:
    paused_in_interview(tmp_path)
    paused_at = '    age = ask("age?", ADDRESS="age")'
    renamed = paused_at.replace('"age")', '"years")')
    # the new label's call sits above a pending value (a call's result being added to)
    stacked = ORIGINAL.replace(
        paused_at, '    more = str(1) + ask("more?", ADDRESS="more")\n' + renamed
    )
    _, inner = fits(tmp_path, stacked, {"interview": "more"})
    assert (inner["fit"], inner["reason"]) == ("refused", "value stack changed")
    # the new label's code reads a local the paused frame never had
    needs = ORIGINAL.replace(
        paused_at,
        '    extra = 5\n    more = ask("more?", ADDRESS="more")\n    print(extra)\n' + renamed,
    )
    _, inner = fits(tmp_path, needs, {"interview": "more"})
    assert (inner["fit"], inner["reason"]) == ("refused", "missing locals")
    # a mapping is for refused frames only: these resume where they paused
    assert [f["fit"] for f in fits(tmp_path, ORIGINAL, {"age": "town"})] == ["same", "same"]


def test_a_header_without_saved_names_leaves_locals_unchecked_unless_values_are_read(
    tmp_path: Path,
) -> None:
    paused_in_interview(tmp_path)
    _strip_saved_names(tmp_path)
    edited = ORIGINAL.replace('return f"{age} in {town}"', 'return f"{age}, from {town}"')
    _, inner = fits(tmp_path, edited)
    assert (inner["fit"], inner["locals_checked"]) == ("remapped", False)
    _, inner = step(tmp_path, edited, "fit-reading")["fits"]
    assert (inner["fit"], inner["locals_checked"]) == ("remapped", True)
    assert step(tmp_path, edited, "resume", "36") == {"paused": "town?"}


def _strip_saved_names(folder: Path) -> None:
    """Rewrite a snapshot as headers were written before they named the saved locals (and
    the values were pickled by name)."""
    assert step(folder, ORIGINAL, "by-name", "7") == {"rewritten": 2}


WITH_CELL = ORIGINAL.replace(
    '    town = ask("town?", ADDRESS="town")\n    return f"{age} in {town}"',
    '    shout = lambda: age * 2\n    town = ask("town?", ADDRESS="town")\n'
    '    return f"{shout()} in {town}"',
)
#: a cell variable added before the saved one (cells are ordered by name), and the saved
#: one read by the function itself after the label
CELL_ADDED = WITH_CELL.replace(
    '    return f"{shout()} in {town}"',
    '    _t = town\n    echo = lambda: _t\n    return f"{shout()} in {echo()}, {age}"',
)


def paused_at_town(folder: Path) -> None:
    assert step(folder, WITH_CELL, "run") == {"paused": "name?"}
    assert step(folder, WITH_CELL, "resume", "Ada") == {"paused": "age?"}
    assert step(folder, WITH_CELL, "resume", "36") == {"paused": "town?"}


def test_saved_cells_named_in_the_header_move_to_their_variables_after_an_edit(
    tmp_path: Path,
) -> None:
    paused_at_town(tmp_path)
    _, inner = fits(tmp_path, CELL_ADDED)
    assert (inner["fit"], inner["locals_checked"]) == ("remapped", True)
    assert step(tmp_path, CELL_ADDED, "resume", "Rome") == {"paused": "colour?"}
    assert step(tmp_path, CELL_ADDED, "resume", "red") == {
        "finished": "Ada (3636 in Rome, 36) likes red"
    }


def test_a_header_without_cell_names_gives_the_verdict_a_load_gives(tmp_path: Path) -> None:
    paused_at_town(tmp_path)
    _strip_cell_names(tmp_path)
    _, inner = fits(tmp_path, CELL_ADDED)  # which saved cell is which: unknown from the header
    assert (inner["fit"], inner["locals_checked"]) == ("remapped", False)
    _, inner = step(tmp_path, CELL_ADDED, "fit-reading")["fits"]
    assert (inner["fit"], inner["reason"]) == ("refused", "missing locals")
    assert step(tmp_path, CELL_ADDED, "resume", "Rome")["refused"] == "missing locals"


def _strip_cell_names(folder: Path) -> None:
    """Rewrite a snapshot as headers were written before they named the saved cells (and
    the values were pickled by name)."""
    assert step(folder, WITH_CELL, "by-name", "9") == {"rewritten": 2}


PLAIN_HELPER = """
from autograms import _frames

def ask(question):
    return _frames.pause(question)

def twice(question):
    first = ask(question)
    return first + "+" + ask(question + "?")

def main():
    return twice("q") + "!"

_frames.instrument(main)
"""


def test_a_plain_helper_resumes_in_a_new_process_and_is_refused_once_its_code_changed(
    tmp_path: Path,
) -> None:
    assert step(tmp_path, PLAIN_HELPER, "run") == {"paused": "q"}
    assert step(tmp_path, PLAIN_HELPER, "resume", "a") == {"paused": "q?"}
    edited = PLAIN_HELPER.replace('first + "+"', 'first + "-"')
    refused = step(tmp_path, edited, "resume", "b")
    assert refused["refused"] == "code changed" and "twice" in refused["message"], refused
    assert "plain helper" in refused["message"]
    removed = PLAIN_HELPER.replace("def twice(", "def two_times(")  # main's code unchanged
    refused = step(tmp_path, removed, "resume", "b")
    assert refused["refused"] == "function not found" and "twice" in refused["message"], refused
    assert step(tmp_path, PLAIN_HELPER, "resume", "b") == {"finished": "a+b!"}


PURE_HELPERS = """
from autograms import _frames

def ask(question):
    return _frames.pause(question)

def make_asker():
    def nested_ask(question):
        return _frames.pause(question)
    return nested_ask

def main():
    first = ask("q1")
    return first + make_asker()("q2") + "!"

_frames.instrument(main)
"""


def test_a_pure_plain_helper_edited_or_removed_between_processes_is_refused_naming_it(
    tmp_path: Path,
) -> None:
    """A helper that only returns its pause's result is not resumed itself, but the resume
    relies on its code: edited, renamed or moved elsewhere, it is refused at load."""
    assert step(tmp_path, PURE_HELPERS, "run") == {"paused": "q1"}
    edited = PURE_HELPERS.replace(
        "return _frames.pause(question)\n\ndef make",
        "return _frames.pause(question).upper()\n\ndef make",
    )
    assert edited != PURE_HELPERS
    refused = step(tmp_path, edited, "resume", "a")
    assert refused["refused"] == "code changed" and "bot.ask" in refused["message"], refused
    removed = PURE_HELPERS.replace("def ask(", "def ask_it(") + "\nask = ask_it\n"  # renamed
    refused = step(tmp_path, removed, "resume", "a")
    assert refused["refused"] == "function not found" and "bot.ask" in refused["message"]
    moved = "\n\nX = 1\n" + PURE_HELPERS  # lines shift only: the same code
    assert step(tmp_path, moved, "resume", "a") == {"paused": "q2"}
    nested_edit = PURE_HELPERS.replace(
        "pause(question)\n    return nested_ask", "pause(question) * 2\n    return nested_ask"
    )
    assert nested_edit != PURE_HELPERS
    refused = step(tmp_path, nested_edit, "resume", "b")
    assert refused["refused"] == "code changed", refused
    assert "make_asker.<locals>.nested_ask" in refused["message"], refused
    assert step(tmp_path, PURE_HELPERS, "resume", "b") == {"finished": "ab!"}

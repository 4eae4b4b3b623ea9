"""`autograms sessions check` on edits of the example bots that keep, move and remove labels:
sessions written by the examples as installed, checked by an edited copy standing in for the
example in a fresh process, give the expected report -- per session the verdict, the frame it
is about (function, line, ADDRESS) and what changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograms.examples import recruiter
from tests.deploys.harness import EXAMPLES, Edit, conversation, new_code, new_code_json

#: example -> session -> messages that bring the example there (seeded scripted model)
SESSIONS = {
    "fibonacci": {"at_intro": [""], "at_number": ["", "go"], "stopped": ["", "go", "stop"]},
    "simple_example": {"asked": [""], "chatting": ["", "yes", "tell me more"]},
    "recruiter": {
        "greeting": [""],
        "in_background": ["", "yes I'm ready"],
        "in_salary": ["", "yes I'm ready", "five years", "teams", "I led a team"],
        "at_outcome": ["", "yes I'm ready", "five years", "teams", "I led a team", "90000"],
    },
}
#: a seed whose test-mode decisions bring each session to the place its name says (a change
#: of how test mode decides may need another: the summaries below show where each one is)
SEED = 0


def _sessions(example: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, messages in SESSIONS[example].items():
        autogram, memory = conversation(example, messages, seed=SEED)
        autogram.save(folder / f"{name}.session", memory)
    return folder


def _line(source: str, snippet: str) -> int:
    """The line of the first occurrence of `snippet` in `source`."""
    return source[: source.index(snippet)].count("\n") + 1


def _check(edit: Edit, folder: Path, *options: str) -> dict[str, dict]:
    """Session -> the frame its verdict is about, with the verdict, from the JSON report."""
    result = new_code(
        edit, folder, "cli", "sessions", "check", edit.example, "--folder", str(folder / "s"),
        *options, "--json",
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    assert result.returncode == (0 if report["ok"] else 1)
    decided = {}
    for item in report["sessions"]:
        refused = [frame for frame in item["frames"] if frame["fit"] == "refused"]
        kept = [frame for frame in item["frames"] if frame["fit"] != "dropped"]
        frame = (refused or kept)[-1]
        decided[item["session"].removesuffix(".session")] = {**item, **frame}
    return decided


def _summary(decided: dict[str, dict]) -> dict[str, tuple]:
    return {
        name: (item["verdict"], item["function"], item["label"], item["reason"])
        for name, item in decided.items()
    }


def test_moved_code_resumes_every_session_here_at_the_lines_it_moved_to(tmp_path: Path) -> None:
    _sessions("fibonacci", tmp_path / "s")
    moved = Edit("fibonacci", (("\nINTRO = (", "\n# three lines\n# further\n# down\nINTRO = ("),))
    source = moved.write(tmp_path / "preview").read_text()
    decided = _check(moved, tmp_path)
    assert _summary(decided) == {
        "at_intro": ("resumes", "chatbot", "intro", None),
        "at_number": ("resumes", "chatbot", "show_number", None),
        "stopped": ("resumes", "chatbot", "stopped", None),
    }
    assert decided["at_number"]["line"] == _line(source, 'answer = reply(f"F({position})')
    result = new_code(
        moved, tmp_path, "cli", "sessions", "check", "fibonacci", "--folder", str(tmp_path / "s")
    )
    assert result.returncode == 0
    line = decided["at_number"]["line"]
    assert f"resumes here: chatbot (fibonacci.py:{line}) at ADDRESS 'show_number'" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("3 sessions: 3 resume here")


def test_an_edit_that_keeps_the_labels_resumes_at_them(tmp_path: Path) -> None:
    _sessions("fibonacci", tmp_path / "s")
    reworded = Edit("fibonacci", (("Stopped at F(", "Halted at F("),))
    assert _summary(_check(reworded, tmp_path)) == {
        "at_intro": ("remapped", "chatbot", "intro", "code changed"),
        "at_number": ("remapped", "chatbot", "show_number", "code changed"),
        "stopped": ("remapped", "chatbot", "stopped", "code changed"),
    }


def test_a_removed_label_refuses_the_sessions_paused_there_naming_line_and_label(
    tmp_path: Path,
) -> None:
    _sessions("fibonacci", tmp_path / "s")
    unlabelled = Edit("fibonacci", (('Ready?", ADDRESS="intro")', 'Ready?")'),))
    decided = _check(unlabelled, tmp_path)
    assert _summary(decided) == {
        "at_intro": ("refused", "chatbot", "intro", "label removed"),
        "at_number": ("remapped", "chatbot", "show_number", "code changed"),
        "stopped": ("remapped", "chatbot", "stopped", "code changed"),
    }
    original = (EXAMPLES / "fibonacci.py").read_text()
    assert decided["at_intro"]["line"] == _line(original, 'ADDRESS="intro"')
    assert "'intro'" in decided["at_intro"]["message"]


def test_a_local_added_before_the_pauses_refuses_them_from_the_header_alone(
    tmp_path: Path,
) -> None:
    _sessions("fibonacci", tmp_path / "s")
    added = Edit(
        "fibonacci",
        (
            ("    position, previous, current = 0, 0, 1\n    shown = 0\n    reply(",
             '    started = "today"\n    position, previous, current = 0, 0, 1\n    shown = 0\n'
             "    reply("),
            ("number(s). ", "number(s) since {started}. "),
        ),
    )  # fmt: skip
    verdict = {
        name: (item["verdict"], item["reason"]) for name, item in _check(added, tmp_path).items()
    }
    # the code after the "stopped" reply assigns what it reads (its GOTO is not an edge the
    # check follows: the read it reaches raises UnboundLocalError, never crashes)
    assert verdict == {
        "at_intro": ("refused", "missing locals"),
        "at_number": ("refused", "missing locals"),
        "stopped": ("remapped", "code changed"),
    }


def test_a_removed_label_in_a_model_driven_example_refuses_only_its_sessions(
    tmp_path: Path,
) -> None:
    _sessions("simple_example", tmp_path / "s")
    unlabelled = Edit("simple_example", (('            ADDRESS="continue_conversation",\n', ""),))
    assert _summary(_check(unlabelled, tmp_path)) == {
        "asked": ("remapped", "chatbot", "ask_question", "code changed"),
        "chatting": ("refused", "chatbot", "continue_conversation", "label removed"),
    }


def test_nested_frames_remap_where_their_own_code_changed(tmp_path: Path) -> None:
    _sessions("recruiter", tmp_path / "s")
    salary_reworded = Edit("recruiter", (("Thanks for being upfront.", "Thank you, that helps."),))
    decided = _check(salary_reworded, tmp_path)
    assert _summary(decided) == {
        "greeting": ("resumes", "chatbot", "greeting", None),
        "in_background": ("resumes", "ask_background", "background", None),
        "in_salary": ("remapped", "discuss_salary", "salary", "code changed"),
        "at_outcome": ("resumes", "chatbot", "outcome", None),
    }
    assert [frame["fit"] for frame in decided["in_salary"]["frames"]] == ["same", "remapped"]


def test_an_edited_caller_refuses_sessions_paused_in_its_unlabelled_calls_until_mapped(
    tmp_path: Path,
) -> None:
    _sessions("recruiter", tmp_path / "s")
    caller_edited = Edit(
        "recruiter",
        (('reply(OUTCOMES[outcome], ADDRESS="outcome")',
          'reply(OUTCOMES.get(outcome, CLOSING), ADDRESS="outcome")'),),
    )  # fmt: skip
    decided = _check(caller_edited, tmp_path)
    assert _summary(decided) == {
        "greeting": ("remapped", "chatbot", "greeting", "code changed"),
        "in_background": ("refused", "chatbot", None, "code changed"),
        "in_salary": ("refused", "chatbot", None, "code changed"),
        "at_outcome": ("remapped", "chatbot", "outcome", "code changed"),
    }
    original = (EXAMPLES / "recruiter.py").read_text()
    assert decided["in_salary"]["line"] == _line(original, "outcome = discuss_salary()")
    # mapped to the outcome reply (resumed after it, in the closing loop): the frames inside
    # are left, which unpickles the session: refused unless unsigned sessions are trusted
    untrusted = _check(caller_edited, tmp_path, "--map=chatbot=outcome")["in_salary"]
    assert untrusted["verdict"] == "refused" and "--trust-unsigned" in untrusted["message"]
    decided = _check(caller_edited, tmp_path, "--map=chatbot=outcome", "--trust-unsigned")
    assert _summary(decided)["in_salary"] == ("mapped", "chatbot", "outcome", None)
    assert [frame["fit"] for frame in decided["in_salary"]["frames"]] == ["relabelled", "dropped"]
    upgrade = new_code(
        caller_edited, tmp_path, "cli", "sessions", "upgrade", "recruiter", "--folder",
        str(tmp_path / "s"), "--map=chatbot=outcome", "--trust-unsigned",
    )  # fmt: skip
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    request = {"folder": str(tmp_path / "s"), "session": "in_salary.session", "message": "bye"}
    after = new_code_json(caller_edited, tmp_path, "turn", request)
    assert after["reply"] == recruiter.CLOSING
    assert after["users"][-2:] == ["I led a team", "bye"]


@pytest.mark.parametrize("example", sorted(SESSIONS))
def test_unchanged_examples_resume_every_session_through_the_python_api(
    example: str, tmp_path: Path
) -> None:
    folder = _sessions(example, tmp_path / "s")
    unchanged = Edit(example, ())
    report = new_code_json(unchanged, tmp_path, "api", {"action": "check", "folder": str(folder)})
    assert report["ok"]
    assert {item["verdict"] for item in report["sessions"]} == {"resumes"}

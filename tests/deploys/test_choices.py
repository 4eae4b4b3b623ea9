"""The three choices for sessions a deploy would refuse -- keep them for the old code, resume
them at a label of the new code, restart them with their history -- through the command and
the Python API, on a folder of session files and on SQLite and PostgreSQL stores.

The new code renames two ADDRESS labels of the fibonacci example: a session paused at either
is refused; one paused at a label that still exists resumes at it; an idle one starts over.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.deploys.harness import (
    FIBONACCI,
    RENAMED,
    Place,
    conversation,
    new_code,
    new_code_json,
    verdicts,
)

SESSIONS = FIBONACCI
INTRO = "I list Fibonacci numbers."


@pytest.fixture(params=["folder", "sqlite", "postgresql"])
def place(request, tmp_path: Path) -> Place:
    if request.param == "folder":
        folder = tmp_path / "sessions"
        folder.mkdir()
        return Place("folder", str(folder))
    url = request.getfixturevalue("store_url_of")(request.param)
    return Place("store", url)


def _check(interface: str, place: Place, folder: Path, action: str, **plan) -> tuple[int, dict]:
    """Run check or upgrade through `interface`: (exit status, JSON report)."""
    if interface == "api":
        report = new_code_json(RENAMED, folder, "api", place.request(action=action, **plan))
        return (0 if report["ok"] else 1), report
    options = [f"--map={old}={new}" for old, new in plan.get("labels", {}).items()]
    options += ["--restart"] if plan.get("restart") else []
    result = new_code(
        RENAMED,
        folder,
        "cli",
        "sessions",
        action,
        "fibonacci",
        *place.options(),
        *options,
        "--json",
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def _turn(place: Place, folder: Path, name: str, message: str) -> dict:
    return new_code_json(RENAMED, folder, "turn", place.request(session=name, message=message))


@pytest.mark.parametrize("interface", ["cli", "api"])
def test_refused_sessions_are_kept_mapped_or_restarted_as_the_deploy_chooses(
    interface: str, place: Place, tmp_path: Path
) -> None:
    for name, messages in SESSIONS.items():
        place.put(name, *conversation("fibonacci", messages))
    before = {name: place.blob(name) for name in SESSIONS}

    # the check names the sessions the new code would refuse, and changes nothing
    status, report = _check(interface, place, tmp_path, "check")
    assert status == 1
    assert verdicts(report) == {
        "at_intro": "remapped",
        "at_number": "refused",
        "stopped": "refused",
        "idle": "idle",
    }
    refused = {item["session"]: item for item in report["sessions"] if item["verdict"] == "refused"}
    assert refused["at_number"]["reason"] == "label removed"
    assert refused["at_number"]["frames"][-1]["paused_label"] == "show_number"
    # with a plan, the check says what the upgrade would do
    plan = {"labels": {"show_number": "number"}, "restart": True}
    status, report = _check(interface, place, tmp_path, "check", **plan)
    assert status == 0
    assert verdicts(report)["at_number"] == "mapped" and verdicts(report)["stopped"] == "restarts"
    assert {name: place.blob(name) for name in SESSIONS} == before

    # keep: an upgrade with a mapping alone leaves the session it does not cover as it was,
    # and the old code still continues it
    status, report = _check(interface, place, tmp_path, "upgrade", labels=plan["labels"])
    assert status == 1
    assert verdicts(report) == {**verdicts(report), "at_number": "mapped", "stopped": "refused"}
    assert place.blob("stopped") == before["stopped"]
    assert place.blob("at_intro") == before["at_intro"] and place.blob("idle") == before["idle"]
    old_code, _ = conversation("fibonacci", [])
    assert old_code.deserialize(
        place.blob("stopped"), log=[]
    ).is_paused  # a file's log is beside it

    # restart: the refused session starts from the top, its conversation kept
    status, report = _check(interface, place, tmp_path, "upgrade", restart=True)
    assert status == 0 and verdicts(report)["stopped"] == "restarts"

    # the new code continues every session, the mapped one at the new label
    assert _turn(place, tmp_path, "at_number", "next")["reply"] == "F(1) = 1."
    restarted = _turn(place, tmp_path, "stopped", "hello again")
    assert restarted["reply"].startswith(INTRO)
    assert restarted["users"] == ["go", "stop", "hello again"]
    assert _turn(place, tmp_path, "at_intro", "go")["reply"] == "F(0) = 0."
    status, report = _check(interface, place, tmp_path, "check")
    assert status == 0 and not {"refused", "mapped", "restarts"} & set(verdicts(report).values())


DATA = Path(__file__).parents[1] / "sessions" / "data"
FOLDERS = sorted(DATA.glob(f"*/py{sys.version_info[0]}.{sys.version_info[1]}"))


@pytest.mark.parametrize("data", FOLDERS, ids=[folder.parent.name for folder in FOLDERS])
def test_sessions_of_every_committed_format_are_mapped_and_continue(
    data: Path, tmp_path: Path
) -> None:
    sessions = tmp_path / "s"
    sessions.mkdir()
    for path in data.glob("fibonacci-*"):
        shutil.copy(path, sessions / path.name)
    entry = next(e for e in json.loads((data / "manifest.json").read_text())["sessions"]
                 if e["example"] == "fibonacci")  # fmt: skip
    folder = Place("folder", str(sessions))
    plan = {"labels": {"show_number": "number"}}
    status, report = _check("cli", folder, tmp_path, "upgrade", **plan)
    assert status == 0 and set(verdicts(report).values()) == {"mapped"}
    status, report = _check("cli", folder, tmp_path, "check")
    # a header before format 3 does not name the saved locals: the upgrade leaves the frame at
    # its new label, remapped (and its values checked) when its next turn reads them
    expected = "remapped" if data.parent.name in ("0.1.0", "0.6.1") else "resumes"
    assert status == 0 and set(verdicts(report).values()) == {expected}
    for saved in ("fibonacci-plain.session", "fibonacci-signed.session"):
        continued = _turn(folder, tmp_path, saved, entry["next"])
        assert continued["reply"] == entry["expected_reply"]
        assert continued["users"] == [*filter(None, entry["messages"]), entry["next"]]

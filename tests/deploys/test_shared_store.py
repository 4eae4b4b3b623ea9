"""The check and the upgrade on a store several bots share (SQLite and PostgreSQL): each bot
sees only its own sessions, counts the others as skipped, and checks the unclaimed ones (rows of
no program yet) without ever rewriting them."""

from __future__ import annotations

import io

import pytest

from autograms import session
from autograms.cli.deploy import summary, to_json, write_report
from autograms.deploys import Verdict, check_sessions, upgrade_sessions
from autograms.stores import open_store
from tests.deploys.harness import FIBONACCI, conversation


def _shared_store(url: str) -> None:
    """Two fibonacci sessions, one recruiter session, an idle session of no program and a
    damaged row of no program."""
    store = open_store(url)
    try:
        for name in ("at_number", "stopped"):
            autogram, memory = conversation("fibonacci", FIBONACCI[name])
            blob = autogram.serialize(memory, include_log=False)
            store.create_session(f"fib-{name}", None, blob, memory.model_turns)
        autogram, memory = conversation("recruiter", [""])
        blob = autogram.serialize(memory, include_log=False)
        store.create_session("rec-1", None, blob, memory.model_turns)
        idle = session.decode(autogram.serialize(autogram.init_memory()), key=None)
        nameless = session.encode(idle.snapshot, key=None, program=None)
        store.create_session("legacy-idle", None, nameless, [])
        store.create_session("legacy-damaged", None, "not a session", [])
    finally:
        store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_url(request, store_url_of) -> str:
    url = store_url_of(request.param)
    _shared_store(url)
    return url


def _rows(url: str) -> dict[str, tuple[int, str | None]]:
    store = open_store(url)
    try:
        return {row.id: (row.version, row.program) for row in store.list_sessions(None, 100)}
    finally:
        store.close()


def test_each_bot_checks_its_own_and_the_unclaimed_sessions_and_skips_the_others(
    shared_url: str,
) -> None:
    store = open_store(shared_url)
    try:
        fibonacci = check_sessions(conversation("fibonacci", [])[0], store=store)
        recruiter = check_sessions(conversation("recruiter", [])[0], store=store)
    finally:
        store.close()
    assert {c.session: (c.verdict, c.unclaimed) for c in fibonacci.sessions} == {
        "fib-at_number": (Verdict.RESUMES, False),
        "fib-stopped": (Verdict.RESUMES, False),
        "legacy-idle": (Verdict.IDLE, True),
        "legacy-damaged": (Verdict.REFUSED, True),
    }
    assert fibonacci.skipped == 1
    assert {c.session: (c.verdict, c.unclaimed) for c in recruiter.sessions} == {
        "rec-1": (Verdict.RESUMES, False),
        "legacy-idle": (Verdict.IDLE, True),
        "legacy-damaged": (Verdict.REFUSED, True),
    }
    assert recruiter.skipped == 2
    assert summary(recruiter).endswith("; 2 of other bots skipped")
    assert to_json(recruiter)["skipped"] == 2
    out = io.StringIO()
    write_report(recruiter, out, action="check", where="store")
    lines = {line.split()[0]: line for line in out.getvalue().splitlines()}
    assert lines["legacy-idle"].endswith("next message [unclaimed: no bot owns it yet]")
    assert "unclaimed" not in lines["rec-1"]


def test_an_upgrade_rewrites_only_its_own_sessions_and_never_an_unclaimed_one(
    shared_url: str,
) -> None:
    before = _rows(shared_url)
    store = open_store(shared_url)
    try:
        report = upgrade_sessions(conversation("recruiter", [])[0], store=store, restart=True)
    finally:
        store.close()
    assert report.skipped == 2
    damaged = [c for c in report.sessions if c.session == "legacy-damaged"]
    assert [(c.verdict, c.unclaimed) for c in damaged] == [(Verdict.REFUSED, True)]
    assert _rows(shared_url) == before  # nothing to restart of its own; the others untouched
    assert before["legacy-idle"] == (0, None) and before["legacy-damaged"] == (0, None)

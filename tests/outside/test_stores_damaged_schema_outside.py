"""Outside tests (session 4): a SQLite store whose autograms tables were edited by hand, then
`python -m autograms.stores migrate` and a turn. README: the tables "carry a schema version
(now 2). They are created or upgraded on first use, or explicitly with migrate"; a store error
that is not an outage must not be `StoreUnavailableError` ("the database is down: retry", 503).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from autograms import Autogram
from autograms.stores import (
    SCHEMA_VERSION,
    Sessions,
    StoreError,
    StoreSchemaError,
    StoreUnavailableError,
    TurnRunner,
    open_store,
)
from tests.outside import s4_store_bot

ROOT = Path(__file__).resolve().parents[2]


def _store_with_a_turn(tmp_path: Path) -> tuple[Path, Autogram]:
    path = tmp_path / "s.db"
    autogram = Autogram(root_function=s4_store_bot.chatbot, test_mode=True)
    store = open_store(f"sqlite:///{path}")
    Sessions(autogram, store).create("chat", owner="team")
    TurnRunner(autogram, store).run_turn("chat", "m0", idempotency_key="k0", owner="team")
    return path, autogram


def _damage(path: Path, sql: str) -> None:
    db = sqlite3.connect(path)
    try:
        db.execute(sql)
        db.commit()
    finally:
        db.close()


def _migrate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autograms.stores", "migrate", f"sqlite:///{path}"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def _next_turn(path: Path, autogram: Autogram):
    store = open_store(f"sqlite:///{path}")
    return TurnRunner(autogram, store).run_turn("chat", "m1", idempotency_key="k1", owner="team")


def test_newer_schema_version_is_refused_by_migrate_and_open(tmp_path):
    path, autogram = _store_with_a_turn(tmp_path)
    _damage(path, f"UPDATE autograms_schema SET version = {SCHEMA_VERSION + 1}")
    out = _migrate(path)
    assert out.returncode == 1 and "newer release" in out.stderr
    with pytest.raises(StoreSchemaError):
        _next_turn(path, autogram)


def test_non_numeric_schema_version_is_a_store_schema_error(tmp_path):
    path, autogram = _store_with_a_turn(tmp_path)
    _damage(path, "UPDATE autograms_schema SET version = 'two'")
    out = _migrate(path)
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "autograms_schema" in out.stderr
    with pytest.raises(StoreSchemaError):
        _next_turn(path, autogram)


def test_migrate_never_reports_success_on_a_store_the_next_open_refuses(tmp_path):
    path, autogram = _store_with_a_turn(tmp_path)
    _damage(path, "DROP TABLE autograms_log")
    out = _migrate(path)
    if out.returncode == 0:  # migrate said the store is fine: it must then open
        _next_turn(path, autogram)
    else:
        assert "autograms_log" in out.stderr


def test_a_missing_column_is_not_reported_as_the_database_being_down(tmp_path):
    path, autogram = _store_with_a_turn(tmp_path)
    _damage(path, "ALTER TABLE autograms_sessions DROP COLUMN seal")
    _migrate(path)
    with pytest.raises(StoreError) as info:
        _next_turn(path, autogram)
    assert not isinstance(info.value, StoreUnavailableError), info.value

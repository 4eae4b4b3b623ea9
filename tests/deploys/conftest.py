"""Fixtures of the deploy tests: a fresh store of either backend (PostgreSQL: the store tests'
throwaway cluster, skipped when PostgreSQL is not installed)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.stores.conftest import postgres_cluster  # noqa: F401 - a fixture used here


@pytest.fixture
def store_url_of(request, tmp_path: Path) -> Callable[[str], str]:
    """Makes the URL of an empty store of a backend ("sqlite" or "postgresql")."""

    def make(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'sessions-{uuid.uuid4().hex[:8]}.db'}"
        cluster = request.getfixturevalue("postgres_cluster")
        schema = f"t_{uuid.uuid4().hex[:12]}"
        cluster.create_schema(schema)
        return cluster.url_for_schema(schema)

    return make

"""Fixtures of the store tests: a throwaway PostgreSQL cluster per test session (skipped
when PostgreSQL is not installed), and `store_url`, one fresh store per test on each backend."""

from __future__ import annotations

import os
import uuid

import pytest

from autograms import Autogram, AutogramConfig
from tests.stores import bots
from tests.stores.cluster import PostgresCluster, find_bindir

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_cluster():
    bindir = find_bindir()
    if bindir is None:
        message = "PostgreSQL 15 is not installed (tools/system_deps.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it: a skip there would hide a broken setup
        pytest.skip(message)
    cluster = PostgresCluster(bindir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def store_url(backend, request, tmp_path) -> str:
    """A URL of an empty store (its own SQLite file, or its own PostgreSQL schema)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'sessions.db'}"
    cluster = request.getfixturevalue("postgres_cluster")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    cluster.create_schema(schema)
    return cluster.url_for_schema(schema)


def make_autogram(root=bots.chain, **config) -> Autogram:
    return Autogram(root_function=root, autogram_config=AutogramConfig(**config), test_mode=True)

"""What the store benchmark runs on: LangGraph's venv (pinned in requirements.txt, built once
under ~/.cache/autograms/bench with the comparison's base Python) and a throwaway PostgreSQL
cluster (tests/stores/cluster.py)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks.compare.environments import default_base_python, default_bench_home
from tests.stores.cluster import PostgresCluster, find_bindir

REQUIREMENTS = Path(__file__).resolve().parent / "requirements.txt"
PINNED = ("langgraph", "langgraph-checkpoint", "langgraph-checkpoint-sqlite",
          "langgraph-checkpoint-postgres", "psycopg", "psycopg-pool")  # fmt: skip


def _stamp(base: Path) -> str:
    return hashlib.sha256((REQUIREMENTS.read_text() + str(base)).encode()).hexdigest()[:16]


def langgraph_python(install: bool) -> Path | str:
    """The LangGraph venv's interpreter, installed first when allowed; else why not."""
    base = default_base_python()
    venv = default_bench_home() / "langgraph-stores"
    stamp = venv / ".bench-stamp"
    if stamp.exists() and stamp.read_text().strip() == _stamp(base):
        return venv / "bin" / "python"
    if not install:
        return f"not installed in {venv}"
    if not base.exists():
        return f"missing interpreter {base}"
    sys.stderr.write("installing LangGraph's venv with pip (about a minute)...\n")
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([str(base), "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--disable-pip-version-check", "-r", str(REQUIREMENTS)], check=True)
    stamp.write_text(_stamp(base) + "\n")
    return venv / "bin" / "python"


def langgraph_versions(python: Path) -> dict[str, str]:
    """The versions of the packages that matter, as LangGraph's venv reports them."""
    code = (
        "import json, importlib.metadata as m; "
        f"print(json.dumps({{n: m.version(n) for n in {list(PINNED)!r}}}))"
    )
    found = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return __import__("json").loads(found.stdout)


def start_cluster(*settings: str) -> PostgresCluster:
    """A throwaway cluster, started with `settings` (``name=value``, as ``-c``)."""
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL 15 is not installed: run tools/system_deps.sh")
    cluster = PostgresCluster(bindir)
    cluster.start(*settings)
    return cluster


def postgres_version() -> str:
    bindir = find_bindir()
    if bindir is None:
        return "not installed"
    found = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True)
    return found.stdout.strip()

"""Run the store benchmark matrix and write benchmarks/results/stores.{md,json}.

For each store (SQLite file, PostgreSQL cluster started for the run) and each process count,
three systems run the recruiter conversation, each on a fresh database: this project's turn
runner, LangGraph's checkpointer (SqliteSaver / PostgresSaver, in its own venv under
~/.cache/autograms/bench), and the raw write of the same session blob. A fourth run pairs
them: each turn through the turn runner, then the raw write of the blob it committed, so that
the store's part of a turn and the raw write are compared at the same moments; a fifth pairs
them the same way with an optimistic turn runner (``TurnRunner(optimistic=True)``: a session's
turns after its first run without a claim, as they may when a session's messages go to one
worker, as every session of this benchmark does).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.stores import environment, report

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
RESULTS = REPO_ROOT / "benchmarks" / "results"
SYSTEMS = ("autograms", "langgraph", "raw", "paired", "paired-optimistic")
#: the worker's name for each system
WORKER_SYSTEMS = {
    "autograms": "store",
    "langgraph": "langgraph",
    "raw": "raw",
    "paired": "paired",
    "paired-optimistic": "paired-optimistic",
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stores", description=__doc__)
    parser.add_argument("--turns", type=int, default=400, help="measured turns per process")
    parser.add_argument("--sessions", type=int, default=5, help="sessions per process")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured turns per process")
    parser.add_argument("--processes", default="1,2,4", help="process counts, comma-separated")
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument(
        "--start-delay", type=float, default=None,
        help="seconds for the workers to import and warm up (default: 3 + one per process)",
    )  # fmt: skip
    parser.add_argument("--no-install", action="store_true", help="never pip-install LangGraph")
    parser.add_argument("--out", type=Path, default=RESULTS / "stores")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    options = parse(argv)
    langgraph = environment.langgraph_python(install=not options.no_install)
    work = Path(tempfile.mkdtemp(prefix="autograms-bench-stores-"))
    cluster = None
    rows = []
    try:
        for store in options.stores.split(","):
            if store == "postgresql" and cluster is None:
                cluster = environment.start_cluster()
            for processes in map(int, options.processes.split(",")):
                for system in SYSTEMS:
                    if system == "langgraph" and isinstance(langgraph, str):
                        rows.append(_skipped(store, processes, system, langgraph))
                        continue
                    url = _fresh_url(store, work, cluster)
                    python = langgraph if system == "langgraph" else Path(sys.executable)
                    rows.append(_measure(options, store, processes, system, url, python))
                    rows[-1]["load"] = os.getloadavg()[0]
                    sys.stderr.write(f"{report.describe(rows[-1])}\n")
    finally:
        if cluster is not None:
            cluster.remove()
        shutil.rmtree(work, ignore_errors=True)
    facts = _facts(langgraph)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{options.out}.json").write_text(json.dumps({"facts": facts, "rows": rows}, indent=1))
    Path(f"{options.out}.md").write_text(report.markdown(facts, rows, vars(options)))
    sys.stderr.write(f"wrote {options.out}.md and .json\n")


def _fresh_url(store: str, work: Path, cluster) -> str:
    name = f"b_{uuid.uuid4().hex[:10]}"
    if store == "sqlite":
        return f"sqlite:///{work / name}.db"
    cluster.create_schema(name)
    return cluster.url_for_schema(name)


def _measure(options, store, processes, system, url, python: Path) -> dict:
    delay = options.start_delay if options.start_delay is not None else 3.0 + processes
    start_at = time.time() + delay  # every worker ready (imports, warm-up) by then
    commands = []
    for index in range(processes):
        plan = {
            "url": url,
            "system": WORKER_SYSTEMS[system],
            "index": index,
            "turns": options.turns,
            "sessions": options.sessions,
            "warmup": options.warmup,
            "start_at": start_at,
        }
        if system == "langgraph":
            command = [str(python), str(HERE / "worker_langgraph.py"), json.dumps(plan)]
        else:
            command = [str(python), "-m", "benchmarks.stores.worker_ours", json.dumps(plan)]
        commands.append(command)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    # the tables, once, before the workers start
    setup = json.dumps({"url": url, "system": plan["system"], "setup": True})
    subprocess.run([*commands[0][:-1], setup], cwd=REPO_ROOT, env=env, check=True)
    running = [
        subprocess.Popen(c, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for c in commands
    ]
    results = []
    for process in running:
        output, _ = process.communicate(timeout=900)
        if process.returncode != 0:
            raise RuntimeError(f"{system} worker failed on {store} (exit {process.returncode})")
        results.append(json.loads(output.strip().splitlines()[-1]))
    return report.summarize(store, processes, system, results)


def _skipped(store: str, processes: int, system: str, reason: str) -> dict:
    return {"store": store, "processes": processes, "system": system, "skipped": reason}


def _facts(langgraph) -> dict:
    facts = {
        "python": platform.python_version(),
        "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, {platform.system()}",
        "sqlite": __import__("sqlite3").sqlite_version,
        "postgresql": environment.postgres_version(),
        "date": time.strftime("%Y-%m-%d"),
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }
    facts["langgraph"] = (
        langgraph if isinstance(langgraph, str) else environment.langgraph_versions(langgraph)
    )
    return facts

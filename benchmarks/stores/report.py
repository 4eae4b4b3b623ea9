"""Figures of one benchmark cell and the markdown table of a run."""

from __future__ import annotations

import statistics

LABELS = {"autograms": "autograms TurnRunner", "langgraph": "LangGraph", "raw": "raw write"}
SAVERS = {"sqlite": "SqliteSaver", "postgresql": "PostgresSaver"}


def summarize(store: str, processes: int, system: str, results: list[dict]) -> dict:
    """One cell: all processes' turns together over the time they overlapped."""
    latencies = sorted(x for r in results for x in r["latencies"])
    seconds = max(r["end"] for r in results) - min(r["start"] for r in results)
    return {
        "store": store,
        "processes": processes,
        "system": system,
        "turns": len(latencies),
        "turns_per_s": len(latencies) / seconds,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "errors": sum(r["errors"] for r in results),
    }


def describe(row: dict) -> str:
    if "skipped" in row:
        return f"{row['store']} x{row['processes']} {row['system']}: skipped ({row['skipped']})"
    return (
        f"{row['store']} x{row['processes']} {row['system']}: {row['turns_per_s']:.0f} turns/s, "
        f"p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms, {row['errors']} errors"
    )


def markdown(facts: dict, rows: list[dict], options: dict) -> str:
    lines = [
        "# Session stores: turns through the store",
        "",
        "The recruiter bot of the comparison harness (test mode, scripted decisions) through",
        "`autograms.stores.TurnRunner` (claim, run with no lock held, version-checked commit of",
        "the blob + turn row + log rows), beside LangGraph's checkpointer doing the same",
        "conversation (`graph.invoke(Command(resume=text))`), and the raw write of the same",
        "session blob (one `UPDATE` in its own durable transaction: the floor). Each process",
        f"drives {options['sessions']} sessions of its own, round-robin, {options['turns']}"
        f" measured turns after {options['warmup']} warm-up turns; all processes share one"
        " database.",
        "Turns/s = all turns / the span from the first start to the last end. Reported, not",
        "asserted. Command: `python -m benchmarks.stores` (`make bench-stores`).",
        "",
        f"- Machine: {facts['machine']}; CPython {facts['python']}; SQLite {facts['sqlite']}"
        " (WAL, synchronous=FULL for both autograms and the raw write; LangGraph's own settings);"
        f" {facts['postgresql']} (fsync on, synchronous_commit on), loopback TCP.",
        f"- LangGraph: {_versions(facts['langgraph'])}.",
        f"- Date: {facts['date']}; load average when the run ended: {facts['load']}"
        " (other work on the machine inflates every figure, all systems alike).",
        "",
        "Reading it: every turn of every system waits for one flush to disk (its durable",
        "commit), which dominates on this machine's virtual disk. autograms writes twice per",
        "turn: the claim (its queue ticket, not flushed) and the commit (flushed); on SQLite both",
        "need the database's single write lock, so with several processes a claim can wait",
        "behind another process's commit. PostgreSQL flushes concurrent commits together",
        "(group commit), which the raw write, doing nothing else, turns into throughput; the",
        "turn paths also run a program (autograms) or a graph (LangGraph) on the same two CPUs.",
        "",
    ]
    for store in ("sqlite", "postgresql"):
        cells = [row for row in rows if row["store"] == store]
        if cells:
            lines += _table(store, cells)
    return "\n".join(lines) + "\n"


def _versions(langgraph) -> str:
    if isinstance(langgraph, str):
        return langgraph
    return ", ".join(f"{name} {version}" for name, version in langgraph.items())


def _table(store: str, cells: list[dict]) -> list[str]:
    title = "SQLite" if store == "sqlite" else "PostgreSQL"
    lines = [
        f"## {title}",
        "",
        "| processes | system | turns/s | p50 ms | p99 ms | errors |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    by_key = {(row["processes"], row["system"]): row for row in cells}
    for processes in sorted({row["processes"] for row in cells}):
        for system in LABELS:
            row = by_key.get((processes, system))
            if row is None:
                continue
            label = LABELS[system] + (f" ({SAVERS[store]})" if system == "langgraph" else "")
            if "skipped" in row:
                lines.append(f"| {processes} | {label} | skipped: {row['skipped']} | | | |")
                continue
            lines.append(
                f"| {processes} | {label} | {row['turns_per_s']:,.0f} | {row['p50_ms']:.2f} | "
                f"{row['p99_ms']:.2f} | {row['errors']} |"
            )
    lines += ["", *_ratios(by_key), ""]
    return lines


def _ratios(by_key: dict) -> list[str]:
    """Per process count: autograms vs LangGraph (turns/s) and vs the raw write (p50)."""
    out = []
    for processes in sorted({p for p, _ in by_key}):
        ours, peer, raw = (by_key.get((processes, s)) for s in ("autograms", "langgraph", "raw"))
        if not ours or "skipped" in ours:
            continue
        parts = []
        if peer and "skipped" not in peer:
            parts.append(f"{ours['turns_per_s'] / peer['turns_per_s']:.1f}x LangGraph's turns/s")
        if raw and "skipped" not in raw:
            parts.append(f"p50 {ours['p50_ms'] / raw['p50_ms']:.1f}x the raw write's")
        out.append(f"- {processes} process(es): autograms " + ", ".join(parts) + ".")
    return out

"""Figures of one benchmark cell and the markdown tables of a run."""

from __future__ import annotations

import statistics

LABELS = {"autograms": "autograms TurnRunner", "langgraph": "LangGraph", "raw": "raw write"}
SAVERS = {"sqlite": "SqliteSaver", "postgresql": "PostgresSaver"}
#: the parts of a turn the store workers time, as the paired table shows them
SPANS = ("program", "claim", "commit", "store", "raw")
#: the paired systems: the turn runner as it is by default, and optimistic (no claim)
PAIRED = {"paired": "claim, commit", "paired-optimistic": "optimistic"}
#: what the raw write (the floor of the paired ratio) does, as `worker_ours.raw_writer` does it
RAW_BASELINE = (
    "The raw write, the floor the store path is compared with (`worker_ours.raw_writer`):",
    "the blob the store's commit of that turn wrote (the same text, so the same size and the",
    "same TOAST or overflow pages), written over the previous one in a table of its own",
    "(`raw_sessions`: id primary key, version, blob; no other index) of the same database,",
    "by `UPDATE raw_sessions SET blob = ?, version = version + 1 WHERE id = ?` (the version",
    "changes as a store's does, so that SQLite does not skip an unchanged row), one durable",
    "transaction per turn with the store's commit's durability: on SQLite a connection of",
    "its own in WAL mode with `synchronous = FULL`, `BEGIN IMMEDIATE`, the UPDATE, `COMMIT`",
    "(what a writer among several processes must do); on PostgreSQL one statement in",
    "autocommit on a connection of its own (`synchronous_commit = on`, prepared after five",
    "runs as the store's are): one round trip. It reads nothing: no claim, no queue, no turn",
    "row, no version check. In the paired run it runs right after the turn's commit, so it",
    "finds the pages and the connection warm: that order favours the floor.",
)


def summarize(store: str, processes: int, system: str, results: list[dict]) -> dict:
    """One cell: all processes' turns together over the time they overlapped, and the p50 of
    each part of a turn the workers timed."""
    latencies = sorted(x for r in results for x in r["latencies"])
    seconds = max(r["end"] for r in results) - min(r["start"] for r in results)
    names = {name for r in results for name in r.get("spans", {})}
    spans = {
        name: statistics.median(x for r in results for x in r["spans"].get(name, []))
        for name in sorted(names)
    }
    paired = [
        store_ms / raw_ms
        for r in results
        if "raw" in r["spans"]
        for store_ms, raw_ms in zip(r["spans"]["store"], r["spans"]["raw"], strict=True)
        if raw_ms > 0
    ]
    row = {
        "store": store,
        "processes": processes,
        "system": system,
        "turns": len(latencies),
        "turns_per_s": len(latencies) / seconds,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "errors": sum(r["errors"] for r in results),
        "spans_p50_ms": spans,
    }
    if paired:
        row["store_over_raw_p50"] = statistics.median(paired)
    return row


def describe(row: dict) -> str:
    if "skipped" in row:
        return f"{row['store']} x{row['processes']} {row['system']}: skipped ({row['skipped']})"
    spans = ", ".join(f"{k} {v:.2f}" for k, v in row.get("spans_p50_ms", {}).items())
    return (
        f"{row['store']} x{row['processes']} {row['system']}: {row['turns_per_s']:.0f} turns/s, "
        f"p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms, {row['errors']} errors"
        + (f" (p50 ms: {spans})" if spans else "")
    )


def markdown(facts: dict, rows: list[dict], options: dict) -> str:
    lines = [
        "# Session stores: turns through the store",
        "",
        "The recruiter bot of the comparison harness (test mode, scripted decisions) through",
        "`autograms.stores.TurnRunner` (claim, run with no lock held, version-checked commit of",
        "the blob + turn row + log rows), beside LangGraph's checkpointer doing the same",
        "conversation (`graph.invoke(Command(resume=text))`), and the raw write of the same",
        "session blob (one `UPDATE` in its own durable transaction, with the durability",
        "settings of the store's commit: the floor; on PostgreSQL one autocommit statement,",
        "one round trip, where the previous runs' raw write took three). Each process",
        f"drives {options['sessions']} sessions of its own, round-robin, {options['turns']}"
        f" measured turns after {options['warmup']} warm-up turns; all processes share one"
        " database.",
        "Turns/s = all turns / the span from the first start to the last end. Reported, not",
        "asserted. Command: `python -m benchmarks.stores --no-install --turns"
        f" {options['turns']}` (`make bench-stores` runs 400 turns).",
        "",
        f"- Machine: {facts['machine']}; CPython {facts['python']}; SQLite {facts['sqlite']}"
        " (WAL, synchronous=FULL for both autograms and the raw write; LangGraph's own settings);"
        f" {facts['postgresql']} (fsync on, synchronous_commit on), loopback TCP.",
        f"- LangGraph: {_versions(facts['langgraph'])}.",
        f"- Date: {facts['date']}; load average when the run ended: {facts['load']}; the"
        " `load` column is the 1-minute load average when each cell ended (other work on the"
        " machine inflates every figure, all systems alike).",
        "",
        "Reading it: every turn of every system waits for one flush to disk (its durable",
        "commit). On this virtual disk a flush costs from ~0.1 ms to ~5 ms depending on the",
        "moment (other work on the host), so the rows of one table, measured one after the",
        "other, are not comparable to within that factor: the *paired* table below measures",
        "the store's part of each turn and the raw write of the blob that turn committed",
        "back to back, at the same moments.",
        "",
        *RAW_BASELINE,
        "",
    ]
    for store in ("sqlite", "postgresql"):
        cells = [row for row in rows if row["store"] == store]
        if cells:
            lines += _table(store, cells)
            lines += _paired_table(cells)
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
        "| processes | system | turns/s | p50 ms | p99 ms | errors | load |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    by_key = {(row["processes"], row["system"]): row for row in cells}
    for processes in sorted({row["processes"] for row in cells}):
        for system in LABELS:
            row = by_key.get((processes, system))
            if row is None:
                continue
            label = LABELS[system] + (f" ({SAVERS[store]})" if system == "langgraph" else "")
            if "skipped" in row:
                lines.append(f"| {processes} | {label} | skipped: {row['skipped']} | | | | |")
                continue
            lines.append(
                f"| {processes} | {label} | {row['turns_per_s']:,.0f} | {row['p50_ms']:.2f} | "
                f"{row['p99_ms']:.2f} | {row['errors']} | {row.get('load', 0):.1f} |"
            )
    lines += ["", *_ratios(by_key), ""]
    return lines


def _ratios(by_key: dict) -> list[str]:
    """Per process count: autograms vs LangGraph (turns/s)."""
    out = []
    for processes in sorted({p for p, _ in by_key}):
        ours, peer = (by_key.get((processes, s)) for s in ("autograms", "langgraph"))
        if ours and peer and "skipped" not in ours and "skipped" not in peer:
            ratio = ours["turns_per_s"] / peer["turns_per_s"]
            out.append(f"- {processes} process(es): autograms {ratio:.1f}x LangGraph's turns/s.")
    return out


def _paired_table(cells: list[dict]) -> list[str]:
    """The store's part of a turn beside the raw write of the same blob, same moments."""
    paired = sorted(
        (row for row in cells if row["system"] in PAIRED and "skipped" not in row),
        key=lambda row: (row["processes"], row["system"]),
    )
    if not paired:
        return []
    lines = [
        "The store path apart from the program (paired run: each turn through the turn runner,",
        "then the raw write of the blob it committed; p50 of each part, ms; *store* = claim +",
        "log read + commit + leaving the queue; *ratio* = p50 over turns of store / raw;",
        "turns/s counts the raw writes' time too; *optimistic*: `TurnRunner(optimistic=True)`,",
        "a session's later turns committed without a claim, as each process here serves",
        "sessions of its own):",
        "",
        "| processes | runner | program | claim | commit | store | raw write | ratio | turns/s"
        " | load |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in paired:
        spans = row["spans_p50_ms"]
        figures = " | ".join(f"{spans.get(name, 0.0):.2f}" for name in SPANS)
        lines.append(
            f"| {row['processes']} | {PAIRED[row['system']]} | {figures} | "
            f"{row.get('store_over_raw_p50', 0.0):.2f}x | "
            f"{row['turns_per_s']:,.0f} | {row.get('load', 0):.1f} |"
        )
    return [*lines, ""]

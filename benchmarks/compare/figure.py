"""Draw compare.png from compare.json. Run inside the plotting venv (matplotlib):
`python figure.py compare.json compare.png`. Standalone: it imports nothing from the harness.
"""

from __future__ import annotations

import json
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first

COLORS = {
    "ours": "#2a9d8f",
    "autograms": "#e76f51",
    "langgraph": "#264653",
    "langgraph-sqlite": "#8ab17d",
}
ROLLING = 25


def rolling_median(values: list[float], width: int) -> list[float]:
    """Median of each window of `width` values ending at every point."""
    return [statistics.median(values[max(0, i - width + 1) : i + 1]) for i in range(len(values))]


def latency_bars(axis, results: dict) -> None:
    """Median turn latency of every sequential and cold scenario, one bar per contender."""
    scenarios = [s for s in results["scenarios"] if s["mode"] in ("sequential", "cold")]
    keys = [key for key in COLORS if any(key in s["summaries"] for s in scenarios)]
    width = 0.8 / max(len(keys), 1)
    for offset, key in enumerate(keys):
        xs, ys = [], []
        for index, scenario in enumerate(scenarios):
            value = scenario["summaries"].get(key, {}).get("turn_median_ms")
            if value:
                xs.append(index + offset * width)
                ys.append(value)
        axis.bar(xs, ys, width, label=results["labels"][key], color=COLORS[key])
    axis.set_xticks([i + 0.4 - width / 2 for i in range(len(scenarios))])
    axis.set_xticklabels([s["key"] + (" cold" if s["mode"] == "cold" else "") for s in scenarios])
    axis.set_yscale("log")
    axis.set_ylabel("median turn (ms, log)")
    axis.set_title("Turn latency by scenario")
    axis.legend(fontsize=7)


def growth_lines(axis, results: dict, series: str, ylabel: str, title: str) -> None:
    """One line per contender of scenario 4's per-turn `series`."""
    scenario = next((s for s in results["scenarios"] if s["key"] == "4"), None)
    for key, figures in (scenario or {}).get("summaries", {}).items():
        values = figures.get("series", {}).get(series)
        if not values:
            continue
        if series == "turn_ms":
            values = rolling_median(values, ROLLING)
        axis.plot(
            range(1, len(values) + 1), values, label=results["labels"][key], color=COLORS[key]
        )
    axis.set_xlabel("turn")
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    if series == "turn_ms":
        axis.set_yscale("log")
    axis.legend(fontsize=7)


def throughput_bars(axis, results: dict) -> None:
    """Scenario 6 throughput, one bar per contender."""
    scenario = next((s for s in results["scenarios"] if s["key"] == "6"), None)
    summaries = (scenario or {}).get("summaries", {})
    keys = [key for key in COLORS if summaries.get(key, {}).get("turns_per_s")]
    axis.bar(
        range(len(keys)),
        [summaries[key]["turns_per_s"] for key in keys],
        color=[COLORS[key] for key in keys],
    )
    axis.set_xticks(range(len(keys)))
    axis.set_xticklabels([results["labels"][key] for key in keys], fontsize=7)
    axis.set_ylabel("turns per second")
    axis.set_title("Scenario 6: concurrent sessions, 8 threads")


def main(source: str, target: str) -> None:
    """Read the results and write the 2×2 figure."""
    with open(source) as handle:
        results = json.load(handle)
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    latency_bars(axes[0][0], results)
    growth_lines(
        axes[0][1],
        results,
        "turn_ms",
        "turn (ms, rolling median, log)",
        "Scenario 4: turn cost as the session grows",
    )
    growth_lines(
        axes[1][0],
        results,
        "size",
        "session size (bytes)",
        "Scenario 4: session size as the session grows",
    )
    throughput_bars(axes[1][1], results)
    ours = results["environments"]["ours"]
    missing = "" if ours["reason"] is None else "   (ours: unavailable)"
    fig.suptitle(results["meta"]["title"] + missing)
    fig.tight_layout()
    fig.savefig(target, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

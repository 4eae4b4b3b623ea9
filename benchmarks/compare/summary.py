"""Reduce the runs of every (scenario, contender) to the report's figures.

Per-turn samples are pooled over rounds before the median and p90 are taken; one-off figures
(import time, throughput, sizes at a given turn) are the median over rounds. Times are in ms.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable

from .execute import Run
from .scenarios import Scenario

Figures = dict[str, object]

#: Turns at which the session size is reported.
SIZE_TURNS = (1, 100, 1000)
#: Turns compared at the start and the end of a run for the flatness figures (at most).
WINDOW = 100
#: The first turn of the early window of the flatness figures (issue 11: flat from turn 10).
FROM_TURN = 10


def median(values: Iterable[float]) -> float | None:
    """Median, or None for no values."""
    values = list(values)
    return statistics.median(values) if values else None


def p90(values: Iterable[float]) -> float | None:
    """90th percentile (inclusive method), or None for no values."""
    values = list(values)
    if len(values) < 2:
        return values[0] if values else None
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def p99(values: Iterable[float]) -> float | None:
    """99th percentile (inclusive method), or None for no values."""
    values = list(values)
    if len(values) < 2:
        return values[0] if values else None
    return statistics.quantiles(values, n=100, method="inclusive")[-1]


def ms(values: Iterable[float]) -> list[float]:
    """Seconds to milliseconds."""
    return [value * 1000.0 for value in values]


def pooled(datas: list[dict], key: str) -> list[float]:
    """All samples of `key` over every round, in ms."""
    return ms(value for data in datas for value in data[key])


def per_index_median(series: list[list[float]]) -> list[float]:
    """Element-wise median of equally long lists (one per round)."""
    return [statistics.median(column) for column in zip(*series, strict=False)]


def digest_of(datas: list[dict]) -> str:
    """The transcript hash of the runs ("mixed" if rounds disagree)."""
    digests = {data.get("digest", "") for data in datas}
    return digests.pop() if len(digests) == 1 else "mixed"


def sequential_figures(datas: list[dict]) -> Figures:
    """Figures of sequential runs (scenarios 1-4)."""
    turns = pooled(datas, "turn_s")
    figures: Figures = {
        "turn_median_ms": median(turns),
        "turn_p90_ms": p90(turns),
        "turn_p99_ms": p99(turns),
        "serialize_median_ms": median(pooled(datas, "serialize_s")),
        "deserialize_median_ms": median(pooled(datas, "deserialize_s")),
        "import_ms": median(data["import_s"] * 1000 for data in datas),
        "setup_ms": median(data["setup_s"] * 1000 for data in datas),
        "start_ms": median(data["start_s"] * 1000 for data in datas),
        "digest": digest_of(datas),
        "extra": datas[-1]["extra"],
        "series": {
            "turn_ms": per_index_median([ms(data["turn_s"]) for data in datas]),
            "size": per_index_median([data["size"] for data in datas]),
        },
    }
    for turn in SIZE_TURNS:
        figures[f"size_{turn}"] = median(
            data["size"][turn - 1] for data in datas if len(data["size"]) >= turn
        )
    turns_run = len(datas[0]["turn_s"])
    window = min(WINDOW, turns_run // 2)
    figures["turns_run"] = turns_run
    figures["size_last"] = median(data["size"][-1] for data in datas if data["size"])
    if window:
        figures["window"] = window
        figures["first_window_ms"] = median(ms(v for d in datas for v in d["turn_s"][:window]))
        figures["last_window_ms"] = median(ms(v for d in datas for v in d["turn_s"][-window:]))
    if turns_run >= FROM_TURN + 2 * WINDOW:
        early = slice(FROM_TURN - 1, FROM_TURN - 1 + WINDOW)
        figures["from_turn_ms"] = median(ms(v for d in datas for v in d["turn_s"][early]))
    if turns_run >= 3 * WINDOW:
        second = slice(WINDOW, 2 * WINDOW)
        figures["second_window_ms"] = median(ms(v for d in datas for v in d["turn_s"][second]))
    return figures


def cold_figures(datas: list[dict]) -> Figures:
    """Figures of cold runs (scenario 5): wall time per fresh process."""
    samples = [sample for data in datas for sample in data["samples"]]
    walls = pooled(datas, "wall_s")
    return {
        "turn_median_ms": median(walls),
        "turn_p90_ms": p90(walls),
        "inner_turn_ms": median(ms(sample["total_s"] for sample in samples)),
        "serialize_median_ms": median(ms(sample["serialize_s"] for sample in samples)),
        "deserialize_median_ms": median(ms(sample["deserialize_s"] for sample in samples)),
        "import_ms": median(ms(v for data in datas for v in data["import_s"])),
        "setup_ms": median(ms(v for data in datas for v in data["setup_s"])),
        "start_ms": median(data["start_wall_s"] * 1000 for data in datas),
        "size_1": median(data["samples"][0]["size"] for data in datas if data["samples"]),
        "digest": digest_of(datas),
        "extra": datas[-1]["extra"],
    }


def concurrent_figures(datas: list[dict]) -> Figures:
    """Figures of concurrent runs (scenario 6)."""
    turns = pooled(datas, "turn_s")
    errors = [data["first_error"] for data in datas if data["first_error"]]
    return {
        "turns_per_s": median(data["turns_per_s"] for data in datas),
        "turn_median_ms": median(turns),
        "turn_p90_ms": p90(turns),
        "turn_p99_ms": p99(turns),
        "rss_per_session_kb": rss_per_session(datas),
        "start_all_s": median(data["start_elapsed_s"] for data in datas),
        "errors": sum(data["errors"] for data in datas),
        "first_error": errors[0] if errors else None,
        "import_ms": median(data["import_s"] * 1000 for data in datas),
        "setup_ms": median(data["setup_s"] * 1000 for data in datas),
        "sessions": datas[0]["sessions"],
        "total_turns": datas[0]["turns"],
    }


def rss_per_session(datas: list[dict]) -> float | None:
    """The growth of the runner's RSS from before the sessions started to after the last
    turn, per live session, in KiB (median over rounds; None where RSS is unknown)."""
    growths = [
        (data["rss_after"] - data["rss_before"]) / data["sessions"] / 1024
        for data in datas
        if data.get("rss_before") is not None and data.get("rss_after") is not None
    ]
    return median(growths)


FIGURES_BY_MODE = {
    "sequential": sequential_figures,
    "cold": cold_figures,
    "concurrent": concurrent_figures,
}


def summarize(scenario: Scenario, runs: list[Run]) -> dict[str, Figures]:
    """Figures per contender of `scenario`; a contender whose every run failed gets its error."""
    result: dict[str, Figures] = {}
    for key in scenario.contenders:
        mine = [run for run in runs if run.scenario == scenario.key and run.contender == key]
        if not mine:
            continue
        datas = [run.data for run in mine if run.data is not None]
        errors = [run.error for run in mine if run.error]
        figures = FIGURES_BY_MODE[scenario.mode](datas) if datas else {}
        figures["rounds_ok"] = len(datas)
        figures["errors_seen"] = errors
        if datas:
            figures["info"] = datas[0]["info"]
        result[key] = figures
    return result

"""The Markdown report: reproduce command, environments, targets, one table per scenario with
the ratio ours ÷ peer for every figure, and how to read it."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from .environments import Environment
from .scenarios import CONTENDERS, RATIO_PEERS, Scenario
from .summary import Figures

#: "Flat" means growing by at most this factor (the targets' reading, not an assertion).
FLAT_LIMIT = 1.2
#: Scenario 1 targets (issue 11): this many times faster per turn than AutoGRAMS 0.5.3, and
#: than LangGraph's InMemorySaver.
SPEEDUP_TARGET = 50.0
LANGGRAPH_SPEEDUP_TARGET = 10.0
#: The drop-in issue's floor (issue 16): scenario 1 with the whole log carried, at the least.
DROP_IN_SPEEDUP_FLOOR = 30.0

Summaries = dict[str, dict[str, Figures]]


@dataclass(frozen=True, slots=True)
class Row:
    """One figure of a scenario table."""

    label: str
    key: str
    #: Formats a value for the table.
    fmt: Callable[[float], str]


def fmt_value(value: float) -> str:
    """About three significant digits, no exponent."""
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def fmt_int(value: float) -> str:
    """Whole number with thousands separators."""
    return f"{value:,.0f}"


def fmt_ratio(value: float) -> str:
    """A ratio, three significant digits."""
    return f"{value:.3g}"


SEQUENTIAL_ROWS = (
    Row("turn: load → reply → save, median (ms)", "turn_median_ms", fmt_value),
    Row("turn, p90 (ms)", "turn_p90_ms", fmt_value),
    Row("turn, p99 (ms)", "turn_p99_ms", fmt_value),
    Row("serialize, median (ms)", "serialize_median_ms", fmt_value),
    Row("deserialize, median (ms)", "deserialize_median_ms", fmt_value),
    Row("session size at turn 1 (bytes)", "size_1", fmt_int),
    Row("session size at turn 100 (bytes)", "size_100", fmt_int),
    Row("session size at turn 1,000 (bytes)", "size_1000", fmt_int),
    Row("first 100 turns (or first half), median (ms)", "first_window_ms", fmt_value),
    Row("turns 10–109 (runs of 210+ turns), median (ms)", "from_turn_ms", fmt_value),
    Row("turns 101–200 (runs of 300+ turns), median (ms)", "second_window_ms", fmt_value),
    Row("last 100 turns (or last half), median (ms)", "last_window_ms", fmt_value),
    Row("import the framework (ms)", "import_ms", fmt_value),
    Row("instrument / decorate / build graph (ms)", "setup_ms", fmt_value),
    Row("first turn: start to first pause + save (ms)", "start_ms", fmt_value),
)
COLD_ROWS = (
    Row("cold turn, spawn → exit, median (ms)", "turn_median_ms", fmt_value),
    Row("cold turn, p90 (ms)", "turn_p90_ms", fmt_value),
    Row("inside the process: load → reply → save (ms)", "inner_turn_ms", fmt_value),
    Row("serialize, median (ms)", "serialize_median_ms", fmt_value),
    Row("deserialize, median (ms)", "deserialize_median_ms", fmt_value),
    Row("import the framework (ms)", "import_ms", fmt_value),
    Row("instrument / decorate / build graph (ms)", "setup_ms", fmt_value),
    Row("first process (start), wall (ms)", "start_ms", fmt_value),
    Row("session size at turn 1 (bytes)", "size_1", fmt_int),
)
CONCURRENT_ROWS = (
    Row("throughput (turns/s, higher is better)", "turns_per_s", fmt_value),
    Row("turn under load, median (ms)", "turn_median_ms", fmt_value),
    Row("turn under load, p90 (ms)", "turn_p90_ms", fmt_value),
    Row("turn under load, p99 (ms)", "turn_p99_ms", fmt_value),
    Row("memory per live session: RSS growth ÷ sessions (KiB)", "rss_per_session_kb", fmt_value),
    Row("start every session (s)", "start_all_s", fmt_value),
    Row("turns that raised", "errors", fmt_int),
    Row("import the framework (ms)", "import_ms", fmt_value),
    Row("instrument / decorate / build graph (ms)", "setup_ms", fmt_value),
)
ROWS_BY_MODE = {"sequential": SEQUENTIAL_ROWS, "cold": COLD_ROWS, "concurrent": CONCURRENT_ROWS}


def number(figures: Figures | None, key: str) -> float | None:
    """A numeric figure, or None."""
    value = (figures or {}).get(key)
    return float(value) if isinstance(value, int | float) else None


def ratio(top: float | None, bottom: float | None) -> float | None:
    """top / bottom when both are known and bottom is not zero."""
    return top / bottom if top is not None and bottom else None


def cell(value: float | None, fmt: Callable[[float], str]) -> str:
    """A table cell."""
    return "–" if value is None else fmt(value)


def scenario_table(scenario: Scenario, figures: dict[str, Figures]) -> list[str]:
    """The figures of one scenario, a column per contender and per ratio."""
    keys = list(scenario.contenders)
    peers = [peer for peer in RATIO_PEERS if peer in keys]
    header = ["figure", *(CONTENDERS[key].label for key in keys)]
    header += [f"ours ÷ {CONTENDERS[peer].label}" for peer in peers]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row in ROWS_BY_MODE[scenario.mode]:
        values = [number(figures.get(key), row.key) for key in keys]
        if all(value is None for value in values):
            continue
        ours = number(figures.get("ours"), row.key)
        cells = [cell(value, row.fmt) for value in values]
        cells += [cell(ratio(ours, number(figures.get(p), row.key)), fmt_ratio) for p in peers]
        lines.append("| " + " | ".join([row.label, *cells]) + " |")
    return lines


def status_cell(key: str, figures: dict[str, Figures], environments: dict[str, Environment]) -> str:
    """Why a contender has no figures in a scenario (unavailable, or its runs failed)."""
    if not environments[CONTENDERS[key].environment].available:
        return "unavailable (see Environments)"
    errors = (figures.get(key) or {}).get("errors_seen") or []
    return f"failed: {errors[0]}" if errors else ""


def scenario_notes(
    scenario: Scenario, figures: dict[str, Figures], environments: dict[str, Environment]
) -> list[str]:
    """Path check, framework extras and failures under a scenario's table."""
    notes = [f"*Mapping.* {scenario.note}"]
    digests = {key: figs["digest"] for key, figs in figures.items() if figs.get("digest")}
    if len(set(digests.values())) == 1:
        digest = next(iter(digests.values()))
        notes.append(f"*Same path.* Every framework said the same words (transcript {digest}).")
    elif digests:
        listed = ", ".join(f"{CONTENDERS[k].label}: {d}" for k, d in digests.items())
        notes.append(f"*Paths differ!* Transcript hashes: {listed}.")
    for key in scenario.contenders:
        extra = (figures.get(key) or {}).get("extra")
        if extra:
            listed = ", ".join(f"{name} = {value:,}" for name, value in extra.items())
            notes.append(f"*{CONTENDERS[key].label}:* {listed}.")
        status = status_cell(key, figures, environments)
        if status:
            notes.append(f"*{CONTENDERS[key].label}:* {status}.")
        first_error = (figures.get(key) or {}).get("first_error")
        if first_error:
            notes.append(f"*{CONTENDERS[key].label}:* first error under load: {first_error}.")
    return [f"- {note}" for note in notes]


def verdict(value: float | None, good: Callable[[float], bool], why_missing: str) -> str:
    """Return "met" or "not met", or why the figure is missing."""
    if value is None:
        return f"n/a ({why_missing})"
    return "met" if good(value) else "not met"


def figure(summaries: Summaries, scenario: str, contender: str, key: str) -> float | None:
    """One figure of one contender in one scenario."""
    return number(summaries.get(scenario, {}).get(contender), key)


def times(value: float | None) -> str:
    """A factor as text."""
    return "–" if value is None else f"{value:.2f}×"


@dataclass(frozen=True, slots=True)
class Growth:
    """A flatness target: figure `top` ÷ figure `bottom` of the same contender stays ≤ 1.2."""

    label: str
    #: (scenario, figure key) of the later/larger case.
    top: tuple[str, str]
    #: (scenario, figure key) of the earlier/smaller case.
    bottom: tuple[str, str]

    def of(self, summaries: Summaries, contender: str) -> float | None:
        """The growth factor of `contender`."""
        top = figure(summaries, self.top[0], contender, self.top[1])
        return ratio(top, figure(summaries, self.bottom[0], contender, self.bottom[1]))


GROWTH_TARGETS = (
    Growth("scenario 4: flat turn cost, turns 10–109 vs last 100 turns",
           ("4", "last_window_ms"), ("4", "from_turn_ms")),
    Growth("scenario 7 (closures): flat turn cost, turns 10–109 vs last 100 turns",
           ("7", "last_window_ms"), ("7", "from_turn_ms")),
    Growth("scenario 4: flat session size, turn 1 vs last turn",
           ("4", "size_last"), ("4", "size_1")),
    Growth("scenario 3: flat turn cost, 20- vs 900-line function",
           ("3b", "turn_median_ms"), ("3a", "turn_median_ms")),
    Growth("scenario 3: flat session size, 20- vs 900-line function",
           ("3b", "size_1"), ("3a", "size_1")),
)  # fmt: skip


#: Not targets: where each contender's growth stops. A session that resumes on its own must
#: carry the conversation a prompt can still include, so no such session is flat from turn 1;
#: ours stops growing once that window is full (a few hundred turns).
PLATEAUS = (
    Growth("scenario 4: session size, turn 100 vs last turn",
           ("4", "size_last"), ("4", "size_100")),
    Growth("scenario 4: turn cost, turns 101–200 vs last 100 turns",
           ("4", "last_window_ms"), ("4", "second_window_ms")),
)  # fmt: skip


#: Speed targets: (scenario, peer, label, the peer ÷ ours factor to reach).
SPEEDUPS = (
    ("1", "autograms", f"scenario 1: turn ≥ {SPEEDUP_TARGET:g}× faster than AutoGRAMS",
     SPEEDUP_TARGET),
    ("1", "autograms",
     f"scenario 1: turn ≥ {DROP_IN_SPEEDUP_FLOOR:g}× faster than AutoGRAMS (the drop-in floor)",
     DROP_IN_SPEEDUP_FLOOR),
    ("1", "langgraph",
     f"scenario 1: turn ≥ {LANGGRAPH_SPEEDUP_TARGET:g}× faster than LangGraph (InMemorySaver)",
     LANGGRAPH_SPEEDUP_TARGET),
    ("7", "autograms",
     f"scenario 7 (closures): turn ≥ {SPEEDUP_TARGET:g}× faster than AutoGRAMS", SPEEDUP_TARGET),
)  # fmt: skip


def speedup_rows(summaries: Summaries, why_missing: str) -> list[list[str]]:
    """Median turn of a scenario: how many times faster than each peer."""
    rows = []
    for scenario, peer, label, factor in SPEEDUPS:
        ours = figure(summaries, scenario, "ours", "turn_median_ms")
        value = ratio(figure(summaries, scenario, peer, "turn_median_ms"), ours)
        measured = f"{CONTENDERS[peer].label} ÷ ours = {times(value)}"
        good = verdict(value, lambda speedup, factor=factor: speedup >= factor, why_missing)
        rows.append([label, measured, good, ""])
    return rows


def target_rows(summaries: Summaries, why_missing: str) -> list[list[str]]:
    """The mission's targets with the measured values (reported, never asserted)."""
    rows = speedup_rows(summaries, why_missing)
    for target in GROWTH_TARGETS:
        value = target.of(summaries, "ours")
        peers = ", ".join(
            f"{CONTENDERS[key].label} {times(target.of(summaries, key))}" for key in RATIO_PEERS
        )
        good = verdict(value, lambda factor: factor <= FLAT_LIMIT, why_missing)
        rows.append([target.label, f"ours {times(value)}", good, peers])
    return rows


def plateau_rows(summaries: Summaries) -> list[list[str]]:
    """Growth after the first hundred turns, for every contender (information only)."""
    rows = []
    for growth in PLATEAUS:
        cells = (
            f"{contender.label} {times(growth.of(summaries, key))}"
            for key, contender in CONTENDERS.items()
        )
        rows.append([growth.label, ", ".join(cells)])
    return rows


def environment_lines(environments: dict[str, Environment]) -> list[str]:
    """The environments table."""
    lines = ["| side | status | interpreter and pinned versions |", "| --- | --- | --- |"]
    for key, environment in environments.items():
        status = "ready" if environment.available else f"unavailable ({environment.reason})"
        lines.append(f"| {key} | {status} | {environment.description or '–'} |")
    return lines


HOW_TO_READ = """## How to read the figures
- **turn**: what a stateless server does per user message. AutoGRAMS API (AutoGRAMS, ours):
  `deserialize(blob)` → `reply(text, memory_object=memory)` → `serialize(memory)`, timed together.
  LangGraph: one `invoke(Command(resume=text), config)`, which loads the latest checkpoint, runs
  to the next `interrupt()` and saves it (the checkpointer's own load and save).
- **serialize / deserialize**: the parts of the turn for the AutoGRAMS API; for LangGraph they are
  timed apart, after the turn: the checkpointer's serde `dumps_typed` / `loads_typed` of the
  latest checkpoint of each namespace (summed). **Session size**: length of the blob (base64 text
  for AutoGRAMS) or of the serialized checkpoints. LangGraph's checkpointers also keep every older
  checkpoint; the scenario notes give that storage.
- **import / instrument**: measured inside each fresh runner process: importing the framework,
  then decorating the bot (AutoGRAMS parses the source; ours instruments bytecode; LangGraph
  builds and compiles the graph). A runtime that instruments lazily pays it in the first turn.
- **Decisions**: the bots call the framework's own `yes_or_no` / `multiple_choice` in test mode
  (so their cost counts) and then follow a seeded script shared by all frameworks, so every
  framework takes the same path (checked by the transcript hash). LangGraph has no classifier
  helper: its decision nodes only read the script, so it pays no decision cost at all.
- **Ratios** are ours ÷ peer: below 1 means ours is faster (smaller) for times and sizes; above 1
  means ours is better for throughput. Medians and p90 pool every turn of every round.
- **First turns**: AutoGRAMS' first decision loads tiktoken's o200k encoding (~0.3 s), which lands
  in one turn of each run (visible in p90 only for short runs) and in every cold process that
  decides.
- **Loaded machines**: every contender is timed the same way (wall time around the same calls,
  in a process of its own), but on a machine busier than its cores a turn longer than a
  scheduler time slice is preempted, often several times, and waits for the other processes in
  between: its wall time grows about as much as the load, while a turn of a fraction of a
  millisecond mostly runs within one slice. On 2026-12-06/07, AutoGRAMS' scenario 1 median read
  6.29 ms on an idle machine (load average 1.7–1.9), and 37.9, 82.7 and 26.0 ms at load 12–16,
  16–18 and 13; LangGraph's 1.78, 7.17, 5.21 and 1.47 ms; ours 0.240, 0.391, 0.319 and
  0.235 ms (the last two after a speed-up). So ratios against the peers are only meaningful
  from a run on an idle machine (the load average is printed at the top): a loaded run can
  overstate them several times, AutoGRAMS' most.
"""


def loaded_warning(meta: dict[str, str]) -> list[str]:
    """A warning when the run started or ended busier than the machine's CPUs (see "Loaded
    machines" below): its ratios against the peers are overstated."""
    cpus = os.cpu_count() or 1
    loads = []
    for reading in (meta.get("load_start", ""), meta.get("load_end", "")):
        try:
            loads.append(float(reading.split(",")[0]))
        except ValueError:
            continue
    if not loads or max(loads) <= cpus:
        return []
    return [
        f"**Loaded run** (load average up to {max(loads):.1f} on {cpus} CPUs): the peers' longer "
        "turns may have been preempted more than ours, which inflates the ratios above (several "
        'times for AutoGRAMS); trust a run on an idle machine (see "Loaded machines" at the end).',
        "",
    ]


def render(
    scenarios: tuple[Scenario, ...],
    summaries: Summaries,
    environments: dict[str, Environment],
    meta: dict[str, str],
    figure_problem: str | None,
    quick: bool,
) -> str:
    """The whole Markdown report (`figure_problem` says why compare.png was not drawn)."""
    ours = environments["ours"]
    ours_reason = "ours unavailable" if not ours.available else "figure missing"
    lines = [
        "# autograms vs AutoGRAMS 0.5.3 vs LangGraph, side by side",
        "",
        f"Reproduce from the repository root: `{meta['reproduce']}` (`make bench-compare` is "
        "`python -m benchmarks.compare` run by the project's CPython 3.12.1 venv).",
        "",
        f"This run: `{meta['command']}`, started {meta['date']}; {meta['machine']}; load average "
        f"{meta['load_start']} at the start and {meta['load_end']} at the end (shared CPUs); "
        f"{meta['rounds']} round(s), contenders alternating in every round (ABC, BCA, CAB, …). "
        f"Mode: {meta['mode']}.",
        "",
    ]
    if not ours.available:
        lines += [f"**ours: unavailable ({ours.reason})** — its columns are empty.", ""]
    lines += ["## Environments", "", *environment_lines(environments), ""]
    lines += ["## Targets (reported, not asserted)", ""]
    lines += ["| target | measured | verdict | peers, same figure |", "| --- | --- | --- | --- |"]
    lines += ["| " + " | ".join(row) + " |" for row in target_rows(summaries, ours_reason)]
    lines += ["", f'"Flat" means growing by at most {FLAT_LIMIT}×.', ""]
    lines += loaded_warning(meta)
    lines += ["### After the first hundred turns (information, not a target)", ""]
    lines += [
        "A session that resumes on its own carries the conversation a prompt can still include,",
        "so its size grows until that window is full; ours keeps the live turns within the",
        "prompt budget. Ours and AutoGRAMS also carry the whole log (every message and model",
        "call), which grows with every turn; ours appends each turn's entries to it without",
        "re-encoding the rest (a session store keeps the log in a table of its own instead).",
        "",
        "| growth | per contender |",
        "| --- | --- |",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in plateau_rows(summaries)]
    lines += [""]
    for scenario in scenarios:
        figures = summaries.get(scenario.key, {})
        lines += [f"## Scenario {scenario.key}: {scenario.heading(quick)}", ""]
        lines += scenario_table(scenario, figures) + [""]
        lines += scenario_notes(scenario, figures, environments) + [""]
    lines += [HOW_TO_READ]
    if figure_problem:
        lines += [f"No figure: {figure_problem}.", ""]
    else:
        lines += ["![per-scenario figures](compare.png)", ""]
    return "\n".join(lines)

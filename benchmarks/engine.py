"""Benchmarks of the continuation engine (issue 2): print a Markdown table of figures, targets
and PASS/MISS markers for the running interpreter, and save it under benchmarks/results/.

    python -m benchmarks.engine [--quick] [--cold] [--results DIR]

1. call overhead of instrumented vs plain functions (tiny, 100-iteration loop, 40 lines), and
   of the public decorator ``@autograms_function()`` when a call neither pauses nor records a
   turn, called from ordinary code and inside a turn;
2. warm resume -> next pause of a 5-deep stack with ~20 locals per frame, and snapshot size;
3. instrumentation time of a 50-line function, and its lazy twin build on first resume;
4. cold start: import, instrumentation, snapshot read and first resume in a fresh process;
   and what users pay (issue 11): import ``autograms`` + the bot + load a session + its first
   turn, in a fresh process;
5. a turn whose run loop appends to ``memory_dict['model_turns']`` (issue 16), on a log of
   100 and of 3,000 turns: it must cost about the same.

Targets are information only: a miss is reported, never a failure. ``--cold`` measures the
cold rows (4) alone and rewrites them in the saved table, with the load average of their run
(they take seconds, the whole table minutes: a loaded machine inflates them least); ``--log``
does the same for the log-append rows (5).
"""

from __future__ import annotations

import argparse
import gc
import inspect
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from autograms._frames import Paused, load, pickling, resume, run, wire
from autograms._frames.instrument import instrument as rewrite
from autograms._frames.twin import twin_of

from . import _cold, _cold_session, _decorated, _log_append, _subjects, _timing

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"

OVERHEAD_TARGET = 1.05
#: The public decorator inside a turn (issue 11); outside one it is `OVERHEAD_TARGET`.
IN_TURN_TARGET = 1.2
RESUME_TARGET = 100e-6
INSTRUMENT_TARGET = 5e-3
#: Import `autograms` + load a session + its first resume, CPU time (issue 11).
COLD_SESSION_TARGET = 50e-3
#: Turns in the session the cold-session processes load.
COLD_SESSION_TURNS = 20
#: A turn with a run-loop append on the long log, against the same on the short log.
LOG_APPEND_TARGET = 1.2
#: The results table's header line.
HEADER = "| Benchmark | Result | Target | Status |"
#: How the paragraph about a `--cold` refresh of a saved table starts.
_COLD_NOTE = "Cold rows re-measured "
#: How the paragraph about a `--log` refresh of a saved table starts.
_LOG_NOTE = "Log-append rows re-measured "

#: Call-overhead subjects: row label, subject name, timed statement (unrolled ten times).
OVERHEAD_CASES = (
    ("call overhead: tiny function", "tiny", "f(1, 2)"),
    ("call overhead: loop, 100 × `acc.append(helper(i))`", "loop", "f(100)"),
    ("call overhead: 40-line function", "forty", "f(items)"),
)
_UNROLL = 10

#: Public-decorator subjects: row label, subject name, timed statement.
DECORATOR_CASES = (
    ("tiny function", "public_tiny", "f(1, 2)"),
    ("loop, 100 × `acc.append(helper(i))`", "public_loop", "f(100)"),
)

COLD_LABELS = {
    "import": "cold: import `autograms._frames`",
    "instrument": "cold: instrument the 5 stack functions (from the code cache)",
    "read": "cold: read the snapshot file",
    "first_resume": "cold: first resume (unpickle, 5 twins from the code cache, run, pickle)",
    "second_resume": "cold: second resume",
}
COLD_SESSION_LABELS = {
    "import": "cold session: import `autograms`",
    "bot": "cold session: import the bot (decorate 6 functions, from the code cache)",
    "load": "cold session: read + deserialize the session file",
    "first_turn": "cold session: first turn (resume 4 frames, reply, serialize)",
}


@dataclass(frozen=True, slots=True)
class Settings:
    """How much repetition a run uses."""

    #: Interleaved rounds of each call-overhead comparison and of the warm resume timing.
    rounds: int
    #: Seconds each timed run of a round should last.
    budget: float
    #: Functions instrumented (and twins built) for the instrumentation figures.
    instruments: int
    #: Fresh processes for the cold-start figures.
    cold_runs: int
    quick: bool
    #: Turns in the short and the long session of the log-append rows.
    log_turns: tuple[int, int] = (100, 3_000)


FULL = Settings(rounds=20, budget=0.05, instruments=15, cold_runs=5, quick=False)
QUICK = Settings(rounds=2, budget=0.002, instruments=2, cold_runs=1, quick=True, log_turns=(5, 50))


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the results table; `passed` is None for figures without a target."""

    benchmark: str
    result: str
    target: str = ""
    passed: bool | None = None

    @property
    def status(self) -> str:
        return {None: "info", True: "PASS", False: "MISS"}[self.passed]


def format_seconds(seconds: float) -> str:
    """`seconds` in the unit that keeps three significant digits readable."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_spread(values: Sequence[float]) -> str:
    """Median of `values`, with their range when there is more than one."""
    median = format_seconds(statistics.median(values))
    if len(values) < 2:
        return median
    return f"{median} (range {format_seconds(min(values))}–{format_seconds(max(values))})"


def _call_timer(function: object, statement: str) -> timeit.Timer:
    """`statement` ten times per loop, with `f` (and the 40-line function's `items`) local."""
    return _timing.timer(
        "; ".join([statement] * _UNROLL),
        "f = subject; items = forty_items",
        subject=function,
        forty_items=list(_subjects.FORTY_ITEMS),
    )


def _compare_calls(pair: tuple, statement: str, settings: Settings) -> _timing.Comparison:
    plain, instrumented = pair
    return _timing.compare(
        partial(_call_timer, plain, statement),
        partial(_call_timer, instrumented, statement),
        rounds=settings.rounds,
        budget=settings.budget,
    )


def _overhead_result(comparison: _timing.Comparison) -> str:
    plain = format_seconds(comparison.baseline / _UNROLL)
    instrumented = format_seconds(comparison.variant / _UNROLL)
    return f"{comparison.ratio:.3f}x ({plain} → {instrumented})"


def measure_overhead(settings: Settings) -> list[Row]:
    """Instrumented / plain call time of each overhead subject, and of a hooked tiny function."""
    pairs = _subjects.overhead_pairs()
    plain_tiny = pairs["tiny"][0]
    control = _compare_calls((plain_tiny, plain_tiny), "f(1, 2)", settings)
    rows = [Row("noise floor: tiny plain function against itself", _overhead_result(control))]
    for label, name, statement in OVERHEAD_CASES:
        comparison = _compare_calls(pairs[name], statement, settings)
        rows.append(
            Row(
                label,
                _overhead_result(comparison),
                f"≤ {OVERHEAD_TARGET}x",
                comparison.ratio <= OVERHEAD_TARGET,
            )
        )
    plain, instrumented = pairs["forty"]
    rows.append(
        Row(
            "objects left to the cyclic GC per call of the 40-line function",
            f"{cyclic_garbage(plain):g} → {cyclic_garbage(instrumented):g}",
        )
    )
    hooked = _compare_calls(_subjects.hooked_pair(), "f(1, 2)", settings)
    rows.append(
        Row(
            "call overhead: tiny function, no-op enter/leave hooks (dialog layer)",
            _overhead_result(hooked),
        )
    )
    return rows


def measure_decorator(settings: Settings) -> list[Row]:
    """``@autograms_function()`` / plain call time of each subject, from ordinary code and
    inside a turn."""
    pairs = _decorated.pairs()

    def compare_all() -> list[_timing.Comparison]:
        return [
            _compare_calls(pairs[name], statement, settings)
            for _, name, statement in DECORATOR_CASES
        ]

    rows = []
    contexts = (
        ("outside a turn", compare_all(), OVERHEAD_TARGET),
        ("inside a turn", _decorated.in_a_turn(compare_all), IN_TURN_TARGET),
    )
    for context, comparisons, target in contexts:
        for (label, _, _), comparison in zip(DECORATOR_CASES, comparisons, strict=True):
            rows.append(
                Row(
                    f"`@autograms_function()` {context}, no pause or turn recorded: {label}",
                    _overhead_result(comparison),
                    f"≤ {target}x",
                    comparison.ratio <= target,
                )
            )
    return rows


def cyclic_garbage(forty: Callable[[list[int]], object], calls: int = 100) -> float:
    """Objects that only the cyclic collector frees, per call of a 40-line function."""
    with _timing.gc_paused():
        gc.collect()
        for _ in range(calls):
            forty(list(_subjects.FORTY_ITEMS))
        return gc.collect() / calls


def stack_snapshot() -> bytes:
    """A snapshot of the deep stack paused at its innermost frame."""
    _subjects.instrument_stack()
    outcome = run(_subjects.level1, (_subjects.STACK_SEED,))
    if not isinstance(outcome, Paused):
        raise RuntimeError(f"the deep stack did not pause: {outcome!r}")
    return outcome.snapshot


def measure_resume(settings: Settings, snapshot: bytes) -> list[Row]:
    """Warm resume -> next pause of the deep stack, its parts, and the snapshot size."""
    resume(snapshot, "warm-up")  # builds the twins

    def per_call(function: Callable[[], object]) -> list[float]:
        return _timing.per_call(function, rounds=settings.rounds, budget=settings.budget)

    times = per_call(lambda: resume(snapshot, "again"))
    loads = per_call(lambda: load(snapshot))
    values = pickling.load_snapshot(wire.read(snapshot)[1])
    pickled = pickling.dump_snapshot(*values)
    unpickle = per_call(lambda: pickling.load_snapshot(pickled))
    repickle = per_call(lambda: pickling.dump_snapshot(*values))
    depth = _subjects.STACK_DEPTH
    return [
        Row(
            f"warm resume → next pause, {depth} frames × ~20 locals (pickle)",
            format_spread(times),
            f"≤ {format_seconds(RESUME_TARGET)}",
            statistics.median(times) <= RESUME_TARGET,
        ),
        Row("… of which `load()`: header check of 5 frames + unpickle", format_spread(loads)),
        Row(
            "… of which unpickling / pickling the saved values alone",
            f"{format_seconds(statistics.median(unpickle))} / "
            f"{format_seconds(statistics.median(repickle))}",
        ),
        Row(f"snapshot size, {depth} frames", f"{len(snapshot):,} B ({len(pickled):,} B pickle)"),
    ]


def _source_lines(function: object) -> int:
    return len(inspect.getsourcelines(function)[0])


def measure_instrumentation(settings: Settings) -> list[Row]:
    """Time to instrument fresh copies of the 50-line function and to build their twins (the
    rewrite itself: not through the code cache, which would load every copy but the first)."""
    instrument_times: list[float] = []
    twin_times: list[float] = []
    for _ in range(settings.instruments):
        info, seconds = _timing.once(partial(rewrite, _subjects.fifty_copy()))
        instrument_times.append(seconds)
        twin_times.append(_timing.once(partial(twin_of, info))[1])
    lines = _source_lines(_subjects.fifty)
    return [
        Row(
            f"instrument a {lines}-line function",
            format_spread(instrument_times),
            f"≤ {format_seconds(INSTRUMENT_TARGET)}",
            statistics.median(instrument_times) <= INSTRUMENT_TARGET,
        ),
        Row(
            f"lazy twin build of the {lines}-line function (first resume)",
            format_spread(twin_times),
        ),
    ]


def _cold_run(
    path: str, module: str = _cold.__name__, *options: str, code_cache: str
) -> tuple[dict[str, float], float]:
    """One fresh process running `module` on `path`: its steps' CPU seconds, its wall time.

    The process may read and write compiled-bytecode caches (``__pycache__``), as an installed
    package's are (pip compiles them): a shell that sets PYTHONDONTWRITEBYTECODE would else make
    every cold process compile the whole library from source, more than half of its import. It
    uses the engine's code cache `code_cache` (a folder, or "off"), as a machine that ran the
    bot before has it in ~/.cache/autograms/code. Callers run one process first, unrecorded, so
    both caches exist.
    """
    environment = dict(os.environ)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    environment["AUTOGRAMS_CODE_CACHE"] = code_cache
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), environment.get("PYTHONPATH")])
    )
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", module, path, *options],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
    )
    wall = time.perf_counter() - start
    if completed.returncode != 0:
        raise RuntimeError(f"the cold-start process failed:\n{completed.stderr}")
    return json.loads(completed.stdout), wall


def measure_cold(settings: Settings, snapshot: bytes) -> list[Row]:
    """Each step of a first resume in fresh processes, plus the whole process's wall time."""
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "snapshot.pickle")
        Path(path).write_bytes(snapshot)
        cache = os.path.join(directory, "code-cache")
        _cold_run(path, code_cache=cache)  # writes the bytecode caches and the code cache
        runs = [_cold_run(path, code_cache=cache) for _ in range(settings.cold_runs)]
    rows = [
        Row(COLD_LABELS[step], format_spread([steps[step] for steps, _ in runs]))
        for step in _cold.STEPS
    ]
    rows.append(
        Row(
            "cold: whole process, interpreter start included",
            format_spread([wall for _, wall in runs]),
        )
    )
    return rows


def measure_cold_session(settings: Settings) -> list[Row]:
    """What a fresh process pays before its first turn of a saved session: each step, and
    import + load + first turn together against the target."""
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "bot.session")
        _cold_session.write_session(path, COLD_SESSION_TURNS)
        cache = os.path.join(directory, "code-cache")
        module = _cold_session.__name__
        _cold_run(path, module, code_cache=cache)  # writes the bytecode caches and code cache
        runs, client_runs, uncached_runs = [], [], []
        for _ in range(settings.cold_runs):  # interleaved: the machine's load hits each alike
            runs.append(_cold_run(path, module, code_cache=cache))
            client_runs.append(_cold_run(path, module, "--model-client", code_cache=cache))
            uncached_runs.append(_cold_run(path, module, code_cache="off"))
    rows = [
        Row(COLD_SESSION_LABELS[step], format_spread([steps[step] for steps, _ in runs]))
        for step in _cold_session.STEPS
    ]
    totals = [sum(steps.values()) for steps, _ in runs]
    rows.append(
        Row(
            "cold session: import + bot + load + first turn, CPU",
            format_spread(totals),
            f"≤ {format_seconds(COLD_SESSION_TARGET)}",
            statistics.median(totals) <= COLD_SESSION_TARGET,
        )
    )
    rows.append(
        Row(
            "cold session: whole process, interpreter start included",
            format_spread([wall for _, wall in runs]),
        )
    )
    rows.append(
        Row(
            "… the same with the code cache off (every function instrumented, twins built)",
            format_spread([sum(steps.values()) for steps, _ in uncached_runs]),
        )
    )
    rows.append(
        Row(
            "cold session as deployed (OpenAI-compatible model client, the turn calls no "
            "model): first turn",
            format_spread([steps["first_turn"] for steps, _ in client_runs]),
        )
    )
    rows.append(
        Row(
            "… as deployed: import + bot + load + first turn, CPU",
            format_spread([sum(steps.values()) for steps, _ in client_runs]),
        )
    )
    return rows


def measure_log_append(settings: Settings) -> list[Row]:
    """A turn with a run-loop append to ``memory_dict['model_turns']`` (deserialize, append,
    reply, serialize) on a short and a long log, and a turn without the append on the long
    one; interleaved rounds, medians per turn."""
    autogram = _log_append.make_autogram()
    short, long = settings.log_turns
    texts = _log_append.sessions(autogram, settings.log_turns)
    subjects = {
        "short": _log_append.turn(autogram, texts[short], append=True),
        "long": _log_append.turn(autogram, texts[long], append=True),
        "plain": _log_append.turn(autogram, texts[long], append=False),
    }
    times: dict[str, list[float]] = {name: [] for name in subjects}
    for _ in range(settings.rounds):
        for name, subject in subjects.items():
            times[name] += _timing.per_call(subject, rounds=1, budget=settings.budget)

    def ratio(slow: str, fast: str) -> float:
        return statistics.median([b / a for a, b in zip(times[fast], times[slow], strict=True)])

    label = "turn with one `memory_dict['model_turns']` append (deserialize, append, reply, "
    grows, append = ratio("long", "short"), ratio("long", "plain")
    return [
        Row(f"{label}serialize): {short:,}-turn log", format_spread(times["short"])),
        Row(f"… {long:,}-turn log ({len(texts[long]):,} B session)", format_spread(times["long"])),
        Row(f"… without the append, {long:,}-turn log", format_spread(times["plain"])),
        Row(
            f"… the append's cost: with against without it, {long:,}-turn log (median of "
            "per-round ratios)",
            f"{append:.2f}x",
            f"≤ {LOG_APPEND_TARGET}x",
            append <= LOG_APPEND_TARGET,
        ),
        Row(
            f"… the log's cost: {long:,}-turn against {short:,}-turn log, with the append (the "
            "carried log is copied into each new text: issue 11)",
            f"{grows:.2f}x",
            f"≤ {LOG_APPEND_TARGET}x",
            grows <= LOG_APPEND_TARGET,
        ),
    ]


def render(rows: Sequence[Row], settings: Settings) -> str:
    """The Markdown table with a heading naming the interpreter and how it was measured."""
    kind = "quick run (few repetitions, rough figures)" if settings.quick else "full run"
    lines = [
        f"## Engine benchmarks: CPython {platform.python_version()}",
        "",
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{time.strftime('%Y-%m-%d')}, {kind}. In-process figures are CPU time of the "
        "measuring thread (`time.thread_time`) with the garbage collector on, medians per "
        "call; overhead is the median of "
        f"{settings.rounds} interleaved per-round ratios. Instrumentation: "
        f"{settings.instruments} functions. Cold: {settings.cold_runs} fresh process(es) with "
        "bytecode caches and the engine's code cache written (one unrecorded process "
        "first), CPU time of each step; the "
        "whole process is wall time. Cold session: a session of "
        f"{COLD_SESSION_TURNS} turns of the closures benchmark's bot. Load average at the "
        f"end: {_timing.load_average()}.",
        "",
        HEADER,
        "|---|---|---|---|",
    ]
    lines += [_row_line(row) for row in rows]
    return "\n".join(lines) + "\n"


def measure(settings: Settings) -> list[Row]:
    """Every benchmark's rows, in table order."""
    snapshot = stack_snapshot()
    return [
        *measure_overhead(settings),
        *measure_decorator(settings),
        *measure_resume(settings, snapshot),
        *measure_instrumentation(settings),
        *measure_cold(settings, snapshot),
        *measure_cold_session(settings),
        *measure_log_append(settings),
    ]


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.engine",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="few repetitions, for smoke tests; saves no results by default",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="measure the cold-start rows only and update them in the saved table",
    )
    parser.add_argument(
        "--log",
        action="store_true",
        help="measure the log-append rows only and update them in the saved table",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help=f"directory for engine-<python-version>.md (default {RESULTS}, or none with --quick)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks, print the table and save it; always 0 unless something crashed."""
    arguments = parse_arguments(argv)
    settings = QUICK if arguments.quick else FULL
    if arguments.cold:
        before = _timing.load_average()
        rows = measure_cold(settings, stack_snapshot()) + measure_cold_session(settings)
        how = f"`--cold`, {settings.cold_runs} fresh process(es) each"
        return _main_rows(arguments, settings, rows, _COLD_NOTE, how, before)
    if arguments.log:
        before = _timing.load_average()
        rows = measure_log_append(settings)
        how = f"`--log`, {settings.rounds} interleaved rounds"
        return _main_rows(arguments, settings, rows, _LOG_NOTE, how, before)
    table = render(measure(settings), settings)
    sys.stdout.write(table)
    directory = arguments.results or (None if settings.quick else RESULTS)
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"engine-{platform.python_version()}.md").write_text(table, encoding="utf-8")
    return 0


def _main_rows(
    arguments: argparse.Namespace,
    settings: Settings,
    rows: list[Row],
    prefix: str,
    how: str,
    before: str,
) -> int:
    """Print `rows` (measured `how`, the load average `before` at the start) and rewrite them
    in the saved table, with a note starting with `prefix`."""
    note = (
        f"{prefix}{time.strftime('%Y-%m-%d %H:%M %Z')} ({how}); load average at the start: "
        f"{before}, at the end: {_timing.load_average()}."
    )
    lines = [note, "", HEADER, "|---|---|---|---|"]
    lines += [_row_line(row) for row in rows]
    sys.stdout.write("\n".join(lines) + "\n")
    directory = arguments.results or (None if settings.quick else RESULTS)
    if directory is not None:
        path = directory / f"engine-{platform.python_version()}.md"
        if not path.exists():
            raise SystemExit(f"{path} does not exist: run the whole table once first")
        table = path.read_text(encoding="utf-8")
        path.write_text(update_rows(table, rows, note, prefix), "utf-8")
    return 0


def _row_line(row: Row) -> str:
    return f"| {row.benchmark} | {row.result} | {row.target or '—'} | {row.status} |"


def update_rows(table: str, rows: Sequence[Row], note: str, prefix: str = _COLD_NOTE) -> str:
    """`table` with the lines of `rows` replaced (by label; new labels after the last row) and
    `note` as a paragraph right above the table (replacing an earlier note starting with
    `prefix`)."""
    fresh = {row.benchmark: _row_line(row) for row in rows}
    kept: list[str] = []
    after_note = False
    for line in table.rstrip("\n").split("\n"):
        if line.startswith(prefix) or (after_note and line == ""):
            after_note = line != ""
            continue
        after_note = False
        label = line.removeprefix("| ").split(" | ")[0]
        kept.append(fresh.pop(label, line) if line.startswith("| ") else line)
    last_row = max(i for i, line in enumerate(kept) if line.startswith("| "))
    kept[last_row + 1 : last_row + 1] = fresh.values()
    header = kept.index(HEADER)
    kept[header:header] = [note, ""]
    return "\n".join(kept) + "\n"


if __name__ == "__main__":
    sys.exit(main())

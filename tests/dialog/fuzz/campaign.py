"""Check generated bots: every mode of `runner` against the others, and the replies and
final state against the thread-and-queues reference of `tests.dialog.harness`."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.dialog.harness import reference_run

from . import runner
from .generator import Bot, generate


@dataclass
class Finding:
    seed: int
    index: int
    #: "mode vs mode" -> the first differing turn, both sides
    differences: dict[str, str] = field(default_factory=dict)


def name_of(seed: int, index: int) -> str:
    return f"bot_{seed}_{index}"


def compare(runs: dict[str, list[list]], reference: dict | None) -> dict[str, str]:
    """The first difference of every mode from `in_process`, and of `in_process` from the
    reference (its replies and final state)."""
    differences = {}
    base = runs.get(runner.IN_PROCESS)
    for mode, turns in runs.items():
        if mode == runner.IN_PROCESS or base is None:
            continue
        for number, (mine, theirs) in enumerate(zip(base, turns, strict=False)):
            if mine != theirs:
                differences[f"{mode} vs in_process"] = f"turn {number}: {theirs!r} != {mine!r}"
                break
        else:
            if len(base) != len(turns):
                differences[f"{mode} vs in_process"] = f"{len(turns)} turns != {len(base)}"
    if reference is not None and base is not None:
        differences.update(_against_reference(base, reference))
    return differences


def _against_reference(base: list[list], reference: dict) -> dict[str, str]:
    """The reference stops when the bot first returns, and rolls its memory back to the
    start after a failed turn: compare the replies up to there, and the state after them
    when no turn failed."""
    replies = [turn[0] for turn in base]
    if None in replies:
        base = base[: replies.index(None) + 1]
        replies = replies[: len(base)]
    if replies != reference["transcript"]:
        return {"in_process vs reference": f"{replies!r} != {reference['transcript']!r}"}
    if runner.ended(base[-1]) or base[-1][0] is None:
        return {}
    final = {key: value for key, value in base[-1][2].items() if key != "written"}
    expected = json.loads(json.dumps(reference["state"], default=repr))
    if final != expected:
        return {"in_process vs reference (state)": f"{final!r} != {expected!r}"}
    return {}


def check(
    seed: int,
    indices: range | list[int],
    modes: tuple[str, ...],
    reference: bool = True,
    messages: int | None = None,
) -> tuple[list[Finding], int]:
    """Findings among bots `indices` of run `seed` (with at most `messages` of each script),
    and how many turns were played."""
    bots: dict[str, Bot] = {name_of(seed, i): generate(seed, i) for i in indices}
    for bot in bots.values():
        bot.script = bot.script[:messages]
    turns = 0
    findings = []
    with tempfile.TemporaryDirectory(prefix="agdz_") as folder:
        path = Path(folder)
        modules = runner.write_bots(path, {name: bot.source for name, bot in bots.items()})
        fresh = {}
        if runner.FRESH_PROCESS in modes:
            scripts = {modules[name]: bot.script for name, bot in bots.items()}
            hosted = {modules[name] for name, bot in bots.items() if bot.host_calls}
            fresh = runner.run_fresh_processes(path, scripts, hosted)
        for index, (name, bot) in zip(indices, bots.items(), strict=True):
            module = modules[name]
            runs = {}
            for mode in modes:
                if mode == runner.FRESH_PROCESS:
                    runs[mode] = fresh[module]
                else:
                    serialize = mode == runner.SERIALIZED
                    runs[mode] = runner.run_in_process(
                        module, bot.script, serialize, bot.host_calls
                    )
            turns += sum(len(turns_) for turns_ in runs.values())
            expected = None
            if reference and not bot.host_calls:
                with contextlib.redirect_stdout(io.StringIO()):
                    expected = reference_run(module, bot.script)
            differences = compare(runs, expected)
            if differences:
                findings.append(Finding(seed, index, differences))
    return findings, turns

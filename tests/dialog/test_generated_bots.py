"""Random bots written with the public dialog API say the same, and end in the same state,
whether their memory stays in process, goes through serialize/deserialize every turn, or is
loaded by a fresh interpreter every turn -- and the same as the thread-and-queues reference.

A small seeded count runs here; `make fuzz` runs more (`python -m tests.dialog.fuzz`).
"""

from __future__ import annotations

import pytest

from tests.dialog.fuzz import campaign, runner
from tests.dialog.fuzz.generator import generate

SEED = 3
BOTS = 12
#: of those, one also played with a fresh interpreter per turn (its host calls it between
#: turns too), for its first messages (every turn starts an interpreter)
FRESH, FRESH_MESSAGES = [5], 6


def _problems(findings: list[campaign.Finding]) -> str:
    lines = [f"seed {f.seed}, bot {f.index}: {what}: {how[:600]}" for f in findings for what, how in f.differences.items()]  # fmt: skip
    return "\n".join([*lines, "see one with: python -m tests.dialog.fuzz show SEED INDEX"])


def test_generated_bots_resume_alike_in_process_serialized_and_in_the_reference() -> None:
    findings, turns = campaign.check(SEED, range(BOTS), (runner.IN_PROCESS, runner.SERIALIZED))
    assert turns > BOTS * 2 * 4, "the bots should talk for a few turns each"
    assert not findings, _problems(findings)


def test_generated_bots_resume_alike_with_a_fresh_interpreter_per_turn() -> None:
    modes = (runner.IN_PROCESS, runner.FRESH_PROCESS)
    assert generate(SEED, FRESH[0]).host_calls
    findings, _ = campaign.check(SEED, FRESH, modes, reference=False, messages=FRESH_MESSAGES)
    assert not findings, _problems(findings)


def test_generated_bots_use_every_part_of_the_dialog_api() -> None:
    tags = set().union(*(generate(SEED, index).tags for index in range(40)))
    wanted = {"ask", "instruct", "prompt", "thought", "memory-dict", "user-globals", "call"}
    wanted |= {"if", "for", "try", "goto", "returnto", "scope:local", "scope:global", "method"}
    wanted |= {"use-memory"}
    assert wanted <= tags, f"never written: {sorted(wanted - tags)}"


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        (lambda turns: turns[:-1], "serialized vs in_process"),
        (lambda turns: [*turns[:1], ["other", "", None], *turns[2:]], "turn 1"),
    ],
)
def test_a_mode_that_departs_is_reported_at_its_first_different_turn(changed, expected) -> None:
    base = [["q1", "", {"k": 1}], ["q2", "p\n", {"k": 2}], [None, "", {"k": 2}]]
    differences = campaign.compare({"in_process": base, "serialized": changed(base)}, None)
    assert expected in " ".join([*differences, *differences.values()])


def test_a_reply_the_reference_does_not_give_is_reported() -> None:
    base = [["q1", "", {"k": 1}], ["q2", "", {"k": 2}]]
    differences = campaign.compare({"in_process": base}, {"transcript": ["q1", "q3"], "state": {}})
    assert list(differences) == ["in_process vs reference"]

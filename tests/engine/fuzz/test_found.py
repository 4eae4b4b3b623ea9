"""Every program the fuzzer found diverging (tests/engine/found/) gives the oracle's recorded
transcript through the engine, in process, after serialize/deserialize and with a fresh
interpreter per turn. A mode where a case still diverges on this Python (its ``DIVERGES``) is
a strict xfail: the day the engine gets it right the test fails, and the entry is removed."""

from __future__ import annotations

import functools

import pytest

from tests.engine.fuzz import batch, found, oracle, runner

CASES = found.cases()


@functools.cache
def _results() -> dict[str, batch.Result]:
    """All found cases checked at once, in one worker interpreter."""
    with batch.Worker() as worker:
        results = worker.check([case.spec(list(runner.MODES)) for case in CASES])
    return {result.name: result for result in results}


def _case_modes() -> list:
    params = []
    for case in CASES:
        for mode in runner.MODES:
            marks = []
            if case.diverges_here(mode):
                marks.append(pytest.mark.xfail(strict=True, reason=case.reason))
            params.append(pytest.param(case, mode, marks=marks, id=f"{case.name}-{mode}"))
    return params


@pytest.mark.parametrize(("case", "mode"), _case_modes())
def test_found_program_resumes_like_plain_python(case: found.FoundCase, mode: str) -> None:
    assert _results()[case.module].modes[mode] == case.expected


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_found_program_oracle_gives_the_recorded_transcript(case: found.FoundCase) -> None:
    assert oracle.run(case.reference, case.script, case.name) == case.expected

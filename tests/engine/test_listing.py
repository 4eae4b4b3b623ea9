"""The debugging listing of an instrumented function (listing.py): every call site with what a
pause there rebuilds or why it is refused, then the instrumented code and the resume twin with
their calls tagged -- stable across runs and independent of where the function sits."""

from __future__ import annotations

import dis
import re

import pytest

from autograms._frames import instrument
from autograms._frames.listing import format_instrumented
from autograms._frames.twin import twin_of
from autograms._frames.versions import PY312
from tests.engine.test_structure import INFOS


def pause_here(value):
    return value


def looped(items):
    total = []
    for item in items:
        total.append(pause_here(item) + len([pause_here(n) for n in range(item)]))
    return total


instrument(looped)


def _instruction_count(code) -> int:
    return sum(1 for instruction in dis.get_instructions(code) if instruction.opname != "CACHE")


@pytest.mark.parametrize("info", INFOS, ids=lambda info: f"{info.module}.{info.qualname}")
def test_listing_shows_every_site_and_instruction_of_both_codes(info) -> None:
    text = format_instrumented(info.function)
    sites, code, twin = text.split("\n\n")[1:4]
    assert len(sites.splitlines()) == 1 + len(info.sites)
    code_lines = code.split("  exception table:")[0].splitlines()[1:]
    twin_lines = twin.split("  exception table:")[0].splitlines()[1:]
    assert len(code_lines) == _instruction_count(info.normal_code)
    assert len(twin_lines) == _instruction_count(twin_of(info).code)
    assert sum(" site " in line for line in code_lines) >= len(info.sites)
    assert sum(line.split()[-2:-1] == ["stub"] for line in twin_lines) == sum(
        site.refusal is None for site in info.sites
    )


def test_listing_is_stable_and_has_no_memory_addresses() -> None:
    first = format_instrumented(looped)
    assert first == format_instrumented(looped)
    assert not re.search(r"0x[0-9a-f]{6,}", first)


def test_listing_names_what_each_site_rebuilds_or_why_it_is_refused() -> None:
    text = format_instrumented(looped, twin=False)
    sites = text.split("call sites:\n")[1].split("\n\n")[0].splitlines()
    # the loop's iterator is saved in a hidden local; the call inside the comprehension is
    # refused with the reason code first; lines count from the def line
    assert any(
        re.search(
            r"line \+3 +rebuilds \[0\] __ag_s0, \[1\.\.2\] LOAD_(ATTR|METHOD) append of "
            r"\(\[1\] LOAD_FAST total\)",
            line,
        )
        for line in sites
    )
    refused = [line for line in sites if "refused" in line]
    if PY312:  # inlined comprehensions (3.11 runs them in a frame of their own)
        assert refused == [
            "  site 2   line +3    refused (comprehension): cannot pause inside a list comprehension"
        ]
    else:
        assert refused == []
    assert "resume twin" not in text


def test_listing_refuses_a_function_that_is_not_instrumented() -> None:
    with pytest.raises(TypeError, match="not an instrumented function"):
        format_instrumented(pause_here)

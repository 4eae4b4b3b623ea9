"""What the engine's docstrings cite exists in the repository: every pitfall (P1-P12) they name
is written up in docs/engine.md, and every engine module they name is there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "autograms" / "_frames"
NOTES = ROOT / "docs" / "engine.md"


def _engine_sources() -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(ENGINE.glob("*.py"))}


def test_every_cited_pitfall_is_written_up() -> None:
    written = set(re.findall(r"^- \*\*(P\d+) — ", NOTES.read_text(), flags=re.MULTILINE))
    cited = {
        (name, number)
        for name, text in _engine_sources().items()
        for number in re.findall(r"\b(P\d+)\b", text)
    }
    assert cited, "the engine cites its pitfalls"
    assert {number for _, number in cited} <= written, sorted(cited)
    assert written == {f"P{n}" for n in range(1, 14)}


def test_every_cited_engine_module_exists() -> None:
    sources = _engine_sources()
    cited = {
        module
        for text in [*sources.values(), NOTES.read_text()]
        for module in re.findall(r"`?\b([a-z_]+\.py)\b", text)
    }
    engine_modules = {module for module in cited if (ENGINE / module).exists()}
    assert "listing.py" in engine_modules
    missing = {
        module
        for module in cited - engine_modules
        if module not in ("setup.py", "conftest.py") and not list(ROOT.rglob(module))
    }
    assert not missing, missing


def test_every_reason_the_engine_raises_is_a_reason_code() -> None:
    # errors take reason=Reason.X; a plain string must be one of the codes' values
    from autograms._frames import Reason

    values = {reason.value for reason in Reason}
    literals = {
        (name, literal)
        for name, text in _engine_sources().items()
        for literal in re.findall(r'reason="([^"]*)"', text)
    }
    assert {(name, literal) for name, literal in literals if literal not in values} == set()

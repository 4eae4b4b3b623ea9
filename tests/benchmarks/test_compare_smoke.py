"""Smoke test of the side-by-side benchmark harness (benchmarks/compare, issue 6).

Runs `python -m benchmarks.compare --quick --no-install` end to end with whichever peer venvs are
already installed under ~/.cache/autograms/bench (installing them takes minutes, so the test
never does: it is skipped when none is there). The "ours" side runs on this interpreter and must
always be available. No timing is asserted: only that every side that could run did, followed
the same dialog path, and that the report and its data were written.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def installed_peers() -> tuple[Path, list[str]]:
    """Where the harness keeps its venvs, and the peer venvs it would reuse from there."""
    sys.path.insert(0, str(REPO_ROOT))
    try:
        from benchmarks.compare import environments
    finally:
        sys.path.remove(str(REPO_ROOT))
    home, base = environments.default_bench_home(), environments.default_base_python()
    peers = [
        key for key in ("autograms", "langgraph") if environments.is_installed(home, key, base)
    ]
    return home, peers


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One quick harness run, shared by the tests of this module."""
    home, peers = installed_peers()
    if not peers:
        pytest.skip(
            f"no peer venv (AutoGRAMS 0.5.3, LangGraph) under {home}; "
            "run `make bench-compare` once to install them"
        )
    out_dir = tmp_path_factory.mktemp("compare")
    command = [sys.executable, "-m", "benchmarks.compare", "--quick", "--no-install"]
    proc = subprocess.run(
        [*command, "--out-dir", str(out_dir)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((out_dir / "compare.json").read_text())
    return {"peers": peers, "data": data, "markdown": (out_dir / "compare.md").read_text()}


@pytest.mark.slow
def test_every_available_side_ran_every_scenario(quick_run: dict) -> None:
    """Each contender whose environment is ready produced figures in each of its scenarios."""
    ready = {key for key, env in quick_run["data"]["environments"].items() if env["reason"] is None}
    assert set(quick_run["peers"]) <= ready
    for scenario in quick_run["data"]["scenarios"]:
        for contender, figures in scenario["summaries"].items():
            assert figures["rounds_ok"] == 1, (scenario["key"], contender, figures["errors_seen"])


@pytest.mark.slow
def test_all_frameworks_followed_the_same_dialog(quick_run: dict) -> None:
    """The seeded decisions make every framework say the same words (same transcript hash)."""
    for scenario in quick_run["data"]["scenarios"]:
        digests = {f["digest"] for f in scenario["summaries"].values() if "digest" in f}
        assert len(digests) <= 1, (scenario["key"], digests)


@pytest.mark.slow
def test_report_names_the_reproduce_command_and_ours_ran(quick_run: dict) -> None:
    """The Markdown starts with the command to reproduce, and ours ran with the peers."""
    markdown = quick_run["markdown"]
    assert "Reproduce from the repository root: `python -m benchmarks.compare --quick`" in markdown
    assert "## Scenario 1:" in markdown
    assert quick_run["data"]["environments"]["ours"]["reason"] is None
    assert "ours: unavailable" not in markdown
    assert "### After the first hundred turns" in markdown


def test_scenarios_are_chosen_by_a_list_of_keys_or_a_comma_list() -> None:
    """`--scenarios 1 3 4 7` and `--scenarios 1,3,4,7` choose the same scenarios ("3" is 3a
    and 3b), and the report names every target, the drop-in floor included."""
    sys.path.insert(0, str(REPO_ROOT))
    try:
        from benchmarks.compare import cli, report, scenarios
    finally:
        sys.path.remove(str(REPO_ROOT))
    chosen = []
    for argv in (["--scenarios", "1", "3", "4", "7"], ["--scenarios", "1,3,4,7"]):
        keys = cli.parse_options([*argv, "--no-install"]).scenarios
        chosen.append([scenario.key for scenario in scenarios.select(keys)])
    assert chosen[0] == chosen[1] == ["1", "3a", "3b", "4", "7"]
    labels = [row[0] for row in report.target_rows({}, "not run")]
    assert any("≥ 30× faster than AutoGRAMS" in label for label in labels)

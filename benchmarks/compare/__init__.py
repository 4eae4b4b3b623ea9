"""Side-by-side benchmark of this project against AutoGRAMS 0.5.3 and LangGraph (issue 6).

`python -m benchmarks.compare` (behind `make bench-compare`) creates or reuses one venv per peer
under ~/.cache/autograms/bench/, runs the seven scenarios of `scenarios` on every framework in
alternating rounds, each run a fresh runner process (runners/) in the framework's interpreter,
and writes benchmarks/results/compare.md, compare.json and compare.png. `--quick` is the smoke
mode; `--no-install` uses only the venvs already there.
"""

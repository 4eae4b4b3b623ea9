"""Divergent programs found by the generative differential tester (tests/engine/fuzz),
minimized; each is a test (tests/engine/fuzz/test_found.py). See docs/fuzzing.md."""

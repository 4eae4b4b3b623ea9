"""Benchmarks of the continuation engine (`python -m benchmarks.engine`, run by `make bench`).

They print figures for reading, never assert timings.
"""

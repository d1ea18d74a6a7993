"""Deterministic synthetic commercial logs for the demo, the tests and the benchmarks."""

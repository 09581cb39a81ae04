"""Benchmarks, run by hand (``python -m bench.bench_status``); never part of the test suite."""

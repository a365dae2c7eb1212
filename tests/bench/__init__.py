"""Benchmarks: ``make bench`` (``python -m tests.bench``) runs every ``bench_*.py`` here and
prints one table. Never imported by the test suite: timings are not assertions."""

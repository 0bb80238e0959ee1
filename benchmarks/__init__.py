"""Benchmarks: each ``bench_*.py`` module has ``run() -> list[Result]``; ``python -m benchmarks`` runs them all.

Every result is a ratio against a reference measured in the same run, and is written to
``benchmarks/RESULTS.md`` with the machine and date.
"""

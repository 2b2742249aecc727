"""Benchmarks: `python -m bench.<name>` prints figures and writes them to artifacts/bench/<name>.json."""

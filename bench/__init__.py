"""Benchmarks of the harness (``python -m bench.peers``); ratios, never timed assertions."""

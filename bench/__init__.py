"""Benchmarks of the public surface against hand-written baselines (``python -m bench``)."""

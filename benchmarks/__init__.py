"""Benchmarks of the orchestrator: figures and ratios against references measured in the same run.

Run ``python -m benchmarks`` (``--quick`` for a short run); ``docs/performance.md`` explains them.
"""

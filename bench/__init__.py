"""wxarchive benchmarks (issue 6): ``python -m bench`` prints each figure, its target and PASS/MISS."""

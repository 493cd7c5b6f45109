"""On-demand performance figures (not tests): ``python -m benchmarks.<name>``."""

"""Benchmarks: `uv run python -m bench [matching|backtest|tick-to-order] [--json]`."""

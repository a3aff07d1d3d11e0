"""Dagster-free modelling library: metrics, market baselines, goal models, walk-forward backtests."""

"""Thin Dagster wrappers over the library modules, one module per layer (= asset group)."""

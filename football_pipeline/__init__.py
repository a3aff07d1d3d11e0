"""football-pipeline: football match prediction on Dagster."""

__version__ = "0.1.0"

"""Parsers for source files: football-data.co.uk CSVs, Understat JSON, ClubElo CSVs (no Dagster)."""

"""A standard Scrapy project for football-data.co.uk, Understat and FBref. Imports no Dagster.

Spiders fetch and parse only: every raw response is archived before parsing (`archive.py`), parsed
pages are checked against the structure the parsers expect, and good files are written into a data
directory in the bundled layout, where the ingestion assets read them. Run a spider with
`scrapy crawl <name> -a competition=E0 -a season=2023-2024` from the project root, or
`football_pipeline.scraping.runner.run_crawl` (a subprocess: Twisted's reactor cannot restart).
"""

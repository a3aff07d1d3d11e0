"""Crawls run for real (a scrapy subprocess, Scrapy's downloader) against a RecordedSite."""

from __future__ import annotations

from pathlib import Path

import pytest

from football_pipeline.scraping.runner import CrawlReport, run_crawl
from football_pipeline_tests.scraping.server import RecordedSite

# Fast but still polite in shape: the same middlewares, smaller numbers.
FAST = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_START_DELAY": 0,
    "DOMAIN_MIN_INTERVAL": {"127.0.0.1": 0.05},
    "FBREF_MIN_DELAY": 0.05,
    "RETRY_BACKOFF_BASE": 0.2,
    "RETRY_TIMES": 2,
    "LOG_LEVEL": "INFO",
}


@pytest.fixture
def site():
    with RecordedSite() as recorded:
        yield recorded


@pytest.fixture
def crawl(site: RecordedSite, tmp_path: Path):
    """crawl(spider, competition=..., season=..., mode=..., **settings) -> CrawlReport"""
    data_dir, archive_dir = tmp_path / "scraped", tmp_path / "archive"

    def run(spider: str, *, mode: str = "live", settings: dict | None = None, **arguments: str) -> CrawlReport:
        base = {"FOOTBALL_DATA_BASE_URL": site.url, "UNDERSTAT_BASE_URL": site.url, "FBREF_BASE_URL": site.url}
        return run_crawl(spider, arguments, data_dir=data_dir, archive_dir=archive_dir, mode=mode,
                         settings={**FAST, **base, **(settings or {})}, timeout=120)

    run.data_dir, run.archive_dir = data_dir, archive_dir
    return run

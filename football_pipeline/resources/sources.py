"""Where the source files live (bundled data or `FOOTBALL_DATA_DIR`), and the team vocabulary."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import dagster as dg
from pydantic import Field

from football_pipeline import acquire, settings
from football_pipeline.common.seasons import Season
from football_pipeline.common.teams import Vocabulary


class SourceFilesResource(dg.ConfigurableResource):
    """A directory in the bundled layout: football-data/<DIV>/<SSSS>.csv, understat/<LEAGUE>/<YEAR>.json."""

    data_dir: str | None = Field(
        default=None, description="Data directory. Default: $FOOTBALL_DATA_DIR, else the bundled real data."
    )
    mode: str | None = Field(
        default=None,
        description="bundled (files in data_dir, no network), live (scrape, falling back to the last good copy, "
        "then data_dir) or replay (re-run the spiders on the raw archive). Default: $FOOTBALL_SOURCE_MODE, "
        "else bundled.",
    )
    scraped_dir: str | None = Field(default=None, description="Where crawls write files. Default: state/scraped.")
    archive_dir: str | None = Field(default=None, description="Raw-response archive. Default: state/archive.")
    scrapy_settings: str = Field(
        default="{}", description="JSON object of Scrapy settings for crawls (e.g. SCRAPER_CONTACT, site roots)."
    )
    spider_arguments: str = Field(
        default="{}",
        description='JSON object {source: {argument: value}} for the spiders, e.g. '
        '{"understat": {"shots": "none"}, "fbref": {"match_reports": "first:20"}}.',
    )
    today: str | None = Field(
        default=None,
        description="ISO date that temporal checks compare with (a completed match may not be later). "
        "Default: $FOOTBALL_PIPELINE_TODAY, else today (UTC).",
    )

    def directory(self) -> Path:
        return Path(self.data_dir).expanduser().resolve() if self.data_dir else settings.football_data_dir()

    def as_of(self) -> dt.date:
        return dt.date.fromisoformat(self.today) if self.today else settings.today()

    def source_mode(self) -> str:
        return self.mode or settings.source_mode()

    def fetch(self, source: str, competition_id: str, season: Season) -> acquire.Acquired:
        """The partition's file of `source`, fetched or replayed as the mode says, with the fallbacks."""
        return acquire.acquire(
            source, competition_id, season, mode=self.source_mode(), data_dir=self.directory(),
            scraped_dir=Path(self.scraped_dir) if self.scraped_dir else settings.scraped_dir(),
            archive_dir=Path(self.archive_dir) if self.archive_dir else settings.archive_dir(),
            scrapy_settings=json.loads(self.scrapy_settings),
            spider_arguments=json.loads(self.spider_arguments).get(source), today=self.as_of(),
        )

    def vocabulary(self) -> Vocabulary:
        """The bundled teams and aliases, extended by teams.csv/team_aliases.csv in the data directory."""
        return Vocabulary.load([self.directory()])

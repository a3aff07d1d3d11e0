"""football-data.co.uk: the season CSV of a division, and the upcoming fixtures with pre-match odds."""

from __future__ import annotations

import csv
import io

import scrapy

from football_pipeline.ingestion import football_data
from football_pipeline.ingestion.files import FOOTBALL_DATA, SourceFileError
from football_pipeline.scraping.spiders.base import FootballSpider

FIXTURES_REQUIRED = football_data.FIXTURE_COLUMNS


class FootballDataSpider(FootballSpider):
    """`scrapy crawl football_data -a competition=E0 -a season=2023-2024 [-a fixtures=true]`"""

    name = "football_data"
    source = FOOTBALL_DATA
    base_url_setting = "FOOTBALL_DATA_BASE_URL"

    def __init__(self, competition: str = "", season: str = "", fixtures: str = "false", **kwargs):
        super().__init__(competition, season, fixtures=fixtures, **kwargs)
        self.fixtures = fixtures.lower() in ("1", "true", "yes")

    @property
    def relative_path(self) -> str:
        return f"football-data/{self.competition.competition_id}/{self.season.football_data_code}.csv"

    async def start(self):
        code, division = self.season.football_data_code, self.competition.competition_id
        yield scrapy.Request(self.url(f"/mmz4281/{code}/{division}.csv"), callback=self.parse_season,
                             errback=self.failed)
        if self.fixtures:
            yield scrapy.Request(self.url("/fixtures.csv"), callback=self.parse_fixtures, errback=self.failed)

    def parse_season(self, response: scrapy.http.Response):
        try:
            parsed = football_data.parse(response.body, path=response.url,
                                         competition_id=self.competition.competition_id, season=self.season)
        except SourceFileError as error:
            kind = "drift" if "missing required column" in error.reason else "parse_error"
            yield self.problem(response.url, kind, error.reason)
            return
        if parsed.file_problems:
            yield self.problem(response.url, "parse_error", "; ".join(parsed.file_problems))
            return
        if parsed.info.get("unmapped_columns"):
            # New bookmakers appear every few seasons: keep the file, report the columns.
            yield self.problem(response.url, "drift", "columns the parser does not know (kept, not parsed)",
                               list(parsed.info["unmapped_columns"]))
        yield self.file_item(self.relative_path, response)

    def parse_fixtures(self, response: scrapy.http.Response):
        text = response.body.decode("utf-8-sig", errors="replace")
        header = next(csv.reader(io.StringIO(text)), [])
        missing = [c for c in FIXTURES_REQUIRED if c not in header]
        if missing:
            yield self.problem(response.url, "drift", f"fixtures.csv lacks column(s) {missing}", header[:20])
            return
        yield self.file_item("football-data/fixtures.csv", response)

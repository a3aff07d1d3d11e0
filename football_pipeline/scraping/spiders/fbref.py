"""FBref: a competition's "Scores & Fixtures" page and its match reports (line-ups, team stats).

FBref lost its xG data in January 2026 (xG comes from Understat); it is the source for schedules,
line-ups and match statistics. It bans clients for a day past 10 requests a minute, so this spider
waits 6.5 s between requests (DOMAIN_MIN_INTERVAL and download_delay) whatever AutoThrottle thinks.
"""

from __future__ import annotations

import re
from pathlib import Path

import scrapy

from football_pipeline.ingestion import fbref
from football_pipeline.ingestion.files import SourceFileError
from football_pipeline.scraping.spiders.base import FootballSpider

SLUGS = {"E0": "Premier-League", "E1": "Championship", "SP1": "La-Liga", "D1": "Bundesliga", "I1": "Serie-A",
         "F1": "Ligue-1", "N1": "Eredivisie"}
MATCH_ID = re.compile(r"/en/matches/([0-9a-f]{8})/")


class FbrefSpider(FootballSpider):
    """`scrapy crawl fbref -a competition=SP1 -a season=2023-2024 [-a match_reports=none|new|all|first:N|ids:a,b]`"""

    name = "fbref"
    source = fbref.FBREF
    base_url_setting = "FBREF_BASE_URL"
    custom_settings = {"RANDOMIZE_DOWNLOAD_DELAY": False, "CONCURRENT_REQUESTS_PER_DOMAIN": 1}

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        # AutoThrottle never goes below the spider's download_delay.
        spider.download_delay = crawler.settings.getfloat("FBREF_MIN_DELAY")
        return spider

    def __init__(self, competition: str = "", season: str = "", match_reports: str = "new", **kwargs):
        super().__init__(competition, season, match_reports=match_reports, **kwargs)
        if self.competition.fbref_comp_id is None:
            raise ValueError(f"no FBref competition id for {self.competition.competition_id}")
        self.match_reports = match_reports

    @property
    def folder(self) -> str:
        return f"fbref/{self.competition.competition_id}/{self.season.key}"

    async def start(self):
        season, comp = self.season.key, self.competition.fbref_comp_id
        slug = SLUGS[self.competition.competition_id]
        yield scrapy.Request(self.url(f"/en/comps/{comp}/{season}/schedule/{season}-{slug}-Scores-and-Fixtures"),
                             callback=self.parse_schedule, errback=self.failed)

    def parse_schedule(self, response: scrapy.http.Response):
        expected = fbref.schedule_table_id(self.competition.competition_id, self.season)
        drift = fbref.structure_drift(fbref.page_tables(response.body), expected, fbref.SCHEDULE_EXPECTED_COLUMNS)
        try:
            parsed = fbref.parse_schedule(response.body, path=response.url,
                                          competition_id=self.competition.competition_id, season=self.season)
        except SourceFileError as error:
            yield self.problem(response.url, "drift" if drift else "parse_error", error.reason, drift)
            return
        if parsed.file_problems:
            yield self.problem(response.url, "parse_error", "; ".join(parsed.file_problems))
            return
        if drift:
            yield self.problem(response.url, "drift", "schedule page structure changed (parsed anyway)", drift)
        yield self.file_item(f"{self.folder}/schedule.html", response)
        yield from self.report_requests(parsed.matches)

    def report_requests(self, matches):
        played = matches[(matches["status"] == "completed") & matches["fbref_match_id"].notna()]
        data_dir = Path(self.settings["DATA_DIR"])
        have = {p.stem for p in (data_dir / self.folder / "matches").glob("*.html")}
        ids = self.select(played["fbref_match_id"].tolist(), self.match_reports, have)
        for match_id in ids:
            yield scrapy.Request(self.url(f"/en/matches/{match_id}/"), callback=self.parse_match_report,
                                 cb_kwargs={"match_id": match_id}, errback=self.failed)

    def parse_match_report(self, response: scrapy.http.Response, match_id: str):
        if not response.body.rstrip().endswith(b"</html>"):
            yield self.problem(response.url, "parse_error", "page does not end with </html>: truncated download?")
            return
        try:
            fbref.parse_match_report(response.body, path=response.url)
        except SourceFileError as error:
            yield self.problem(response.url, "drift", error.reason)
            return
        yield self.file_item(f"{self.folder}/matches/{match_id}.html", response)

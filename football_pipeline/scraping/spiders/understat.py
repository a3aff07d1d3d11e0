"""Understat: matches with xG (`getLeagueData`) and shots (`getMatchData`), the JSON endpoints the
site's own pages call since December 2025, requested as the site requests them (XMLHttpRequest).
When an endpoint fails or changes, the older pages that embed `JSON.parse('...')` are the fallback."""

from __future__ import annotations

import json
from pathlib import Path

import scrapy

from football_pipeline.ingestion import understat, understat_pages
from football_pipeline.ingestion.files import UNDERSTAT, SourceFileError
from football_pipeline.scraping.spiders.base import FootballSpider


class UnderstatSpider(FootballSpider):
    """`scrapy crawl understat -a competition=E0 -a season=2023-2024 [-a shots=none|new|all|first:N|ids:a,b]`"""

    name = "understat"
    source = UNDERSTAT
    base_url_setting = "UNDERSTAT_BASE_URL"

    def __init__(self, competition: str = "", season: str = "", shots: str = "none", **kwargs):
        super().__init__(competition, season, shots=shots, **kwargs)
        if self.competition.understat_league is None:
            raise ValueError(f"Understat does not cover {self.competition.competition_id}")
        self.league = self.competition.understat_league
        self.shots = shots

    @property
    def relative_path(self) -> str:
        return f"understat/{self.league}/{self.season.understat_year}.json"

    def xhr(self, path: str, callback, referer: str, **kwargs) -> scrapy.Request:
        return scrapy.Request(self.url(path), callback=callback, headers={
            "X-Requested-With": "XMLHttpRequest", "Referer": self.url(referer),
            "Accept": "application/json, text/javascript, */*; q=0.01"}, **kwargs)

    async def start(self):
        year = self.season.understat_year
        yield self.xhr(f"/getLeagueData/{self.league}/{year}", self.parse_league, f"/league/{self.league}/{year}",
                       errback=lambda failure: self.failed(failure, self.league_page))

    def league_page(self):
        yield scrapy.Request(self.url(f"/league/{self.league}/{self.season.understat_year}"),
                             callback=self.parse_league_page, errback=self.failed)

    def parse_league(self, response: scrapy.http.Response):
        try:
            document = json.loads(response.body)
        except ValueError as error:
            yield self.problem(response.url, "parse_error", f"not JSON ({error}); falling back to the league page")
            yield from self.league_page()
            return
        drift = understat_pages.league_drift(document)
        if drift:
            yield self.problem(response.url, "drift", "getLeagueData layout changed; falling back to the "
                                                      "league page", drift)
            yield from self.league_page()
            return
        yield from self.accept_league(response, response.body, "live")

    def parse_league_page(self, response: scrapy.http.Response):
        try:
            body = understat_pages.league_page_to_dates(response.body, path=response.url)
        except SourceFileError as error:
            yield self.problem(response.url, "drift", error.reason)
            return
        yield from self.accept_league(response, body, "fallback:league page")

    def accept_league(self, response: scrapy.http.Response, body: bytes, via: str):
        try:
            parsed = understat.parse(body, path=response.url, competition_id=self.competition.competition_id,
                                     season=self.season)
        except SourceFileError as error:
            yield self.problem(response.url, "parse_error", error.reason)
            return
        yield self.file_item(self.relative_path, response, via=via, body=body)
        played = parsed.matches.loc[parsed.matches["is_result"], "understat_id"].tolist()
        folder = Path(self.settings["DATA_DIR"]) / f"understat/{self.league}/{self.season.understat_year}/matches"
        have = {p.stem for p in folder.glob("*.*")}
        for match_id in self.select(played, self.shots, have):
            yield self.xhr(f"/getMatchData/{match_id}", self.parse_match, f"/match/{match_id}",
                           cb_kwargs={"match_id": match_id},
                           errback=lambda failure, m=match_id: self.failed(failure, lambda: self.match_page(m)))

    def match_page(self, match_id: str):
        yield scrapy.Request(self.url(f"/match/{match_id}"), callback=self.parse_match,
                             cb_kwargs={"match_id": match_id, "via": "fallback:match page"}, errback=self.failed)

    def parse_match(self, response: scrapy.http.Response, match_id: str, via: str = "live"):
        try:
            shots, rejected = understat_pages.parse_shots(response.body, path=response.url)
        except SourceFileError as error:
            yield self.problem(response.url, "drift", error.reason)
            if via == "live":
                yield from self.match_page(match_id)
            return
        if rejected:
            yield self.problem(response.url, "parse_error", f"{len(rejected)} shots rejected",
                               [r.reason for r in rejected[:10]])
        suffix = "json" if via == "live" else "html"
        relative = f"understat/{self.league}/{self.season.understat_year}/matches/{match_id}.{suffix}"
        yield self.file_item(relative, response, via=via)

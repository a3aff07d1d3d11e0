"""What every spider shares: partition arguments, site roots from settings, problem reporting."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from football_pipeline import __version__
from football_pipeline.common import competitions
from football_pipeline.common.seasons import Season
from football_pipeline.scraping.items import ProblemItem, SourceFileItem
from football_pipeline.scraping.middlewares import BlockedError


class FootballSpider(scrapy.Spider):
    source: str = ""
    base_url_setting: str = ""

    def __init__(self, competition: str = "", season: str = "", **kwargs):
        super().__init__(**kwargs)
        if not competition or not season:
            raise ValueError(f"{self.name}: pass -a competition=<E0|SP1|...> -a season=<2023-2024>")
        self.competition = competitions.get(competition)
        self.season = Season.from_key(season)
        self.arguments = {"competition": competition, "season": season, **{k: str(v) for k, v in kwargs.items()}}
        self.crawl_files: list[dict] = []
        self.crawl_problems: list[dict] = []

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        # Sites can reach whoever runs the crawl: the user agent carries SCRAPER_CONTACT.
        spider.user_agent = f"football-pipeline/{__version__} (+{crawler.settings['SCRAPER_CONTACT']})"
        spider.base_url = crawler.settings[cls.base_url_setting].rstrip("/")
        spider.allowed_domains = [urlsplit(spider.base_url).hostname]
        return spider

    @staticmethod
    def select(ids: list[str], choice: str, already: set[str] = frozenset()) -> list[str]:
        """Which of `ids` to fetch: none | all | new (not in `already`) | first:N | ids:a,b,c."""
        if choice == "none":
            return []
        if choice == "all":
            return ids
        if choice == "new":
            return [i for i in ids if i not in already]
        if choice.startswith("first:"):
            return ids[: int(choice.split(":", 1)[1])]
        if choice.startswith("ids:"):
            wanted = choice.split(":", 1)[1].split(",")
            return [i for i in ids if i in wanted]
        raise ValueError(f"choose none, all, new, first:N or ids:a,b (got {choice!r})")

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def file_item(self, relative_path: str, response: scrapy.http.Response, via: str = "live",
                  body: bytes | None = None) -> SourceFileItem:
        body = response.body if body is None else body
        return SourceFileItem(
            source=self.source, relative_path=relative_path, url=response.url, body=body,
            sha256=hashlib.sha256(body).hexdigest(),
            fetched_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), via=via,
        )

    def problem(self, url: str, kind: str, reason: str, details: list[str] | None = None) -> ProblemItem:
        self.logger.error(f"{kind}: {url}: {reason}")
        return ProblemItem(self.source, url, kind, reason, list(details or []))

    def failed(self, failure: Failure, fallback: Callable[[], Iterator[scrapy.Request]] | None = None):
        """Errback: report why a request produced nothing, then try the fallback if there is one."""
        request = failure.request
        if failure.check(BlockedError):
            yield self.problem(request.url, "blocked", str(failure.value))
        elif failure.check(HttpError):
            response = failure.value.response
            reason = response.meta.get("gave_up") or f"HTTP {response.status}"
            yield self.problem(request.url, "http_error", reason)
        elif failure.check(IgnoreRequest):
            yield self.problem(request.url, "ignored", str(failure.value) or "ignored (robots.txt?)")
        else:
            yield self.problem(request.url, "network", f"{failure.type.__name__}: {failure.value}")
        if fallback is not None:
            yield from fallback()

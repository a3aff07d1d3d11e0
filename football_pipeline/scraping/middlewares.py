"""Downloader middlewares: replay, politeness with retries, block detection, raw archive.

Order (lower numbers see requests first, responses last):
    60  ReplayMiddleware          replay mode: answer from the archive, never the network
   550  PoliteRetryMiddleware     per-domain minimum interval; retries 429/5xx with exponential
                                  backoff, honouring Retry-After and pausing the whole domain
   570  BlockDetectionMiddleware  a 403 or a Cloudflare challenge is "blocked": never parsed
   950  ArchiveMiddleware         every network response, raw, before anything else touches it
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import time
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes

from football_pipeline.ingestion.understat_pages import is_blocked_page
from football_pipeline.scraping.archive import ResponseArchive


class BlockedError(IgnoreRequest):
    """The site refused us (403, a challenge page): do not retry, do not parse, report it."""


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


class ReplayMiddleware:
    """In replay mode every request is answered from the archive (latest 200 response for the URL)."""

    def __init__(self, archive_dir: str):
        self.archive = ResponseArchive(archive_dir)

    @classmethod
    def from_crawler(cls, crawler):
        if crawler.settings.get("SOURCE_MODE") != "replay":
            raise NotConfigured
        return cls(crawler.settings["ARCHIVE_DIR"])

    def process_request(self, request: Request, spider: Spider) -> Response:
        archived = self.archive.latest(request.url, request.method)
        if archived is None:
            raise IgnoreRequest(f"replay: no archived 200 response for {request.url}")
        headers = Headers({k: v for k, v in archived.headers.items()})
        cls = responsetypes.from_args(headers=headers, url=archived.url, body=archived.body)
        return cls(url=archived.url, status=archived.status, headers=headers, body=archived.body,
                   request=request, flags=["replayed"])


class PoliteRetryMiddleware:
    """Minimum interval per domain, and retries with backoff that pause the whole domain.

    DOMAIN_MIN_INTERVAL {host: seconds} is a hard floor between request starts to a host (FBref bans
    for a day past 10 requests a minute). A 429 or 5xx is retried after max(Retry-After, base * 2^n)
    seconds, up to RETRY_TIMES retries; meanwhile no other request goes to that host.
    """

    def __init__(self, settings, stats):
        if not settings.getbool("RETRY_ENABLED"):
            raise NotConfigured
        self.max_retries = settings.getint("RETRY_TIMES")
        self.codes = {int(code) for code in settings.getlist("RETRY_HTTP_CODES")}
        self.base = settings.getfloat("RETRY_BACKOFF_BASE")
        self.cap = settings.getfloat("RETRY_BACKOFF_MAX")
        self.retry_after_max = settings.getfloat("RETRY_AFTER_MAX")
        self.intervals = {host: float(s) for host, s in (settings.getdict("DOMAIN_MIN_INTERVAL") or {}).items()}
        self.next_allowed: dict[str, float] = {}
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings, crawler.stats)

    async def process_request(self, request: Request, spider: Spider) -> None:
        host = _host(request.url)
        now = time.monotonic()
        start = max(now, self.next_allowed.get(host, 0.0))
        # Reserve this start time before sleeping, so concurrent requests queue behind it.
        self.next_allowed[host] = start + self.intervals.get(host, 0.0)
        if start > now:
            await asyncio.sleep(start - now)
        request.meta["fetch_started"] = time.time()

    async def process_response(self, request: Request, response: Response, spider: Spider):
        if response.status not in self.codes or request.meta.get("dont_retry"):
            return response
        attempt = request.meta.get("retry_times", 0) + 1
        reason = f"HTTP {response.status}"
        if attempt > self.max_retries:
            self.stats.inc_value("football/retry/gave_up")
            spider.logger.error(f"gave up on {request.url} after {attempt} attempts: {reason}")
            request.meta["gave_up"] = f"gave up after {attempt} attempts: last answer {reason}"
            return response
        wait = min(self.cap, self.base * 2 ** (attempt - 1))
        asked = _retry_after(response)
        if asked is not None:
            if asked > self.retry_after_max:
                request.meta["gave_up"] = (f"{reason} asked to wait {asked:.0f} s (Retry-After), over "
                                           f"RETRY_AFTER_MAX {self.retry_after_max:.0f} s")
                return response
            wait = max(wait, asked)
        host = _host(request.url)
        self.next_allowed[host] = max(self.next_allowed.get(host, 0.0), time.monotonic() + wait)
        self.stats.inc_value(f"football/retry/{response.status}")
        spider.logger.warning(f"{reason} from {request.url}: retry {attempt}/{self.max_retries} in {wait:.1f} s")
        retry = request.copy()
        retry.meta["retry_times"] = attempt
        retry.dont_filter = True
        retry.priority = request.priority + 1
        return retry


def _retry_after(response: Response) -> float | None:
    value = response.headers.get(b"Retry-After")
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


class BlockDetectionMiddleware:
    """403s and challenge pages are blocks: raised as BlockedError so no spider ever parses them."""

    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_response(self, request: Request, response: Response, spider: Spider) -> Response:
        page = is_blocked_page(response.body) if response.body else None
        if response.status in (401, 403, 451):
            reason = f"HTTP {response.status}" + (f": {page}" if page else "")
        elif page and "challenge" in page.lower():
            reason = f"HTTP {response.status}: {page}"
        elif page and page != "empty body" and response.status < 300:
            reason = f"HTTP {response.status}: {page}"
        else:  # a plain 429 or 5xx is for the retry middleware
            return response
        self.stats.inc_value("football/blocked")
        raise BlockedError(f"blocked by {_host(request.url)} at {request.url}: {reason}")


class ArchiveMiddleware:
    """Stores every response that came from the network (not cache, not replay) before parsing."""

    def __init__(self, archive_dir: str, stats):
        self.archive = ResponseArchive(archive_dir)
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        archive_dir = crawler.settings.get("ARCHIVE_DIR")
        if not archive_dir:
            raise NotConfigured
        return cls(archive_dir, crawler.stats)

    def process_response(self, request: Request, response: Response, spider: Spider) -> Response:
        if "cached" in response.flags or "replayed" in response.flags:
            return response
        headers = {key.decode("latin-1"): [v.decode("latin-1") for v in values]
                   for key, values in response.headers.items()}
        digest = self.archive.store(request.url, request.method, response.status, headers, response.body,
                                    spider=spider.name)
        request.meta["archived_sha256"] = digest
        self.stats.inc_value("football/archived")
        return response

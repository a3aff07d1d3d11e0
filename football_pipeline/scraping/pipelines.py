"""Item pipelines (one concern each) and the crawl report extension."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from scrapy import Spider, signals

from football_pipeline.scraping.items import ProblemItem, SourceFileItem


class DataDirectoryPipeline:
    """Writes each good file into the data directory (atomically), in the bundled layout."""

    def __init__(self, crawler, data_dir: str):
        self.crawler = crawler
        self.data_dir = Path(data_dir)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler, crawler.settings["DATA_DIR"])

    def process_item(self, item):
        spider = self.crawler.spider
        if isinstance(item, SourceFileItem):
            target = self.data_dir / item.relative_path
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(target.name + ".tmp")
            temporary.write_bytes(item.body)
            temporary.replace(target)
            spider.crawl_files.append({"path": item.relative_path, "url": item.url, "sha256": item.sha256,
                                       "fetched_at": item.fetched_at, "via": item.via})
        elif isinstance(item, ProblemItem):
            spider.crawl_problems.append({"url": item.url, "kind": item.kind, "reason": item.reason,
                                          "details": item.details})
        return item


class CrawlReport:
    """At the end of a crawl, writes what happened to CRAWL_REPORT_PATH (JSON) for the caller."""

    def __init__(self, crawler, path: str):
        self.crawler = crawler
        self.path = path
        self.started = dt.datetime.now(dt.timezone.utc)

    @classmethod
    def from_crawler(cls, crawler):
        extension = cls(crawler, crawler.settings.get("CRAWL_REPORT_PATH", ""))
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if not self.path:
            return
        stats = self.crawler.stats.get_stats()
        report = {
            "spider": spider.name,
            "arguments": getattr(spider, "arguments", {}),
            "mode": self.crawler.settings.get("SOURCE_MODE"),
            "started_at": self.started.isoformat(),
            "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "finish_reason": reason,
            "files": getattr(spider, "crawl_files", []),
            "problems": getattr(spider, "crawl_problems", []),
            "requests": stats.get("downloader/request_count", 0),
            "responses_by_status": {k.rsplit("/", 1)[-1]: v for k, v in stats.items()
                                    if k.startswith("downloader/response_status_count/")},
            "archived": stats.get("football/archived", 0),
            "retries": {k.rsplit("/", 1)[-1]: v for k, v in stats.items() if k.startswith("football/retry/")},
        }
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        Path(self.path).write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")

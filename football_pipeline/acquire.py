"""Getting a partition's source file: bundled/manual, live, or replayed from the raw archive.

The fallback chain (the seed's primary, secondary, tertiary, fallback): a fresh fetch; else the last
good fetched copy (a file is only written after it parsed cleanly, so a failed fetch never replaces
it); else the file in the manual data directory. Each step's failures are reported, not raised.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from football_pipeline import settings
from football_pipeline.common.seasons import Season
from football_pipeline.ingestion import files
from football_pipeline.ingestion.files import FBREF, FOOTBALL_DATA, UNDERSTAT, SourceFile
from football_pipeline.scraping.runner import CrawlReport, run_crawl

MODES = ("bundled", "live", "replay")
SPIDERS: dict[str, tuple[str, dict[str, str]]] = {
    FOOTBALL_DATA: ("football_data", {}),
    UNDERSTAT: ("understat", {"shots": "new"}),
    FBREF: ("fbref", {"match_reports": "new"}),
}


@dataclass
class Acquired:
    source: str
    file: SourceFile | None
    data_dir: Path | None  # the directory `file` lives in (for paths shown to users)
    via: str  # bundled | live | replay | last good copy (...) | manual file | none
    report: CrawlReport | None = None
    fetch_problems: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)

    @property
    def fresh(self) -> bool:
        return self.via in MODES


def acquire(
    source: str, competition_id: str, season: Season, *, mode: str, data_dir: Path, scraped_dir: Path,
    archive_dir: Path, scrapy_settings: dict[str, object] | None = None, timeout: float = 3600,
    spider_arguments: dict[str, str] | None = None, today: dt.date | None = None,
) -> Acquired:
    if mode not in MODES:
        raise ValueError(f"source mode must be one of {MODES}, not {mode!r}")
    manual = files.locate(source, data_dir, competition_id, season)
    if mode == "bundled":
        return Acquired(source, manual, data_dir, "bundled" if manual else "none")
    if not _covered(source, competition_id):
        return Acquired(source, manual, data_dir, "manual file" if manual else "none")

    spider, extra = SPIDERS[source]
    if source == FOOTBALL_DATA and season == Season.containing(today or settings.today()):
        # The current season's partition also fetches football-data's fixtures feed (coming matches with
        # pre-match prices), which joins the season file as scheduled matches.
        extra = {**extra, "fixtures": "true"}
    arguments = {"competition": competition_id, "season": season.key, **extra, **(spider_arguments or {})}
    report = run_crawl(spider, arguments,
                       data_dir=scraped_dir, archive_dir=archive_dir, mode=mode, settings=scrapy_settings,
                       timeout=timeout)
    problems = [f"{p['kind']}: {p['url']}: {p['reason']}" for p in report.problems if p["kind"] != "drift"]
    drift = [f"{p['url']}: {p['reason']}" + (f" ({'; '.join(p['details'][:10])})" if p["details"] else "")
             for p in report.problems if p["kind"] == "drift"]
    scraped = files.locate(source, scraped_dir, competition_id, season)
    relative = scraped.relative_to(scraped_dir) if scraped else None
    if scraped and relative in report.fetched:
        return Acquired(source, scraped, scraped_dir, mode, report, problems, drift)
    if scraped:
        when = dt.datetime.fromtimestamp(scraped.path.stat().st_mtime, dt.timezone.utc).isoformat(timespec="seconds")
        return Acquired(source, scraped, scraped_dir, f"last good copy (fetched {when})", report, problems, drift)
    if manual:
        return Acquired(source, manual, data_dir, "manual file", report, problems, drift)
    return Acquired(source, None, None, "none", report, problems, drift)


def _covered(source: str, competition_id: str) -> bool:
    """Whether the site has this competition at all (Understat has five leagues, not E1 or N1)."""
    finder = {FOOTBALL_DATA: files.football_data_file, UNDERSTAT: files.understat_file, FBREF: files.fbref_file}
    return finder[source](Path("."), competition_id, Season(2000)) is not None

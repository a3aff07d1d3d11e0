"""Run one crawl in a subprocess (Twisted's reactor cannot be restarted in one process) and read its
report. Used by the Dagster ingestion assets in live and replay modes; imports no Dagster itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SETTINGS_MODULE = "football_pipeline.scraping.settings"


@dataclass
class CrawlReport:
    spider: str
    arguments: dict[str, str]
    mode: str
    returncode: int
    seconds: float
    files: list[dict] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)
    requests: int = 0
    responses_by_status: dict[str, int] = field(default_factory=dict)
    archived: int = 0
    retries: dict[str, int] = field(default_factory=dict)
    log_tail: str = ""

    def problems_of(self, *kinds: str) -> list[dict]:
        return [p for p in self.problems if p["kind"] in kinds]

    @property
    def fetched(self) -> set[str]:
        return {f["path"] for f in self.files}

    def summary(self) -> str:
        parts = [f"{self.spider} {self.arguments.get('competition')} {self.arguments.get('season')} "
                 f"({self.mode}): {len(self.files)} files, {self.requests} requests"]
        parts += [f"{p['kind']}: {p['url']}: {p['reason']}" for p in self.problems[:5]]
        return "; ".join(parts)


def run_crawl(
    spider: str, arguments: dict[str, str], *, data_dir: Path, archive_dir: Path, mode: str = "live",
    settings: dict[str, object] | None = None, timeout: float = 3600,
) -> CrawlReport:
    """`scrapy crawl <spider> -a k=v ...` in a subprocess; the report says what it fetched and what failed."""
    if mode not in ("live", "replay"):
        raise ValueError(f"crawl mode must be live or replay, not {mode!r}")
    overrides: dict[str, object] = {"DATA_DIR": str(data_dir), "ARCHIVE_DIR": str(archive_dir), "SOURCE_MODE": mode}
    if mode == "replay":
        overrides["ROBOTSTXT_OBEY"] = False  # nothing goes to the network
    overrides.update(settings or {})
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="crawl-") as tmp:
        report_path = Path(tmp) / "report.json"
        overrides["CRAWL_REPORT_PATH"] = str(report_path)
        command = [sys.executable, "-m", "scrapy", "crawl", spider]
        for key, value in arguments.items():
            command += ["-a", f"{key}={value}"]
        for key, value in overrides.items():
            command += ["-s", f"{key}={json.dumps(value) if isinstance(value, dict | list) else value}"]
        environment = {**os.environ, "SCRAPY_SETTINGS_MODULE": SETTINGS_MODULE}
        try:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=environment,
                                       cwd=tmp)
            returncode, log = completed.returncode, completed.stderr
        except subprocess.TimeoutExpired as expired:
            returncode, log = -1, f"crawl timed out after {timeout:.0f} s\n{expired.stderr or ''}"
        seconds = time.perf_counter() - started
        report = CrawlReport(spider, arguments, mode, returncode, seconds, log_tail=log[-4000:])
        if not report_path.exists():
            report.problems.append({"url": "", "kind": "crash", "details": [],
                                    "reason": f"scrapy exited {returncode} without a report: {log[-600:].strip()}"})
            return report
        data = json.loads(report_path.read_text(encoding="utf-8"))
    for key in ("files", "problems", "requests", "responses_by_status", "archived", "retries"):
        setattr(report, key, data.get(key, getattr(report, key)))
    return report

"""The FBref spider: schedule page and match reports, at FBref's pace, with drift detection."""

from __future__ import annotations

from football_pipeline.scraping.archive import ResponseArchive
from football_pipeline_tests.conftest import fbref_page
from football_pipeline_tests.scraping.server import Reply

SCHEDULE = fbref_page("schedule_ESP-La_Liga_2324.html")
REPORT = fbref_page("match_e8867e6b.html")
SCHEDULE_PATH = "/en/comps/12/2023-2024/schedule/2023-2024-La-Liga-Scores-and-Fixtures"
REPORT_PATH = "/en/matches/e8867e6b/"
FOLDER = "fbref/SP1/2023-2024"
HTML = {"Content-Type": "text/html; charset=utf-8"}


def test_schedule_and_match_report_at_fbrefs_pace(site, crawl):
    site.route(SCHEDULE_PATH, Reply(200, SCHEDULE, HTML))
    site.route(REPORT_PATH, Reply(200, REPORT, HTML))
    report = crawl("fbref", competition="SP1", season="2023-2024", match_reports="ids:e8867e6b",
                   settings={"FBREF_MIN_DELAY": 1.0, "DOMAIN_MIN_INTERVAL": {"127.0.0.1": 1.0}})
    assert report.problems == []
    assert (crawl.data_dir / FOLDER / "schedule.html").read_bytes() == SCHEDULE
    assert (crawl.data_dir / FOLDER / "matches/e8867e6b.html").read_bytes() == REPORT
    starts = [s.at for s in site.seen]
    assert len(starts) == 3 and all(b - a >= 0.95 for a, b in zip(starts, starts[1:], strict=False))


def test_cloudflare_challenge_is_blocked(site, crawl):
    challenge = (b'<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title></head>'
                 b'<body><script src="/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1"></script></body></html>')
    site.route(SCHEDULE_PATH, Reply(403, challenge, HTML))
    report = crawl("fbref", competition="SP1", season="2023-2024")
    (problem,) = report.problems
    assert problem["kind"] == "blocked" and "Cloudflare" in problem["reason"]
    assert not (crawl.data_dir / FOLDER).exists()


def test_renamed_table_is_drift_and_the_raw_page_is_kept(site, crawl):
    renamed = SCHEDULE.replace(b"sched_2023-2024_12_1", b"fixtures_2023-2024_12")
    site.route(SCHEDULE_PATH, Reply(200, renamed, HTML))
    report = crawl("fbref", competition="SP1", season="2023-2024")
    (problem,) = report.problems
    assert problem["kind"] == "drift" and "sched_2023-2024_12_1" in problem["reason"]
    assert any("sched_2023-2024_12_1" in d for d in problem["details"])
    assert not (crawl.data_dir / FOLDER / "schedule.html").exists()
    assert ResponseArchive(crawl.archive_dir).latest(site.url + SCHEDULE_PATH).body == renamed


def test_truncated_page_never_becomes_a_file(site, crawl):
    site.route(SCHEDULE_PATH, Reply(200, SCHEDULE[: len(SCHEDULE) // 3], HTML))
    report = crawl("fbref", competition="SP1", season="2023-2024", match_reports="none")
    (problem,) = report.problems
    assert problem["kind"] == "parse_error" and "truncated" in problem["reason"]
    assert problem["url"].endswith(SCHEDULE_PATH)
    assert report.files == [] and not (crawl.data_dir / FOLDER / "schedule.html").exists()

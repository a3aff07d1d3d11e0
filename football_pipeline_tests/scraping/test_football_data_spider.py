"""The football-data.co.uk spider through Scrapy's downloader, against recorded real CSVs."""

from __future__ import annotations

import hashlib

from football_pipeline.scraping.archive import ResponseArchive
from football_pipeline.settings import BUNDLED_DATA_DIR
from football_pipeline_tests.scraping.server import Reply

CSV = (BUNDLED_DATA_DIR / "football-data/E0/2223.csv").read_bytes()
PATH = "/mmz4281/2223/E0.csv"
TARGET = "football-data/E0/2223.csv"


def test_season_file_is_fetched_archived_and_written(site, crawl):
    site.route(PATH, Reply(200, CSV, {"Content-Type": "text/csv"}))
    report = crawl("football_data", competition="E0", season="2022-2023")
    assert report.returncode == 0 and report.problems == []
    assert (crawl.data_dir / TARGET).read_bytes() == CSV
    assert report.fetched == {TARGET}
    (request,) = site.hits(PATH)
    assert "football-pipeline" in request.headers["User-Agent"]
    assert site.hits("/robots.txt"), "robots.txt is fetched and obeyed"
    archive = ResponseArchive(crawl.archive_dir)
    archived = archive.latest(site.url + PATH)
    assert archived.body == CSV and archived.sha256 == hashlib.sha256(CSV).hexdigest() and archived.status == 200


def test_429_then_success_waits_as_told(site, crawl):
    site.route(PATH, Reply(429, b"Too Many Requests", {"Retry-After": "2"}), Reply(200, CSV))
    report = crawl("football_data", competition="E0", season="2022-2023")
    first, second = site.hits(PATH)
    assert second.at - first.at >= 2.0
    assert report.problems == [] and (crawl.data_dir / TARGET).read_bytes() == CSV
    assert report.retries == {"429": 1}
    statuses = [status for _, status, _ in ResponseArchive(crawl.archive_dir).history(site.url + PATH)]
    assert statuses == [429, 200]


def test_persistent_503_fails_clearly_after_the_retry_budget(site, crawl):
    site.route(PATH, Reply(503, b"<html><title>503 Service Unavailable</title></html>", {"Content-Type": "text/html"}))
    report = crawl("football_data", competition="E0", season="2022-2023")
    (problem,) = report.problems
    assert problem["kind"] == "http_error" and "gave up after 3 attempts" in problem["reason"]
    assert problem["url"].endswith(PATH)
    assert len(site.hits(PATH)) == 3
    assert not (crawl.data_dir / TARGET).exists()
    hits = site.hits(PATH)
    assert hits[2].at - hits[1].at >= 0.4 > hits[1].at - hits[0].at - 0.2  # exponential: 0.2 s, then 0.4 s
    assert len(ResponseArchive(crawl.archive_dir).history(site.url + PATH)) == 3


def test_truncated_file_is_reported_and_the_previous_file_kept(site, crawl):
    previous = CSV
    (crawl.data_dir / TARGET).parent.mkdir(parents=True)
    (crawl.data_dir / TARGET).write_bytes(previous)
    site.route(PATH, Reply(200, CSV[: len(CSV) // 2]))
    report = crawl("football_data", competition="E0", season="2022-2023")
    (problem,) = report.problems
    assert problem["kind"] == "parse_error" and "truncated" in problem["reason"]
    assert (crawl.data_dir / TARGET).read_bytes() == previous
    assert ResponseArchive(crawl.archive_dir).latest(site.url + PATH).body == CSV[: len(CSV) // 2]


def test_cloudflare_challenge_is_blocked_not_parsed(site, crawl):
    challenge = (b'<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title></head><body>'
                 b'<script src="/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1?ray=8f1"></script>'
                 b"</body></html>")
    site.route(PATH, Reply(403, challenge, {"Content-Type": "text/html", "cf-mitigated": "challenge"}))
    report = crawl("football_data", competition="E0", season="2022-2023")
    (problem,) = report.problems
    assert problem["kind"] == "blocked" and "HTTP 403" in problem["reason"]
    assert not (crawl.data_dir / TARGET).exists()
    assert ResponseArchive(crawl.archive_dir).latest(site.url + PATH, status=403).body == challenge


def test_renamed_column_is_drift(site, crawl):
    site.route(PATH, Reply(200, CSV.replace(b"HomeTeam", b"Home", 1)))
    report = crawl("football_data", competition="E0", season="2022-2023")
    (problem,) = report.problems
    assert problem["kind"] == "drift" and "HomeTeam" in problem["reason"]


def test_robots_txt_is_obeyed(site, crawl):
    site.robots = b"User-agent: *\nDisallow: /mmz4281/\n"
    site.route(PATH, Reply(200, CSV))
    report = crawl("football_data", competition="E0", season="2022-2023")
    assert not site.hits(PATH)
    (problem,) = report.problems
    assert problem["kind"] == "ignored" and "robots.txt" in problem["reason"]


def test_replay_serves_the_archive_without_the_network(site, crawl):
    site.route(PATH, Reply(200, CSV))
    crawl("football_data", competition="E0", season="2022-2023")
    (crawl.data_dir / TARGET).unlink()
    site.routes.clear()
    requests_before = len(site.seen)
    report = crawl("football_data", mode="replay", competition="E0", season="2022-2023")
    assert report.problems == [] and (crawl.data_dir / TARGET).read_bytes() == CSV
    assert len(site.seen) == requests_before


def test_cli_crawl_prints_what_it_did(site, tmp_path, monkeypatch, capsys):
    from football_pipeline import cli
    from football_pipeline.scraping import runner

    site.route(PATH, Reply(200, CSV))
    original = runner.run_crawl

    def with_site(*args, **kwargs):
        kwargs["settings"] = {"FOOTBALL_DATA_BASE_URL": site.url, "DOMAIN_MIN_INTERVAL": {"127.0.0.1": 0.05}}
        return original(*args, **kwargs)

    monkeypatch.setattr(runner, "run_crawl", with_site)
    code = cli.main(["crawl", "football-data", "--competition", "E0", "--season", "2022-2023",
                     "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0 and f"wrote {TARGET} (live)" in out and "responses archived" in out
    assert (tmp_path / "out" / TARGET).read_bytes() == CSV


def test_fixtures_feed_and_contact_in_the_user_agent(site, crawl):
    # football-data's fixtures.csv: upcoming matches of every division with pre-match odds. Built here from
    # the real 2022-23 header and three real rows with the results left out (no recorded fixtures.csv exists).
    header = CSV.decode().splitlines()[0].split(",")
    keep = [c for c in header if c not in ("FTHG", "FTAG", "FTR", "HTHG", "HTAG", "HTR")]
    rows = [dict(zip(header, line.split(","), strict=True)) for line in CSV.decode().splitlines()[1:4]]
    fixtures = "\r\n".join([",".join(keep)] + [",".join(r[c] for c in keep) for r in rows]).encode() + b"\r\n"
    site.route(PATH, Reply(200, CSV))
    site.route("/fixtures.csv", Reply(200, fixtures, {"Content-Type": "text/csv"}))
    report = crawl("football_data", competition="E0", season="2022-2023", fixtures="true",
                   settings={"SCRAPER_CONTACT": "mailto:data-team@example.org"})
    assert report.problems == []
    assert (crawl.data_dir / "football-data/fixtures.csv").read_bytes() == fixtures
    assert site.hits("/fixtures.csv")[0].headers["User-Agent"].endswith("(+mailto:data-team@example.org)")

    site.route("/fixtures.csv", Reply(200, fixtures.replace(b"HomeTeam", b"Home")))
    (crawl.data_dir / "football-data/fixtures.csv").unlink()
    report = crawl("football_data", competition="E0", season="2022-2023", fixtures="true")
    (problem,) = report.problems
    assert problem["kind"] == "drift" and "HomeTeam" in problem["reason"]

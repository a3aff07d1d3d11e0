"""The Understat spider: JSON endpoints first, the older embedded-JSON pages as the fallback."""

from __future__ import annotations

import json

from football_pipeline.common.seasons import Season
from football_pipeline.ingestion import understat
from football_pipeline.scraping.archive import ResponseArchive
from football_pipeline_tests.conftest import FIXTURES
from football_pipeline_tests.scraping.server import Reply

LEAGUE_JSON = (FIXTURES / "understat/league_ajax.json").read_bytes()
LEAGUE_PAGE = (FIXTURES / "understat/league_EPL_2020.html").read_bytes()
MATCH_JSON = (FIXTURES / "understat/match_ajax.json").read_bytes()
MATCH_PAGE = (FIXTURES / "understat/match_14717_crystal-palace_manchester-united_2021-03-03.html").read_bytes()
LEAGUE_PATH, MATCH_PATH = "/getLeagueData/EPL/2020", "/getMatchData/14717"
TARGET = "understat/EPL/2020.json"


def test_json_endpoints_requested_like_the_site(site, crawl):
    site.route(LEAGUE_PATH, Reply(200, LEAGUE_JSON, {"Content-Type": "application/json"}))
    site.route(MATCH_PATH, Reply(200, MATCH_JSON, {"Content-Type": "application/json"}))
    report = crawl("understat", competition="E0", season="2020-2021", shots="ids:14717")
    assert report.problems == []
    (league,) = site.hits(LEAGUE_PATH)
    assert league.headers["X-Requested-With"] == "XMLHttpRequest"
    assert league.headers["Referer"].endswith("/league/EPL/2020")
    assert (crawl.data_dir / TARGET).read_bytes() == LEAGUE_JSON
    assert (crawl.data_dir / "understat/EPL/2020/matches/14717.json").read_bytes() == MATCH_JSON
    assert site.hits(MATCH_PATH)[0].headers["X-Requested-With"] == "XMLHttpRequest"
    assert ResponseArchive(crawl.archive_dir).count() == 3  # robots.txt, league, match


def test_failing_endpoint_falls_back_to_the_league_page(site, crawl):
    site.route(LEAGUE_PATH, Reply(500, b"Internal Server Error"))
    site.route("/league/EPL/2020", Reply(200, LEAGUE_PAGE, {"Content-Type": "text/html"}))
    report = crawl("understat", competition="E0", season="2020-2021")
    (problem,) = report.problems
    assert problem["kind"] == "http_error" and "gave up after 3 attempts" in problem["reason"]
    (written,) = report.files
    assert written["via"] == "fallback:league page" and written["path"] == TARGET
    fallback = understat.parse((crawl.data_dir / TARGET).read_bytes(), path=TARGET, competition_id="E0",
                               season=Season(2020))
    endpoint = understat.parse(LEAGUE_JSON, path="league_ajax.json", competition_id="E0", season=Season(2020))
    key = ["understat_id", "home_goals", "away_goals", "home_xg", "away_xg"]
    assert fallback.matches[key].equals(endpoint.matches[key])


def test_changed_json_layout_is_drift_and_falls_back(site, crawl):
    changed = json.loads(LEAGUE_JSON)
    changed["fixtures"] = changed.pop("dates")
    site.route(LEAGUE_PATH, Reply(200, json.dumps(changed).encode(), {"Content-Type": "application/json"}))
    site.route("/league/EPL/2020", Reply(200, LEAGUE_PAGE, {"Content-Type": "text/html"}))
    report = crawl("understat", competition="E0", season="2020-2021")
    (problem,) = report.problems
    assert problem["kind"] == "drift"
    assert any("'dates' missing" in d for d in problem["details"])
    assert any("'fixtures'" in d for d in problem["details"])
    assert report.files[0]["via"] == "fallback:league page"
    archived = ResponseArchive(crawl.archive_dir).latest(site.url + LEAGUE_PATH)
    assert json.loads(archived.body) == changed


def test_blocked_match_endpoint_falls_back_to_the_match_page(site, crawl):
    challenge = b"<html><head><title>Just a moment...</title></head><body>cf-chl</body></html>"
    site.route(LEAGUE_PATH, Reply(200, LEAGUE_JSON, {"Content-Type": "application/json"}))
    site.route(MATCH_PATH, Reply(403, challenge, {"Content-Type": "text/html"}))
    site.route("/match/14717", Reply(200, MATCH_PAGE, {"Content-Type": "text/html"}))
    report = crawl("understat", competition="E0", season="2020-2021", shots="ids:14717")
    assert [p["kind"] for p in report.problems] == ["blocked"]
    assert (crawl.data_dir / "understat/EPL/2020/matches/14717.html").read_bytes() == MATCH_PAGE

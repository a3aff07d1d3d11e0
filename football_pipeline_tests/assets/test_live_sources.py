"""Live mode end to end: Dagster runs the spiders (subprocesses) against a local recorded site, falls back
to the last good copy when a source is blocked, and reports failures as checks, not crashed runs."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from football_pipeline import partitions
from football_pipeline.assets import ingestion, warehouse
from football_pipeline.resources import SourceFilesResource, SourceResultIOManager, WarehouseResource
from football_pipeline.settings import BUNDLED_DATA_DIR
from football_pipeline.warehouse import engine as engines
from football_pipeline_tests.conftest import TODAY
from football_pipeline_tests.scraping.conftest import FAST
from football_pipeline_tests.scraping.server import RecordedSite, Reply

FD_PATH, US_PATH = "/mmz4281/2223/E0.csv", "/getLeagueData/EPL/2022"
FD_BODY = (BUNDLED_DATA_DIR / "football-data/E0/2223.csv").read_bytes()
US_BODY = (BUNDLED_DATA_DIR / "understat/EPL/2022.json").read_bytes()
CHALLENGE = b"<html><head><title>Just a moment...</title></head><body>cf-chl</body></html>"
KEY = partitions.partition_key("E0", "2022-2023")
ASSETS = [ingestion.football_data_matches, ingestion.understat_matches, ingestion.fbref_matches, warehouse.teams,
          warehouse.partition_tables]


class Live:
    def __init__(self, site: RecordedSite, tmp: Path):
        self.site, self.scraped, self.url = site, tmp / "scraped", f"sqlite:///{tmp / 'warehouse.sqlite'}"
        settings = {**FAST, "FOOTBALL_DATA_BASE_URL": site.url, "UNDERSTAT_BASE_URL": site.url,
                    "FBREF_BASE_URL": site.url}
        self.resources = {
            "warehouse": WarehouseResource(url=self.url),
            "sources": SourceFilesResource(mode="live", data_dir=str(tmp / "manual"), scraped_dir=str(self.scraped),
                                           archive_dir=str(tmp / "archive"), scrapy_settings=json.dumps(settings),
                                           spider_arguments=json.dumps({"understat": {"shots": "none"}}),
                                           today=TODAY.isoformat()),
            "source_io_manager": SourceResultIOManager(base_dir=str(tmp / "io")),
        }
        self.instance = dg.DagsterInstance.ephemeral()
        dg.materialize([warehouse.teams], resources=self.resources, instance=self.instance)

    def run(self) -> tuple[dg.ExecuteInProcessResult, dict[str, dg.AssetCheckEvaluation]]:
        result = dg.materialize(ASSETS, selection=[a.key for a in ASSETS[:3]] + list(warehouse.partition_tables.keys),
                                partition_key=KEY, resources=self.resources, instance=self.instance,
                                raise_on_error=False)
        checks = {f"{e.asset_key.path[-1]}:{e.check_name}": e for e in result.get_asset_check_evaluations()}
        return result, checks

    def rows(self, query: str) -> list:
        engine = engines.create_engine(self.url)
        with engine.connect() as connection:
            out = [tuple(r) for r in connection.execute(sa.text(query)).all()]
        engine.dispose()
        return out


@pytest.fixture
def live(tmp_path: Path):
    with RecordedSite() as site:
        yield Live(site, tmp_path)


def test_live_fetch_loads_the_warehouse(live):
    live.site.route(FD_PATH, Reply(200, FD_BODY, {"Content-Type": "text/csv"}))
    live.site.route(US_PATH, Reply(200, US_BODY, {"Content-Type": "application/json"}))
    result, checks = live.run()
    assert result.success
    assert checks["football_data_matches:source_fetch"].passed
    assert checks["understat_matches:source_fetch"].passed
    assert checks["football_data_matches:page_structure"].passed
    # FBref has no such page on this site: reported, and the load goes on without it.
    fbref = checks["fbref_matches:source_fetch"]
    assert not fbref.passed and fbref.severity == dg.AssetCheckSeverity.WARN and "HTTP 404" in fbref.description
    assert not checks["matches:sources_available"].passed
    assert live.rows("SELECT sources, count(*) FROM matches GROUP BY sources") == [("football-data,understat", 380)]
    assert (live.scraped / "football-data/E0/2223.csv").read_bytes() == FD_BODY


def test_blocked_source_falls_back_to_its_last_good_copy(live):
    live.site.route(FD_PATH, Reply(200, FD_BODY, {"Content-Type": "text/csv"}))
    live.site.route(US_PATH, Reply(200, US_BODY, {"Content-Type": "application/json"}))
    assert live.run()[0].success
    live.site.route(FD_PATH, Reply(403, CHALLENGE, {"Content-Type": "text/html"}))
    result, checks = live.run()
    assert result.success  # a failed check, not a crashed run
    fetch = checks["football_data_matches:source_fetch"]
    assert not fetch.passed and "blocked" in fetch.description
    assert fetch.metadata["used"].value.startswith("last good copy")
    assert live.rows("SELECT count(*) FROM matches") == [(380,)]


def test_blocked_source_without_a_copy_keeps_the_partition(live):
    live.site.route(FD_PATH, Reply(200, FD_BODY, {"Content-Type": "text/csv"}))
    live.site.route(US_PATH, Reply(200, US_BODY, {"Content-Type": "application/json"}))
    assert live.run()[0].success
    before = live.rows("SELECT match_id, home_goals, away_goals, sources FROM matches ORDER BY match_id")
    (live.scraped / "football-data/E0/2223.csv").unlink()
    live.site.route(FD_PATH, Reply(403, CHALLENGE, {"Content-Type": "text/html"}))
    result, checks = live.run()
    assert result.success
    available = checks["matches:sources_available"]
    assert not available.passed and "football-data" in available.description
    assert "kept as it was" in available.metadata["status"].value
    assert live.rows("SELECT match_id, home_goals, away_goals, sources FROM matches ORDER BY match_id") == before


def test_changed_page_structure_fails_its_check(live):
    live.site.route(FD_PATH, Reply(200, FD_BODY.replace(b"HomeTeam", b"Home", 1), {"Content-Type": "text/csv"}))
    live.site.route(US_PATH, Reply(200, US_BODY, {"Content-Type": "application/json"}))
    result, checks = live.run()
    assert result.success
    structure = checks["football_data_matches:page_structure"]
    assert not structure.passed and "HomeTeam" in structure.description
    assert live.rows("SELECT sources, count(*) FROM matches GROUP BY sources") == [("understat", 380)]


def test_the_current_season_also_fetches_the_fixtures_feed(live, tmp_path):
    # 1 April 2023, E0 2022-23 is the current season: football-data serves the season file up to that
    # morning and fixtures.csv with the rest (built from the real rows, results and closing prices removed).
    from football_pipeline_tests.ingestion.test_fixtures_feed import CUT, _feed, _split

    header, before, after = _split()
    feed_header, feed_rows = _feed(header[0], after)
    live.site.route(FD_PATH, Reply(200, "".join(header + before).encode(), {"Content-Type": "text/csv"}))
    live.site.route("/fixtures.csv", Reply(200, "".join([feed_header, *feed_rows]).encode(),
                                           {"Content-Type": "text/csv"}))
    live.site.route(US_PATH, Reply(404, b"not here"))
    sources = live.resources["sources"]
    live.resources["sources"] = SourceFilesResource(**{**sources.model_dump(), "today": CUT.isoformat()})
    result, checks = live.run()
    assert result.success
    assert live.site.hits("/fixtures.csv")
    assert (live.scraped / "football-data/fixtures.csv").is_file()
    assert live.rows("SELECT status, count(*) FROM matches GROUP BY status ORDER BY status") == [
        ("completed", len(before)), ("scheduled", len(after))]
    assert live.rows("SELECT min(match_date) FROM matches WHERE status = 'scheduled'")[0][0].startswith(
        CUT.isoformat())
    # The coming matches carry football-data's pre-match prices (Pinnacle, market average, ...), no closing ones.
    assert live.rows("SELECT DISTINCT o.phase FROM odds o JOIN matches m ON m.match_id = o.match_id "
                     "WHERE m.status = 'scheduled'") == [("opening",)]

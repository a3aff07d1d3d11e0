"""The asset graph materialized on real files, and on real files broken in the ways the issue lists."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from football_pipeline import partitions
from football_pipeline.assets import ingestion, warehouse
from football_pipeline.resources import SourceFilesResource, SourceResultIOManager, WarehouseResource
from football_pipeline.warehouse import engine as engines
from football_pipeline.warehouse import schema
from football_pipeline_tests.conftest import TODAY, copy_bundled
from football_pipeline_tests.helpers import E0_2223, EPL_2022, real_lines, set_cell, write

INGESTION = [ingestion.football_data_matches, ingestion.understat_matches, ingestion.fbref_matches]
PARTITION_ASSETS = [*INGESTION, warehouse.teams, warehouse.partition_tables]
E0_KEY = partitions.partition_key("E0", "2022-2023")


class Harness:
    def __init__(self, data_dir: Path, url: str, storage: Path):
        self.data_dir, self.url = data_dir, url
        self.resources = {
            "warehouse": WarehouseResource(url=url),
            "sources": SourceFilesResource(data_dir=str(data_dir), today=TODAY.isoformat()),
            "source_io_manager": SourceResultIOManager(base_dir=str(storage)),
        }
        self.instance = dg.DagsterInstance.ephemeral()

    def reference(self) -> dg.ExecuteInProcessResult:
        return dg.materialize([warehouse.teams, warehouse.elo_ratings], resources=self.resources,
                              instance=self.instance)

    def partition(self, key=E0_KEY, **config) -> dg.ExecuteInProcessResult:
        run_config = {"ops": {"partition_tables": {"config": config}}} if config else None
        return dg.materialize(PARTITION_ASSETS,
                              selection=[a.key for a in INGESTION] + list(warehouse.partition_tables.keys),
                              partition_key=key, resources=self.resources, instance=self.instance,
                              raise_on_error=False, run_config=run_config)

    def count(self, table: sa.Table, *where) -> int:
        engine = engines.create_engine(self.url)
        with engine.connect() as connection:
            value = connection.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()
        engine.dispose()
        return value

    def rows(self, query: str) -> list:
        engine = engines.create_engine(self.url)
        with engine.connect() as connection:
            out = connection.execute(sa.text(query)).all()
        engine.dispose()
        return out


@pytest.fixture
def harness(data_dir: Path, sqlite_url: str, tmp_path: Path) -> Harness:
    copy_bundled(data_dir, E0_2223, EPL_2022, "clubelo/teams-before-2023-07-01/Arsenal.csv")
    h = Harness(data_dir, sqlite_url, tmp_path / "io")
    assert h.reference().success
    return h


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {f"{e.asset_key.path[-1]}:{e.check_name}": e for e in result.get_asset_check_evaluations()}


def test_real_partition_materializes_with_every_check_passing(harness):
    result = harness.partition()
    assert result.success
    checks = evaluations(result)
    assert len(checks) == 34 and all(e.passed for e in checks.values()), [  # teams_resolved: the 34th
        k for k, e in checks.items() if not e.passed]
    assert harness.count(schema.matches) == 380 and harness.count(schema.xg) == 380
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"warehouse/matches", "warehouse/odds", "warehouse/xg", "warehouse/team_match_stats"} <= materialized
    assert harness.count(schema.elo_ratings) > 1000

    again = harness.partition()
    assert again.success
    status = [e.materialization.metadata["status"].value for e in again.get_asset_materialization_events()
              if e.asset_key.path == ["warehouse", "matches"]]
    assert status == ["unchanged since the last load: nothing written"]
    assert harness.count(schema.matches) == 380

    stats = dg.materialize([warehouse.team_season_stats], resources=harness.resources, instance=harness.instance)
    metadata = stats.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["rows"].value == 20 and "Manchester City" in metadata["latest_table"].value


def test_misspelt_team_is_named_and_loads_nothing(harness):
    """One row's unknown spelling: the ingestion check names it (WARN: spellings are resolved at load),
    and the load refuses it as a misspelling (one match where clubs play 38), the warehouse unchanged."""
    assert harness.partition().success
    lines = real_lines()
    lines[20] = set_cell(lines[20], lines[0], "AwayTeam", "Nottingham F")
    write(harness.data_dir / E0_2223, lines)
    result = harness.partition()
    assert not result.success
    check = evaluations(result)["football_data_matches:teams_known"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert "'Nottingham F'" in check.description and E0_2223 in check.description
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.user_failure_data.description
    assert "'Nottingham F' plays 1 match(es)" in message and "a misspelling" in message
    assert harness.count(schema.matches) == 380
    assert harness.rows("SELECT source_row, check_name FROM quarantine") == [(21, "teams_known")]


def test_html_page_saved_as_csv_fails_naming_the_file(harness):
    write(harness.data_dir / E0_2223, "<html><head><title>429 Too Many Requests</title></head></html>")
    result = harness.partition()
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.user_failure_data.description
    assert E0_2223 in message and "HTML page" in message and "429 Too Many Requests" in message
    assert harness.count(schema.raw_files) == 1 and harness.count(schema.matches) == 0


def test_truncated_csv_is_blocked_and_previous_rows_stay(harness):
    assert harness.partition().success
    content = (harness.data_dir / E0_2223).read_bytes()
    write(harness.data_dir / E0_2223, content[: len(content) // 2])
    result = harness.partition()
    assert not result.success
    assert not evaluations(result)["football_data_matches:file_complete"].passed
    assert harness.count(schema.matches) == 380
    assert harness.count(schema.odds) > 380 * 30


@pytest.mark.parametrize(
    ("column", "value", "check"),
    [("FTHG", "31", "value_ranges"), ("Date", "01/01/2027", "temporal"), ("Date", "2023-13-45", "schema")],
)
def test_bad_row_is_quarantined_and_the_rest_loads(harness, column, value, check):
    lines = real_lines()
    lines[30] = set_cell(lines[30], lines[0], column, value)
    write(harness.data_dir / E0_2223, lines)
    result = harness.partition()
    assert result.success  # one bad row warns; it does not block the partition
    evaluation = evaluations(result)[f"football_data_matches:{check}"]
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert harness.rows("SELECT source_row, check_name FROM quarantine WHERE source = 'football-data'") == [
        (31, check)]
    # Understat still has the match: the canonical row comes from there.
    assert harness.count(schema.matches) == 380
    assert harness.count(schema.matches, schema.matches.c.primary_source == "understat") == 1


def test_duplicate_row_is_quarantined(harness):
    lines = real_lines()
    write(harness.data_dir / E0_2223, lines + [lines[40]])
    result = harness.partition()
    assert result.success and not evaluations(result)["football_data_matches:no_duplicates"].passed
    assert harness.rows("SELECT source_row FROM quarantine") == [(len(lines) + 1,)]
    assert harness.count(schema.matches) == 380


def test_partition_without_files_materializes_and_changes_nothing(harness):
    result = harness.partition(partitions.partition_key("N1", "1999-2000"))
    assert result.success
    status = {e.materialization.metadata["status"].value for e in result.get_asset_materialization_events()
              if e.asset_key.path[0] == "warehouse"}
    assert status == {"no source files for this partition: warehouse unchanged"}
    assert harness.count(schema.matches) == 0


def test_league_without_understat_loads_from_football_data(harness):
    copy_bundled(harness.data_dir, "football-data/E1/2223.csv")
    result = harness.partition(partitions.partition_key("E1", "2022-2023"))
    assert result.success
    assert harness.count(schema.matches) == 552 and harness.count(schema.xg) == 0

"""End to end, as a user runs it: `football-pipeline run` (the main job: every partition, the aggregates, the
models job), the serving sensor's tick, the publish job, then SQL on `predictions` returns the next matchday.

Real files (E0 2019-20 .. 2021-22), the embedded defaults (SQLite warehouse, local MLflow store, local Dagster
instance, all in a temporary state folder), small sampler settings through the FOOTBALL_MODELS_* variables."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pandas as pd
import sqlalchemy as sa

from football_pipeline import cli, settings
from football_pipeline.automation.sensors import publish_on_new_champion_or_fixtures
from football_pipeline.modelling import tracking
from football_pipeline.resources import WarehouseResource
from football_pipeline.resources.models import from_environment
from football_pipeline.serving import queries
from football_pipeline.warehouse import engine as engines
from football_pipeline_tests.conftest import copy_bundled

AS_OF = dt.date(2022, 3, 1)
MODELS = {"EVALUATION_SEASONS": "2021-2022", "CADENCE": "month", "BACKTEST_DRAWS": "50", "DRAWS": "200",
          "WARMUP": "200", "CHAINS": "2", "MIN_ESS": "50", "MAX_R_HAT": "1.05", "REGISTERED_MODEL": "e2e-ensemble"}


def test_main_job_then_sensor_tick_then_next_matchday_in_sql(data_dir: Path, monkeypatch, capsys):
    seasons = ("1920", "2021", "2122")
    copy_bundled(data_dir, *(f"football-data/E0/{code}.csv" for code in seasons))
    monkeypatch.setenv("FOOTBALL_PIPELINE_AS_OF", AS_OF.isoformat())
    for name, value in MODELS.items():
        monkeypatch.setenv(f"FOOTBALL_MODELS_{name}", value)

    assert cli.main(["run", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "3 competition x season partitions, 0 failed runs" in out
    assert "publish: " in out and "publish: skipped" not in out
    assert "models (E0, evaluated on 2021-2022): " in out
    champion = tracking.champion("e2e-ensemble")
    assert champion is not None

    # What an analyst runs: sql/examples/next_matchday.sql through the serving queries (bound parameters).
    engine = engines.create_engine(settings.warehouse_url())
    rows = queries.next_matchday(engine, as_of=dt.datetime.combine(AS_OF, dt.time(), tzinfo=dt.timezone.utc),
                                 competition_id="E0")
    frame = pd.read_csv(data_dir / "football-data/E0/2122.csv", encoding="utf-8-sig")
    dates = pd.to_datetime(frame["Date"], dayfirst=True).dt.date
    first = min(d for d in dates if d >= AS_OF)
    expected = {(h, a) for h, a, d in zip(frame["HomeTeam"], frame["AwayTeam"], dates, strict=True) if d == first}
    assert rows and {str(r["kickoff_at"])[:10] for r in rows} == {first.isoformat()}
    assert len(rows) == len(expected)
    for row in rows:
        assert abs(row["home_win_pct"] + row["draw_pct"] + row["away_win_pct"] - 100) <= 0.1
        assert row["model_version"] == str(champion.version)
    with engine.connect() as connection:
        published = connection.execute(sa.text("SELECT count(*) FROM predictions")).scalar_one()
        upcoming = connection.execute(sa.text(
            "SELECT count(*) FROM matches WHERE competition_id = 'E0' AND match_date >= :d"), {"d": AS_OF}).scalar_one()
    assert published == upcoming

    # The publish run is recorded in the local instance. A sensor tick asks for a publish keyed on the
    # champion's version; the next tick, from the cursor it left, asks for nothing: nothing published twice.
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs(dg.RunsFilter(job_name="publish_job"))
        assert len(runs) == 1 and runs[0].status == dg.DagsterRunStatus.SUCCESS
        key = f"{champion.version}:"
        with dg.build_sensor_context(instance=instance, resources={
                "warehouse": WarehouseResource(), "models": from_environment()}) as context:
            first_tick = publish_on_new_champion_or_fixtures(context)
            assert isinstance(first_tick, dg.RunRequest) and first_tick.run_key.startswith(key)
            again = publish_on_new_champion_or_fixtures(context)
        assert "unchanged since the last publish request" in again.skip_message
    engine.dispose()

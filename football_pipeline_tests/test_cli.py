"""`football-pipeline run` (what `make run` calls) and `load`, on real data in a temporary state folder."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from football_pipeline import cli
from football_pipeline.warehouse import engine as engines
from football_pipeline_tests.conftest import copy_bundled
from football_pipeline_tests.helpers import E0_2223, EPL_2022


def test_run_materializes_the_graph_and_prints_a_summary(data_dir: Path, tmp_path: Path, capsys):
    copy_bundled(data_dir, E0_2223, EPL_2022, "football-data/E1/2223.csv")
    assert cli.main(["run", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "2 competition x season partitions, 0 failed runs" in out
    assert "matches" in out and "932" in out  # 380 Premier League + 552 Championship matches
    assert "Asset checks:" in out and "passed" in out
    assert "Rows quarantined: 0" in out
    # One Premier League season is no history to train and backtest on: the models say so and stand aside.
    assert "models: skipped (E0 needs 2 season(s) before 2022-2023 (burn-in and training), has 0)" in out
    warehouse = tmp_path / "state" / "warehouse.sqlite"
    assert f"Warehouse: sqlite:///{warehouse}" in out
    assert "dagster dev -w workspace.yaml" in out
    engine = engines.create_engine(f"sqlite:///{warehouse}")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM team_season_stats")).scalar_one() == 44
    engine.dispose()
    runs = list((tmp_path / "state" / "dagster_home").glob("history/runs/*.db")) or list(
        (tmp_path / "state" / "dagster_home").rglob("*.db"))
    assert runs, "the local Dagster instance records the runs for the UI"


def test_load_is_idempotent_and_skips_unchanged_files(data_dir: Path, sqlite_url: str, capsys):
    copy_bundled(data_dir, E0_2223, EPL_2022)
    assert cli.main(["load", "--data-dir", str(data_dir), "--warehouse-url", sqlite_url, "--workers", "1"]) == 0
    assert "1 partitions: 1 loaded, 0 unchanged" in capsys.readouterr().out
    assert cli.main(["load", "--data-dir", str(data_dir), "--warehouse-url", sqlite_url]) == 0
    assert "1 partitions: 0 loaded, 1 unchanged" in capsys.readouterr().out


def test_run_refuses_bad_model_settings_before_loading_anything(data_dir: Path, tmp_path: Path, capsys, monkeypatch):
    copy_bundled(data_dir, E0_2223)
    for variable, value, reason in (
            ("FOOTBALL_MODELS_CADENCE", "weekly",
             "FOOTBALL_MODELS_CADENCE='weekly': Input should be 'matchweek', 'week' or 'month'"),
            ("FOOTBALL_MODELS_WINDOW_SEASONS", "0", "FOOTBALL_MODELS_WINDOW_SEASONS=0: Input should be greater than"),
            ("FOOTBALL_MODELS_EVALUATION_SEASONS", "2022-23", "evaluation season '2022-23' is not a season"),
            ("FOOTBALL_MODELS_DRAWS", "lots", "FOOTBALL_MODELS_DRAWS='lots': not a valid int")):
        with monkeypatch.context() as patch:
            patch.setenv(variable, value)
            assert cli.main(["run", "--data-dir", str(data_dir)]) == 2
        captured = capsys.readouterr()
        assert f"run: model settings: {reason}" in captured.err and "partitions" not in captured.out
    assert not (tmp_path / "state" / "warehouse.sqlite").exists()

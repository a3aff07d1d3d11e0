"""`football-pipeline run` (what `make run` calls) and `load`, on real data in a temporary state folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from football_pipeline import cli
from football_pipeline.settings import BUNDLED_DATA_DIR
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
            ("FOOTBALL_MODELS_EVALUATION_SEASONS", "2022-23",
             "FOOTBALL_MODELS_EVALUATION_SEASONS='2022-23': evaluation season '2022-23' is not a season"),
            ("FOOTBALL_MODELS_DRAWS", "lots", "FOOTBALL_MODELS_DRAWS='lots': not a valid int")):
        with monkeypatch.context() as patch:
            patch.setenv(variable, value)
            assert cli.main(["run", "--data-dir", str(data_dir)]) == 2
        captured = capsys.readouterr()
        assert f"run: model settings: {reason}" in captured.err and "partitions" not in captured.out
    assert not (tmp_path / "state" / "warehouse.sqlite").exists()


# --- refused before any work: one clear line each, nothing loaded ------------------------------------------------


def _refused(capsys) -> list[str]:
    captured = capsys.readouterr()
    assert "partitions" not in captured.out and "Traceback" not in captured.err
    return captured.err.splitlines()


def test_a_missing_data_directory_is_named(tmp_path: Path, sqlite_url: str, capsys, monkeypatch):
    missing = tmp_path / "no-such-dir"
    assert cli.main(["load", "--data-dir", str(missing), "--warehouse-url", sqlite_url]) == 2
    assert _refused(capsys) == [f"load: data directory {missing} does not exist (set by --data-dir)"]
    assert cli.main(["run", "--data-dir", str(missing)]) == 2
    assert _refused(capsys) == [f"run: data directory {missing} does not exist (set by --data-dir)"]
    monkeypatch.setenv("FOOTBALL_DATA_DIR", str(missing))
    assert cli.main(["load", "--warehouse-url", sqlite_url]) == 2
    assert _refused(capsys) == [f"load: data directory {missing} does not exist (set by FOOTBALL_DATA_DIR)"]
    assert not (tmp_path / "state").exists() and not Path(sqlite_url.removeprefix("sqlite:///")).exists()


def test_nothing_to_load_is_refused(data_dir: Path, sqlite_url: str, capsys):
    (data_dir / "football-data" / "E0").mkdir()
    assert cli.main(["load", "--data-dir", str(data_dir), "--warehouse-url", sqlite_url]) == 2
    [line] = _refused(capsys)
    assert line.startswith(f"load: nothing to load: no source file in {data_dir} (set by --data-dir); expected "
                           "football-data/<DIV>/<SSSS>.csv, e.g. football-data/E0/2324.csv for 2023-24")
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()


def test_unrecognised_files_are_each_named_with_the_name_expected(data_dir: Path, sqlite_url: str, capsys):
    copy_bundled(data_dir, E0_2223)
    for wrong, real in (("football-data/e1/2223.csv", "football-data/E1/2223.csv"),
                        ("football-data/E0/2022.csv", "football-data/E0/2122.csv")):
        (data_dir / wrong).parent.mkdir(parents=True, exist_ok=True)
        (data_dir / wrong).write_bytes((BUNDLED_DATA_DIR / real).read_bytes())
    for command in (["load", "--warehouse-url", sqlite_url], ["run"]):
        assert cli.main([*command, "--data-dir", str(data_dir)]) == 2
        lines = _refused(capsys)
        assert lines[0].startswith(f"{command[0]}: 2 file(s) in {data_dir} match no partition; nothing was loaded. "
                                   "Expected: football-data/<DIV>/<SSSS>.csv, e.g. football-data/E0/2324.csv")
        assert lines[1:] == [
            "  football-data/E0/2022.csv: '2022' is not a season code (SSSS: the two years' last digits, "
            "2223 = 2022-23); its first match (2021-08-13) is in 2021-2022: name it football-data/E0/2122.csv",
            "  football-data/e1/2223.csv: division folders are upper-case: rename football-data/e1 to "
            "football-data/E1 (football-data/E1/2223.csv)"]
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()


def test_a_file_under_its_download_name_is_loaded_by_the_season_of_its_dates(data_dir: Path, sqlite_url: str,
                                                                              capsys):
    (data_dir / "football-data" / "E0.csv").write_bytes((BUNDLED_DATA_DIR / E0_2223).read_bytes())
    assert cli.main(["load", "--data-dir", str(data_dir), "--warehouse-url", sqlite_url, "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "football-data/E0.csv read as E0|2022-2023 (season from its first date)" in out
    assert "1 partitions: 1 loaded, 0 unchanged" in out
    engine = engines.create_engine(sqlite_url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM matches WHERE season = '2022-2023'")).scalar() == 380
    engine.dispose()


@pytest.mark.parametrize(("partition", "problem"), [
    ("E0|2022-23", "run: bad partition 'E0|2022-23': season '2022-23' is not a season key (the years it spans); "
                   "expected COMPETITION|SEASON, e.g. E0|2022-2023 (did you mean E0|2022-2023?)"),
    ("X9|2022-2023", "run: bad partition 'X9|2022-2023': unknown competition 'X9' (known: E0, E1, SP1, D1, I1, F1, "
                     "N1); expected COMPETITION|SEASON, e.g. E0|2022-2023"),
    ("e0|2022-23", "run: bad partition 'e0|2022-23': unknown competition 'e0' (known: E0, E1, SP1, D1, I1, F1, N1); "
                   "expected COMPETITION|SEASON, e.g. E0|2022-2023 (did you mean E0|2022-2023?)"),
    ("E0", "run: bad partition 'E0': not COMPETITION|SEASON; expected COMPETITION|SEASON, e.g. E0|2022-2023"),
    ("E0|1899-1900", "run: bad partition 'E0|1899-1900': season 1899-1900 is outside the partitions (1993-1994 to "
                     "2027-2028); expected COMPETITION|SEASON, e.g. E0|2022-2023"),
])
def test_a_mistyped_partition_is_refused(data_dir: Path, tmp_path: Path, capsys, partition, problem):
    copy_bundled(data_dir, E0_2223)
    assert cli.main(["run", "--data-dir", str(data_dir), "--partition", partition]) == 2
    assert _refused(capsys) == [problem]
    assert not (tmp_path / "state").exists()


def test_a_partition_without_a_file_is_refused(data_dir: Path, tmp_path: Path, capsys):
    copy_bundled(data_dir, E0_2223)
    assert cli.main(["run", "--data-dir", str(data_dir), "--partition", "E0|1999-2000"]) == 2
    assert _refused(capsys) == [f"run: no source file for partition E0|1999-2000 in {data_dir} "
                                "(e.g. football-data/E0/9900.csv)"]
    assert not (tmp_path / "state").exists()


def test_crawl_refuses_a_mistyped_season_before_any_request(tmp_path: Path, capsys):
    assert cli.main(["crawl", "football-data", "--competition", "E0", "--season", "2025-26",
                     "--out", str(tmp_path / "out")]) == 2
    assert _refused(capsys) == [
        "crawl: --competition E0 --season 2025-26: season '2025-26' is not a season key (the years it spans); "
        "expected e.g. --competition E0 --season 2022-2023 (did you mean --competition E0 --season 2025-2026?)"]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("variable", "value", "problem"), [
    ("FOOTBALL_PIPELINE_AS_OF", "2023-13-45",
     "FOOTBALL_PIPELINE_AS_OF='2023-13-45': not a date (expected an ISO date, e.g. 2023-04-01)"),
    ("FOOTBALL_PIPELINE_TODAY", "yesterday",
     "FOOTBALL_PIPELINE_TODAY='yesterday': not a date (expected an ISO date, e.g. 2023-04-01)"),
    ("FOOTBALL_MODELS_MAX_R_HAT", "inf", "model settings: FOOTBALL_MODELS_MAX_R_HAT=inf: Input should be a finite "
                                        "number (greater than 1.0 and at most 1.1)"),
    ("FOOTBALL_MODELS_DRAWS", "1000000000",
     "model settings: FOOTBALL_MODELS_DRAWS=1000000000: Input should be less than or equal to 100000"),
    ("FOOTBALL_MODELS_COMPETITION", "X9", "model settings: FOOTBALL_MODELS_COMPETITION='X9': unknown competition "
                                          "'X9' (known: E0, E1, SP1, D1, I1, F1, N1)"),
])
def test_settings_are_checked_before_any_work(data_dir: Path, tmp_path: Path, capsys, monkeypatch, variable, value,
                                              problem):
    copy_bundled(data_dir, E0_2223)
    monkeypatch.setenv(variable, value)
    for command in ("run", "load"):
        assert cli.main([command, "--data-dir", str(data_dir)]) == 2
        assert _refused(capsys) == [f"{command}: {problem}"]
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize(("url", "problem"), [
    ("postgresql://bob:secret@127.0.0.1:1/x", "warehouse postgresql://bob:***@127.0.0.1:1/x is not reachable: "
                                              'connection to server at "127.0.0.1", port 1 failed: Connection refused'),
    ("sqlite:////etc/hostname/x.sqlite", "warehouse sqlite:////etc/hostname/x.sqlite: cannot create the SQLite file "
                                         "/etc/hostname/x.sqlite: /etc/hostname is a file, not a folder"),
    ("sqlite:////proc/x.sqlite", "warehouse sqlite:////proc/x.sqlite: cannot create the SQLite file /proc/x.sqlite: "
                                 "its folder /proc is not writable"),
])
def test_an_unusable_warehouse_is_one_line_before_any_partition(data_dir: Path, tmp_path: Path, capsys,
                                                                 monkeypatch, url, problem):
    copy_bundled(data_dir, E0_2223)
    assert cli.main(["load", "--data-dir", str(data_dir), "--warehouse-url", url]) == 2
    [line] = _refused(capsys)
    assert line.startswith(f"load: {problem}") and "secret" not in line
    monkeypatch.setenv("WAREHOUSE_URL", url)
    for command in (["run", "--data-dir", str(data_dir)], ["migrate"]):
        assert cli.main(command) == 2
        [line] = _refused(capsys)
        assert line.startswith(f"{command[0]}: {problem}")
    assert not (tmp_path / "state").exists()

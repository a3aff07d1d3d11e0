"""`football-pipeline backtest` end to end on real Premier League files: ingest, checks, features,
walk-forward refits of every model, one CSV row per match and model."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pandas as pd
import pytest

from football_pipeline import cli
from football_pipeline.modelling import metrics
from football_pipeline_tests.conftest import copy_bundled

SMALL = ["--cadence", "month", "--draws", "100", "--chains", "2", "--warmup", "150", "--burn-in", "1"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("data")
    copy_bundled(data_dir, *(f"football-data/E0/{code}.csv" for code in ("1819", "1920", "2021", "2122")),
                 "football-data/D1/2122.csv")  # another country's league: shares no team, not loaded
    out = data_dir.parent / "predictions.csv"
    progress = io.StringIO()
    with contextlib.redirect_stderr(progress):
        # No --seasons: the latest season in the directory with 100 results, 2021-22.
        code = cli.main(["backtest", "--data-dir", str(data_dir), "--competition", "E0", "--out", str(out), *SMALL])
    return code, pd.read_csv(out), progress.getvalue()


def test_writes_one_row_per_match_and_model(run):
    code, table, _ = run
    assert code == 0
    assert list(table.columns) == ["date", "competition", "season", "home_team", "away_team", "model", "p_home",
                                   "p_draw", "p_away", "result"]
    assert {"bayesian_dixon_coles", "xgboost", "ensemble", "ensemble_no_odds", "market"} <= set(table["model"])
    for model in ("bayesian_dixon_coles", "xgboost", "xgboost_no_odds", "dixon_coles_mle", "market"):
        part = table[table["model"] == model]
        assert len(part) == 380, model  # every 2021-22 match, once
        assert not part.duplicated(["date", "home_team", "away_team"]).any()
    # The stacks train on the burn-in season's out-of-sample predictions: every match has them too.
    assert (table["model"] == "ensemble").sum() == 380
    assert set(table["season"]) == {"2021-2022"}
    assert set(table["result"]) == {"H", "D", "A"}
    assert np.allclose(table[["p_home", "p_draw", "p_away"]].sum(axis=1), 1.0, atol=1e-5)
    arsenal = table[(table["home_team"] == "Arsenal") & (table["away_team"] == "Tottenham Hotspur")]
    assert set(arsenal["result"]) == {"H"}  # 3-1, 26 September 2021; names are the canonical team names


def test_scores_are_honest(run):
    _, table, _ = run
    scores = {}
    for model, part in table.groupby("model"):
        p = part[["p_home", "p_draw", "p_away"]].to_numpy()
        scores[model] = metrics.score(p, metrics.outcome_index(part["result"]))
    for model, result in scores.items():
        # Better than knowing nothing, but no model sees the future: above ~58% would mean leakage.
        assert 0.40 < result.accuracy < 0.60, (model, result.accuracy)
        assert result.rps < 0.222, (model, result.rps)  # 0.222 ≈ always forecasting the base rates
    # The closing market is the reference the models are measured against.
    assert scores["market"].rps < scores["xgboost_no_odds"].rps


def test_progress_on_stderr_and_only_the_competitions_country_loaded(run):
    _, _, progress = run
    lines = progress.splitlines()
    assert any(line.startswith("Loaded 4 partitions (E0) from ") for line in lines), progress
    # The seasons chosen from the data, and why.
    assert ("Evaluating E0 2021-2022: the latest season with 100 results (2021-2022 380; the last on 2022-05-22)"
            in lines), progress
    # Each season's start, with the refits left and, once some are done, the time to go.
    burn_in = next(line for line in lines if line.startswith("E0 2020-2021: refit 1 of "))
    evaluation = next(line for line in lines if line.startswith("E0 2021-2022: refit "))
    total = int(burn_in.split(" of ")[1].split()[0])
    assert 16 <= total <= 26  # two seasons walked month by month
    assert evaluation.split(" of ")[1].startswith(f"{total} (month)") and "min to go" in evaluation
    assert any(line.startswith(f"E0: {total} refits and the stacks' walk in ") for line in lines)


def test_a_competition_without_files_is_a_clear_error(tmp_path, capsys):
    copy_bundled(tmp_path, "football-data/E0/2122.csv")
    code = cli.main(["backtest", "--data-dir", str(tmp_path), "--competition", "D1", "--seasons", "2021-2022",
                     "--out", str(tmp_path / "out.csv"), *SMALL])
    assert code == 2
    assert f"D1: no files for it in {tmp_path}" in capsys.readouterr().err


def test_unknown_season_is_a_clear_error(tmp_path, capsys):
    copy_bundled(tmp_path, "football-data/E0/2122.csv")
    code = cli.main(["backtest", "--data-dir", str(tmp_path), "--seasons", "2030-2031", "--out",
                     str(tmp_path / "out.csv"), *SMALL])
    assert code == 2
    assert "no matches for evaluation season(s) 2030-2031" in capsys.readouterr().err


@pytest.mark.parametrize(("seasons", "reason"), [
    ("2021-22", "evaluation season '2021-22' is not a season (expected the years it spans, e.g. 2022-2023)"),
    ("2021-2023", "evaluation season '2021-2023' is not a season"),
    (" , ", "no evaluation seasons given"),
])
def test_a_malformed_season_is_refused_before_any_file_is_read(tmp_path, capsys, seasons, reason):
    # An empty directory: had the files been read first, the error would be about them.
    code = cli.main(["backtest", "--data-dir", str(tmp_path), "--seasons", seasons, "--out",
                     str(tmp_path / "out.csv"), *SMALL])
    assert code == 2
    err = capsys.readouterr().err
    assert reason in err and "no files" not in err
    assert not (tmp_path / "out.csv").exists()

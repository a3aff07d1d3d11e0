"""The walk-forward backtest engine (backtest.py): refit calendars, training windows, point-in-time
Dixon-Coles strengths, and a fast run (no Bayesian model) on real Premier League seasons."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from football_pipeline.modelling import data, evaluate, features, market, metrics
from football_pipeline.modelling.backtest import (
    BAYES,
    DC_FEATURES,
    ENSEMBLE,
    ENSEMBLE_NO_ODDS,
    MARKET,
    MARKET_OPEN,
    MIN_TRAIN,
    MLE,
    MLE_LOWER,
    XGB,
    XGB_NO_ODDS,
    BacktestConfig,
    WalkCheckpoint,
    blocks,
    latest_evaluation_seasons,
    lower_division,
    merge_fixture_blocks,
    mle_walk,
    recent_evaluation_seasons,
    restack,
    run_backtest,
    score_table,
    short_evaluation_seasons,
    stale_evaluation,
    step_fingerprints,
    strengths_walk,
    window,
)
from football_pipeline.modelling.boosting import XGBoostConfig
from football_pipeline.modelling.dixon_coles import DixonColesConfig
from football_pipeline_tests.modelling.test_data import real_frame

P = ["p_home", "p_draw", "p_away"]
FAST = dict(cadence="month", burn_in_seasons=1, bayesian=False, xgboost=XGBoostConfig(n_estimators=20, n_jobs=1))


def _matches(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["match_date", "home_team_id", "away_team_id"]).assign(
        match_date=lambda f: pd.to_datetime(f["match_date"]))


def _as_lists(result) -> list[tuple[str, list[int]]]:
    return [(str(start.date()), list(rows)) for start, rows in result]


# --- refit calendars ---------------------------------------------------------------------------------


def test_matchweek_starts_when_a_team_would_play_again():
    frame = _matches([
        ("2021-08-14", "a", "b"), ("2021-08-14", "c", "d"), ("2021-08-15", "e", "f"),  # round 1 over two days
        ("2021-08-16", "g", "h"),
        ("2021-08-21", "b", "c"),  # b played on the 14th: a new matchweek
        ("2021-08-21", "a", "d"),  # same day as the refit: stays in it although a and d played in round 1
        ("2021-08-22", "e", "g"), ("2021-08-22", "f", "h"),
        ("2021-08-24", "a", "e"),  # a already played in this matchweek
    ])
    assert _as_lists(blocks(frame, "matchweek")) == [
        ("2021-08-14", [0, 1, 2, 3]), ("2021-08-21", [4, 5, 6, 7]), ("2021-08-24", [8])]


def test_matchweek_ignores_row_order_and_returns_positions():
    frame = _matches([("2021-08-21", "b", "c"), ("2021-08-14", "a", "b"), ("2021-08-15", "c", "d")])
    assert _as_lists(blocks(frame, "matchweek")) == [("2021-08-14", [1, 2]), ("2021-08-21", [0])]
    # A postponed match squeezed in midweek between two rounds starts its own block only if a team repeats.
    frame = _matches([("2021-08-14", "a", "b"), ("2021-08-17", "c", "d"), ("2021-08-18", "a", "c")])
    assert _as_lists(blocks(frame, "matchweek")) == [("2021-08-14", [0, 1]), ("2021-08-18", [2])]


def test_week_and_month_calendars():
    frame = _matches([
        ("2021-08-29", "a", "b"),  # Sunday
        ("2021-08-30", "c", "d"),  # Monday: a new week, same month
        ("2021-09-05", "a", "c"),  # Sunday of that week; a new month
        ("2021-09-06", "b", "d"),  # Monday
    ])
    assert _as_lists(blocks(frame, "week")) == [
        ("2021-08-29", [0]), ("2021-08-30", [1, 2]), ("2021-09-06", [3])]
    assert _as_lists(blocks(frame, "month")) == [("2021-08-29", [0, 1]), ("2021-09-05", [2, 3])]
    assert blocks(frame.iloc[:0], "month") == []


def test_unknown_cadence_is_an_error():
    with pytest.raises(ValueError, match="unknown cadence 'fortnight'"):
        blocks(_matches([("2021-08-14", "a", "b")]), "fortnight")


# --- training windows --------------------------------------------------------------------------------


def test_window_takes_the_last_seasons_and_played_matches_before_the_start():
    comp = pd.DataFrame({
        "season": ["2018-2019", "2019-2020", "2020-2021", "2020-2021", "2020-2021", "2021-2022"],
        "match_date": pd.to_datetime(["2019-01-01", "2020-01-01", "2020-10-01", "2021-01-01", "2021-03-01",
                                      "2021-09-01"]),
        "home_goals": [1.0, 2.0, 0.0, np.nan, 3.0, 1.0]})
    out = window(comp, "2020-2021", pd.Timestamp("2021-03-01"), seasons=2)
    assert list(out.index) == [1, 2]  # 2018-19 too old; the NaN is unplayed; 1 March is the start itself
    assert list(window(comp, "2020-2021", pd.Timestamp("2021-06-01"), seasons=1).index) == [2, 4]
    # A later season never leaks in, even when its dates are before the start.
    assert 5 not in window(comp, "2020-2021", pd.Timestamp("2030-01-01"), seasons=5).index


def test_window_adds_the_lower_division_of_earlier_window_seasons_without_promotion_flags():
    def division(code: str, seasons: list[str], dates: list[str]) -> pd.DataFrame:
        return pd.DataFrame({
            "competition_id": code, "season": seasons, "match_date": pd.to_datetime(dates),
            "match_id": [f"{code}:{d}" for d in dates], "home_goals": 1.0, "home_promoted": 1.0,
            "away_promoted": 0.0, "home_newness": 0.5, "away_newness": 0.0})

    comp = division("E0", ["2019-2020", "2020-2021", "2020-2021"], ["2020-01-01", "2020-10-01", "2021-02-01"])
    lower = division("E1", ["2018-2019", "2019-2020", "2019-2020", "2020-2021"],
                     ["2019-01-01", "2019-12-01", "2020-05-01", "2020-10-02"])
    out = window(comp, "2020-2021", pd.Timestamp("2021-03-01"), seasons=2, lower=lower)
    # E1 2019-20 joins (a window season before the current one); E1 2018-19 is outside the window and the
    # current season's E1 matches rate only teams outside the Premier League.
    assert list(out["match_id"]) == ["E1:2019-12-01", "E0:2020-01-01", "E1:2020-05-01", "E0:2020-10-01",
                                     "E0:2021-02-01"]
    e1 = out[out["competition_id"] == "E1"]
    assert list(out["lower_division"]) == [True, False, True, False, False]  # the Bayesian model's level flag
    assert (e1[["home_promoted", "home_newness"]] == 0.0).all().all()  # the promoted shift is about the top flight
    assert (out.loc[out["competition_id"] == "E0", "home_promoted"] == 1.0).all()
    # Window seasons are the competition's: E1 2018-19 stays out when E0 2018-19 is not loaded.
    assert list(window(comp, "2019-2020", pd.Timestamp("2020-02-01"), seasons=2, lower=lower)["match_id"]) == [
        "E0:2020-01-01"]
    # Without `lower` the window is the competition's alone.
    assert list(window(comp, "2020-2021", pd.Timestamp("2021-03-01"), seasons=2)["competition_id"]) == ["E0"] * 3


def test_lower_division_is_the_tier_below_when_loaded_and_asked_for():
    frame = pd.DataFrame({"competition_id": ["E0", "E1", "E1", "SP1"]})
    assert list(lower_division(frame, BacktestConfig(lower_division=True)).index) == [1, 2]
    assert lower_division(frame, BacktestConfig()) is None  # off by default
    assert lower_division(frame, BacktestConfig(competition="SP1", lower_division=True)) is None  # SP2 not loaded
    assert lower_division(frame, BacktestConfig(competition="N1", lower_division=True)) is None  # no tier below


# --- point-in-time Dixon-Coles strengths -------------------------------------------------------------


def _with_second_tier(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` plus a stand-in division below: a copy of its 2018-19 and 2019-20 seasons as E1, every team
    renamed but the ones that really went up in 2019-20 and 2020-21 (so they link the two divisions), with
    the scores shifted so that the second tier is a different league, not a duplicate."""
    up = {"sheffield-united", "norwich-city", "aston-villa", "leeds-united", "west-bromwich-albion", "fulham"}
    below = frame[frame["season"].isin(["2018-2019", "2019-2020"])].copy()
    for side in ("home_team_id", "away_team_id"):
        below[side] = below[side].where(below[side].isin(up), below[side] + "-reserves")
    below["competition_id"] = "E1"
    below["match_id"] = "E1-" + below["match_id"].astype(str)
    below["home_goals"] = below["away_goals"].to_numpy()
    return pd.concat([frame, below], ignore_index=True).sort_values(["match_date", "match_id"]).reset_index(drop=True)


def test_strengths_fit_sees_the_division_below_and_the_reference_keeps_the_bayesian_windows():
    """Default: MLE_LOWER (XGBoost's strength features, the stacks' ML member) is fitted with the division
    below, MLE (the reference the Bayesian model must beat) on the Bayesian model's windows; switched off,
    the two are one fit."""
    frame = _with_second_tier(real_frame())
    feats = features.build_features(frame)
    config = BacktestConfig(evaluation_seasons=("2021-2022",), **FAST)
    default = run_backtest(frame, feats, features.FEATURES, features.MARKET_FEATURES, config).oos
    alone = run_backtest(frame, feats, features.FEATURES, features.MARKET_FEATURES,
                         BacktestConfig(evaluation_seasons=("2021-2022",), strengths_lower_division=False, **FAST)).oos
    e0 = frame["competition_id"] == "E0"
    evaluated = (frame["season"] == "2021-2022") & e0
    lower_p = default.loc[evaluated, [f"{MLE_LOWER}_{c}" for c in P]].to_numpy()
    same_p = default.loc[evaluated, [f"{MLE}_{c}" for c in P]].to_numpy()
    assert np.abs(lower_p - same_p).max() > 0.005  # the second tier moved the strengths fit
    # The reference is the walk without the division below, whatever the strengths fit sees.
    np.testing.assert_allclose(same_p, alone.loc[evaluated, [f"{MLE}_{c}" for c in P]].to_numpy())
    np.testing.assert_allclose(alone.loc[evaluated, [f"{MLE_LOWER}_{c}" for c in P]].to_numpy(), same_p)
    # The walk's E1 rows never become predictions: only the competition's matches are walked.
    assert default.index.isin(frame.index[e0]).all()


@pytest.fixture(scope="module")
def two_seasons() -> pd.DataFrame:
    frame = real_frame()
    return frame[frame["season"].isin(["2019-2020", "2020-2021"])].copy()


def test_mle_walk_features_never_see_their_own_block_or_later(two_seasons):
    config = BacktestConfig(cadence="month")
    starts = [start for start, rows in blocks(two_seasons, "month") if two_seasons["season"].iat[rows[0]] == "2020-2021"]
    comp = two_seasons[two_seasons["match_date"] < starts[5]]  # five monthly refits are enough
    cut = starts[3]
    before = mle_walk(comp, config)
    assert list(before.columns) == DC_FEATURES
    assert before.loc[comp["season"] == "2019-2020"].isna().all().all()  # no earlier season to fit on
    assert before.loc[comp["season"] == "2020-2021"].notna().all().all()
    # Rewrite every result from the cut on (other scores, some matches not played at all).
    altered = comp.copy()
    later = altered["match_date"] >= cut
    rng = np.random.default_rng(0)
    altered.loc[later, "home_goals"] = rng.integers(0, 7, later.sum()).astype(float)
    altered.loc[later, "away_goals"] = rng.integers(0, 7, later.sum()).astype(float)
    altered.loc[later & (rng.random(len(altered)) < 0.2), ["home_goals", "away_goals"]] = np.nan
    after = mle_walk(altered, config)
    # The cut's own block is fitted on matches before it: unchanged too.
    known = comp["match_date"] < starts[4]
    pd.testing.assert_frame_equal(after[known], before[known])
    assert not np.allclose(after.loc[~known, "dc_p_home"], before.loc[~known, "dc_p_home"])
    p = before.loc[known & (comp["season"] == "2020-2021"), ["dc_p_home", "dc_p_draw", "dc_p_away"]]
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)


# --- a whole (fast) walk-forward run -----------------------------------------------------------------


@pytest.fixture(scope="module")
def run():
    frame = real_frame()
    feats = features.build_features(frame)
    config = BacktestConfig(evaluation_seasons=("2021-2022",), **FAST)
    return frame, run_backtest(frame, feats, features.FEATURES, features.MARKET_FEATURES, config)


def test_one_prediction_per_match_and_model(run):
    frame, result = run
    predictions = result.predictions
    assert set(predictions["model"]) == {MLE, MLE_LOWER, XGB, XGB_NO_ODDS, MARKET_OPEN, MARKET}  # no Bayesian/stacks
    evaluation = frame[frame["season"] == "2021-2022"]
    for model, part in predictions.groupby("model"):
        assert len(part) == 380 and part["match_id"].is_unique, model
        assert set(part["match_id"]) == set(evaluation["match_id"]), model
    assert set(predictions["season"]) == {"2021-2022"}
    np.testing.assert_allclose(predictions[P].sum(axis=1), 1.0, atol=1e-9)
    assert (predictions[P] > 0).all().all()
    # Burn-in season walked (to give the stacks history) but not scored; one refit per month.
    assert set(result.fits["season"]) == {"2020-2021", "2021-2022"}
    assert result.fits["n_predicted"].sum() == 2 * 380
    assert result.oos.loc[frame["season"] == "2020-2021", f"{XGB}_p_home"].notna().all()


def test_market_row_is_the_shin_devig_of_closing_odds(run):
    frame, result = run
    rows = result.predictions[result.predictions["model"] == MARKET].set_index("match_id")
    source = frame.set_index("match_id").loc[rows.index]
    expected = market.shin(source[["odds_close_home", "odds_close_draw", "odds_close_away"]].to_numpy())
    np.testing.assert_allclose(rows[P].to_numpy(), expected, atol=1e-9)
    opening = result.predictions[result.predictions["model"] == MARKET_OPEN].set_index("match_id").loc[rows.index]
    assert not np.allclose(opening[P].to_numpy(), expected)  # the pre-match line is a different price
    assert (rows["result"] == source["result"]).all()


def test_scores_table_has_every_model_and_the_market_beside_it(run):
    _, result = run
    scores = result.scores
    assert set(scores["model"]) == {MLE, MLE_LOWER, XGB, XGB_NO_ODDS, MARKET_OPEN, MARKET}
    assert set(scores["season"]) == {"2021-2022", "all"}
    overall = scores[scores["season"] == "all"].set_index("model")
    assert (overall["n"] == 380).all()
    assert (overall["market_n"] == 380).all()
    market_rps = overall.loc[MARKET, "rps"]
    np.testing.assert_allclose(overall["market_rps"], market_rps)
    assert result.score_of(MLE)["rps"] == pytest.approx(overall.loc[MLE, "rps"])
    assert result.score_of("no-such-model") == {}
    # Each model's RPS minus the market's, paired on the same matches, with a date-clustered standard error.
    models = overall.drop(index=MARKET)
    np.testing.assert_allclose(models["rps_vs_market"], models["rps"] - market_rps, atol=1e-12)
    assert ((models["rps_vs_market_se"] > 0.0005) & (models["rps_vs_market_se"] < 0.01)).all()
    assert np.isnan(overall.loc[MARKET, "rps_vs_market"])
    # Honest out-of-sample numbers: better than base rates, not better than the closing line by much.
    for model, row in overall.iterrows():
        assert market_rps - 0.003 < row["rps"] < 0.215, model
        assert 0.40 < row["accuracy"] < 0.62, model


def test_score_table_scores_only_matches_every_model_predicted():
    y = ["H", "D", "A", "H"]
    rows = []
    for model, ids in (("xgboost", [1, 2, 3, 4]), ("dixon_coles_mle", [1, 2, 3]), ("market", [1, 2, 3, 4])):
        for i in ids:
            rows.append({"match_id": i, "date": pd.Timestamp("2022-01-01") + pd.Timedelta(days=i),
                         "season": "2021-2022", "model": model, "p_home": 0.5, "p_draw": 0.3, "p_away": 0.2,
                         "result": y[i - 1]})
    rows.append({**rows[0], "match_id": 9, "result": None})  # unplayed: never scored
    scores = score_table(pd.DataFrame(rows))
    assert (scores["n"] == 3).all()
    assert list(scores["model"].unique()) == ["dixon_coles_mle", "xgboost", "market"]  # MODELS order, market last
    expected = metrics.rps(np.tile([0.5, 0.3, 0.2], (3, 1)), metrics.outcome_index(y[:3])).mean()
    np.testing.assert_allclose(scores["rps"], expected)
    np.testing.assert_allclose(scores["market_rps"], expected)
    assert score_table(pd.DataFrame(rows[:0], columns=list(rows[0]))).empty
    # paired RPS of two models on the matches both predicted and that were played
    ml = [r for r in rows if r["model"] == "dixon_coles_mle"]
    for r, p_home in zip(ml, (0.7, 0.2, 0.1), strict=True):
        r.update(p_home=p_home, p_draw=0.8 - p_home, p_away=0.2)
    d = evaluate.paired_rps(pd.DataFrame(rows), "dixon_coles_mle", "xgboost")
    sharp = metrics.rps(np.array([[0.7, 0.1, 0.2], [0.2, 0.6, 0.2], [0.1, 0.7, 0.2]]), metrics.outcome_index(y[:3]))
    assert d.n == 3 and d.mean == pytest.approx((sharp - metrics.rps(np.tile([0.5, 0.3, 0.2], (3, 1)),
                                                                    metrics.outcome_index(y[:3]))).mean())
    with pytest.raises(ValueError, match="share 0 scored matches"):
        evaluate.paired_rps(pd.DataFrame(rows), "dixon_coles_mle", "no-such-model")


def test_evaluation_season_errors():
    frame = real_frame()
    feats = pd.DataFrame(index=frame.index)
    with pytest.raises(ValueError, match="first season in the data"):
        run_backtest(frame, feats, [], [], BacktestConfig(evaluation_seasons=("2018-2019", "2019-2020"), **FAST))
    with pytest.raises(ValueError, match=r"no matches for evaluation season\(s\) 2030-2031"):
        run_backtest(frame, feats, [], [], BacktestConfig(evaluation_seasons=("2021-2022", "2030-2031"), **FAST))
    with pytest.raises(ValueError, match="seasons present: none"):
        run_backtest(frame, feats, [], [], BacktestConfig(competition="SP1", evaluation_seasons=("2021-2022",),
                                                          **FAST))


def test_evaluation_seasons_far_behind_the_as_of_date_are_flagged():
    config = BacktestConfig(evaluation_seasons=("2021-2022", "2022-2023"))
    # The as-of season itself, and the season after the last evaluated one, are recent enough.
    assert stale_evaluation(config, dt.date(2023, 4, 1)) is None
    assert stale_evaluation(config, dt.date(2023, 8, 12)) is None
    assert stale_evaluation(config, dt.date(2024, 5, 19)) is None
    # A deployment that kept the default seasons into 2026-27: the stacks would be weighted on 2022-23.
    why = stale_evaluation(config, dt.date(2026, 12, 6))
    assert why is not None
    assert "latest evaluation season 2022-2023 ended 3 season(s) before the as-of season 2026-2027" in why
    assert "FOOTBALL_MODELS_EVALUATION_SEASONS=auto follows the as-of date, or e.g. 2025-2026 (and 2026-2027 once" in why
    assert stale_evaluation(config, dt.date(2024, 8, 1)) is not None  # 2024-25 begins: one season missed
    # Chosen by `auto`, seasons that far behind mean the data stops early: the message says to load more.
    why = stale_evaluation(config, dt.date(2026, 12, 6), automatic=True)
    assert "no later season of E0 has 100 played matches before the as-of date: load 2025-2026 and 2026-2027" in why


def test_auto_evaluation_follows_the_as_of_date():
    frame = real_frame()  # E0 2018-19 .. 2021-22, every result known
    # Deep into a season: that season alone.
    assert recent_evaluation_seasons(frame, "E0", dt.date(2021, 3, 1)) == ("2020-2021",)
    # Its first weeks (fewer than 100 matches played before the as-of date): the season before is scored
    # beside them, so the stacks still see this season's first matchweeks.
    opening = frame[(frame["season"] == "2021-2022") & (frame["match_date"] < pd.Timestamp("2021-09-20"))]
    assert 0 < len(opening) < 100
    assert recent_evaluation_seasons(frame, "E0", dt.date(2021, 9, 20)) == ("2020-2021", "2021-2022")
    # From the 100th played match on, the as-of season alone (results on/after the as-of date do not count).
    hundredth = frame[frame["season"] == "2021-2022"]["match_date"].iloc[99]
    assert recent_evaluation_seasons(frame, "E0", (hundredth - pd.Timedelta(days=1)).date()) == (
        "2020-2021", "2021-2022")
    assert recent_evaluation_seasons(frame, "E0", (hundredth + pd.Timedelta(days=1)).date()) == ("2021-2022",)
    # The summer before a season, and data that stops years before the as-of date: the last full season.
    assert recent_evaluation_seasons(frame, "E0", dt.date(2022, 7, 15)) == ("2021-2022",)
    assert recent_evaluation_seasons(frame, "E0", dt.date(2026, 12, 7)) == ("2021-2022",)
    # The as-of season's fixtures without results count as nothing: scheduled rows are not played ones.
    hidden = data.split_as_of(frame, dt.date(2021, 9, 20))
    assert recent_evaluation_seasons(hidden, "E0", dt.date(2021, 9, 20)) == ("2020-2021", "2021-2022")
    # No season with 100 results yet (the first weeks of the data, a competition without data): the
    # latest season with a result, else the as-of season; the backtest says what is missing.
    assert recent_evaluation_seasons(frame, "E0", dt.date(2018, 10, 1)) == ("2018-2019",)
    assert recent_evaluation_seasons(frame, "SP1", dt.date(2021, 3, 1)) == ("2020-2021",)
    with pytest.raises(ValueError, match="evaluation starts with the first season in the data"):
        run_backtest(frame, features.build_features(frame), [], [],
                     BacktestConfig(evaluation_seasons=recent_evaluation_seasons(frame, "E0", dt.date(2018, 10, 1)),
                                    **FAST))


def test_latest_evaluation_follows_the_datas_last_result():
    frame = real_frame()  # E0 2018-19 .. 2021-22, every result known
    # Complete data: its last season, as of the day after its last match (22 May 2022).
    assert latest_evaluation_seasons(frame, "E0") == (("2021-2022",), dt.date(2022, 5, 23))
    # Data that stops early in a season: the season before, scored beside the new one's first matches.
    opening = data.split_as_of(frame, dt.date(2021, 9, 20))
    seasons, as_of = latest_evaluation_seasons(opening, "E0")
    assert seasons == ("2020-2021", "2021-2022") and as_of == dt.date(2021, 9, 20)  # last result: 19 Sept
    # A season that has its 100th result: that season alone, whatever fixtures follow.
    hundredth = frame[frame["season"] == "2021-2022"]["match_date"].iloc[99]
    assert latest_evaluation_seasons(data.split_as_of(frame, (hundredth + pd.Timedelta(days=1)).date()),
                                     "E0")[0] == ("2021-2022",)
    # Fixtures only (or another league's rows): nothing to evaluate on, said before any walk.
    with pytest.raises(ValueError, match="SP1: no played match to evaluate on"):
        latest_evaluation_seasons(frame, "SP1")
    fixtures = frame.assign(result=None, home_goals=np.nan, away_goals=np.nan)
    with pytest.raises(ValueError, match="E0: no played match"):
        latest_evaluation_seasons(fixtures, "E0")


def test_only_the_as_of_seasons_first_matches_beside_a_scored_season_may_be_few():
    both = BacktestConfig(evaluation_seasons=("2020-2021", "2021-2022"))
    early = dt.date(2021, 9, 20)
    assert short_evaluation_seasons(both, {"2020-2021": 380, "2021-2022": 40}, early) == []
    # Alone, or beside a season that is short itself, the as-of season must reach the minimum.
    assert short_evaluation_seasons(BacktestConfig(evaluation_seasons=("2021-2022",)), {"2021-2022": 40},
                                    early) == ["2021-2022"]
    assert short_evaluation_seasons(both, {"2020-2021": 60, "2021-2022": 40}, early) == ["2020-2021", "2021-2022"]
    # A season that is over is never excused.
    assert short_evaluation_seasons(both, {"2020-2021": 380, "2021-2022": 40}, dt.date(2022, 8, 1)) == ["2021-2022"]


def test_xgboost_sits_out_until_enough_earlier_matches_have_features(two_seasons):
    """Evaluating the second season in the data: Dixon-Coles features exist only from that season on, so the
    first refits have (almost) nothing to train XGBoost on; it sits out those steps instead of failing, and
    the scores are taken on the matches every model predicted."""
    feats = features.build_features(two_seasons)
    config = BacktestConfig(evaluation_seasons=("2020-2021",), **{**FAST, "burn_in_seasons": 0})
    result = run_backtest(two_seasons, feats, features.FEATURES, features.MARKET_FEATURES, config)
    fits = result.fits
    assert fits["xgboost_train"].iat[0] == 0
    assert fits["xgboost_train"].is_monotonic_increasing
    counts = result.predictions["model"].value_counts()
    assert counts[MLE] == counts[MLE_LOWER] == counts[MARKET] == 380
    trained = int(fits.loc[fits["xgboost_train"] >= MIN_TRAIN, "n_predicted"].sum())
    assert 0 < trained < 380
    assert counts[XGB] == counts[XGB_NO_ODDS] == trained
    assert (result.scores["n"] == trained).all()


# --- the stacks' pass, replayed on saved predictions ----------------------------------------------------


def _with_stand_in_bayes(oos: pd.DataFrame) -> pd.DataFrame:
    """The fast run has no Bayesian model: the MLE's out-of-sample probabilities stand in for it."""
    saved = oos.copy()
    for column in P:
        saved[f"{BAYES}_{column}"] = saved[f"{MLE}_{column}"]
    return saved


def test_restack_fills_both_ensembles_from_earlier_predictions_only(run):
    frame, result = run
    config = result.config
    saved = _with_stand_in_bayes(result.oos)
    replay = restack(frame, saved, config)
    models = set(replay.predictions["model"])
    assert {ENSEMBLE, ENSEMBLE_NO_ODDS} <= models
    for name in (ENSEMBLE, ENSEMBLE_NO_ODDS):
        part = replay.predictions[replay.predictions["model"] == name]
        assert len(part) == 380 and set(part["season"]) == {"2021-2022"}
        np.testing.assert_allclose(part[P].sum(axis=1), 1.0, atol=1e-9)
    assert len(replay.fits) == len([b for b in blocks(frame[frame["competition_id"] == "E0"], "month")
                                    if frame[frame["competition_id"] == "E0"]["season"].iat[b[1][0]] == "2021-2022"])
    # Deterministic, and blind to the future: scrambling the results from a block on leaves every
    # stacked prediction before that block unchanged (and changes later ones).
    comp = frame[frame["competition_id"] == "E0"]
    cut = pd.Timestamp("2022-01-01")
    altered = saved.copy()
    later = (altered["match_date"] >= cut) & altered["result"].notna()
    altered.loc[later, "result"] = np.random.default_rng(0).choice(["H", "D", "A"], int(later.sum()))
    frame_altered = frame.copy()
    frame_altered.loc[altered.index, "result"] = altered["result"]
    again = restack(frame, saved, config)
    scrambled = restack(frame_altered, altered, config)
    for name in (ENSEMBLE, ENSEMBLE_NO_ODDS):
        columns = [f"{name}_{c}" for c in P]
        pd.testing.assert_frame_equal(again.oos[columns], replay.oos[columns])
        before = comp.index[(comp["season"] == "2021-2022") & (comp["match_date"] < cut)]
        np.testing.assert_array_equal(scrambled.oos.loc[before, columns].to_numpy(),
                                      replay.oos.loc[before, columns].to_numpy())
        after = comp.index[comp["match_date"] >= pd.Timestamp("2022-03-01")]
        assert not np.allclose(scrambled.oos.loc[after, columns].to_numpy(), replay.oos.loc[after, columns].to_numpy())


def test_ensemble_falls_back_to_the_stack_without_odds_where_there_are_no_odds(run):
    frame, result = run
    saved = _with_stand_in_bayes(result.oos)
    comp = frame[frame["competition_id"] == "E0"]
    # The pre-match prices of one month of the evaluation season are missing.
    gone = comp.index[(comp["match_date"] >= "2021-11-01") & (comp["match_date"] < "2021-12-01")]
    assert 20 < len(gone) < 60
    saved.loc[gone, [f"{MARKET_OPEN}_{c}" for c in P]] = np.nan
    replay = restack(frame, saved, result.config)
    ensemble, no_odds = ([f"{name}_{c}" for c in P] for name in (ENSEMBLE, ENSEMBLE_NO_ODDS))
    # Every match keeps an ensemble prediction (scored with the others), and where odds were missing
    # it is the stack without odds, as the production ensemble serves it.
    evaluated = comp.index[comp["season"] == "2021-2022"]
    assert replay.oos.loc[evaluated, ensemble].notna().all().all()
    np.testing.assert_array_equal(replay.oos.loc[gone, ensemble].to_numpy(), replay.oos.loc[gone, no_odds].to_numpy())
    kept = evaluated.difference(gone)
    assert not np.allclose(replay.oos.loc[kept, ensemble].to_numpy(), replay.oos.loc[kept, no_odds].to_numpy())
    assert (replay.predictions["model"] == ENSEMBLE).sum() == 380


def test_restack_refuses_predictions_of_other_matches(run):
    frame, result = run
    saved = _with_stand_in_bayes(result.oos)
    shifted = saved.copy()
    shifted["match_date"] = shifted["match_date"] + pd.Timedelta(days=1)
    with pytest.raises(ValueError, match="do not line up"):
        restack(frame, shifted, result.config)
    with pytest.raises(ValueError, match="no saved predictions"):
        restack(frame, saved.iloc[10:], result.config)


def test_the_config_refuses_seasons_and_cadences_it_cannot_walk():
    assert BacktestConfig(evaluation_seasons=("2021-2022", "2022-2023"), cadence="week").cadence == "week"
    with pytest.raises(ValueError, match="evaluation season '22-23' is not a season"):
        BacktestConfig(evaluation_seasons=("22-23",))
    with pytest.raises(ValueError, match="no evaluation seasons given"):
        BacktestConfig(evaluation_seasons=())
    # A typo in FOOTBALL_MODELS_CADENCE used to walk monthly without a word.
    with pytest.raises(ValueError, match="unknown refit cadence 'weekly' \\(one of matchweek, week, month\\)"):
        BacktestConfig(cadence="weekly")
    with pytest.raises(ValueError, match="window of 0 seasons: between 1 and 6"):
        BacktestConfig(window_seasons=0)  # the last 0 seasons, [-0:], was every season
    with pytest.raises(ValueError, match="window of 7 seasons"):
        BacktestConfig(window_seasons=7)
    with pytest.raises(ValueError, match="burn-in of -1 seasons"):
        BacktestConfig(burn_in_seasons=-1)


# --- resuming a walk from an earlier walk's checkpoint ------------------------------------------------------


RESUMABLE = BacktestConfig(
    evaluation_seasons=("2021-2022",), cadence="month", burn_in_seasons=0,
    bayes=DixonColesConfig(num_warmup=60, num_samples=30, num_chains=2, warm_warmup=20),
    xgboost=XGBoostConfig(n_estimators=20, n_jobs=1))


def _walk(frame: pd.DataFrame, resume: WalkCheckpoint | None = None, config: BacktestConfig = RESUMABLE):
    return run_backtest(frame, features.build_features(frame), features.FEATURES, features.MARKET_FEATURES, config,
                        resume=resume)


def test_fixture_blocks_in_a_row_are_one_step_per_season():
    day = [pd.Timestamp(f"2022-04-{d:02d}") for d in range(1, 8)]
    steps = [(day[k], np.array([2 * k, 2 * k + 1])) for k in range(7)]
    played = np.array([True] * 3 + [False] * 11)  # block 1 half played, blocks 2.. fixtures
    seasons = np.array(["2021-2022"] * 10 + ["2022-2023"] * 4)
    merged = merge_fixture_blocks(steps, played, seasons)
    assert [(start.day, rows.tolist()) for start, rows in merged] == [
        (1, [0, 1]), (2, [2, 3]), (3, list(range(4, 10))), (6, [10, 11, 12, 13])]
    assert merge_fixture_blocks(steps, np.ones(14, bool), seasons) == steps


def test_a_resumed_walk_draws_exactly_what_a_walk_from_the_start_draws(tmp_path):
    """Last week's walk (results from 2022-01-10 on unknown) leaves a checkpoint; this week's walk takes
    over its refits up to the block whose inputs changed, restores the Bayesian sampler's state there and
    refits the rest: every prediction, the stacks' included, is bit for bit the walk from the start's."""
    frame = real_frame()
    cut = dt.date(2022, 1, 10)
    last_week = _walk(data.with_promoted(data.split_as_of(frame, cut)))
    assert last_week.reused_steps == 0
    last_week.checkpoint.dump(tmp_path / "walk.pkl.gz")  # as it travels through MLflow
    saved = WalkCheckpoint.load(tmp_path / "walk.pkl.gz")
    assert len(saved.steps) == len(last_week.fits) and saved.steps[-1].sampler is not None
    # The fixtures after the cut are one step (one refit on what was known), not one per month.
    # (January's block holds the last results before the cut; February's on are fixtures.)
    assert last_week.fits["refit_date"].astype(str).tolist()[-2:] == ["2022-01-01", "2022-02-05"]
    assert last_week.fits["n_predicted"].sum() == 380
    # The stacks walk the same steps: the fixtures are one stack block too, not one per remaining month.
    assert [(s.refit_date, s.match_ids) for s in saved.stacks] == [(s.refit_date, s.match_ids) for s in saved.steps]
    assert last_week.fits["stack_seconds"].iloc[-1] > 0  # the fixture step's stacks, timed on its row

    resumed = _walk(frame, saved)
    scratch = _walk(frame)
    pd.testing.assert_frame_equal(resumed.predictions, scratch.predictions)
    pd.testing.assert_frame_equal(resumed.oos, scratch.oos)
    pd.testing.assert_frame_equal(resumed.scores, scratch.scores)
    # Taken over: the blocks whose last match day is before the cut (their inputs are the same), no more.
    ends = [frame.loc[frame["match_id"].isin(step.match_ids), "match_date"].max() for step in saved.steps]
    unchanged = sum(end < pd.Timestamp(cut) for end in ends)
    assert 0 < unchanged < len(saved.steps)
    assert resumed.reused_steps == unchanged
    assert resumed.fits["reused"].tolist() == [True] * unchanged + [False] * (len(resumed.fits) - unchanged)
    assert {ENSEMBLE, ENSEMBLE_NO_ODDS, BAYES} <= set(resumed.predictions["model"])
    # The ML Dixon-Coles walk (every block of every season: strengths for XGBoost, MLE_LOWER) and the
    # stacks' walk are taken over the same way: the blocks that end before the cut, as saved, no more.
    walk = saved.mle["strengths"]
    before = sum(frame.loc[frame["match_id"].isin(step.match_ids), "match_date"].max() < pd.Timestamp(cut)
                 for step in walk)
    assert unchanged < before < len(walk)  # monthly blocks of 2018-19 to 2021-22
    assert resumed.taken_over == {"mle_blocks": before, "stack_blocks": unchanged}
    assert [a is b for a, b in zip(resumed.checkpoint.mle["strengths"], walk, strict=True)] == (
        [True] * before + [False] * (len(walk) - before))
    # (Last week's fixture step is this week's played months: the resumed walk has more stack steps.)
    assert len(resumed.checkpoint.stacks) > len(saved.stacks)
    assert [a is b for a, b in zip(resumed.checkpoint.stacks, saved.stacks, strict=False)] == (
        [True] * unchanged + [False] * (len(saved.stacks) - unchanged))
    assert scratch.taken_over == {"mle_blocks": 0, "stack_blocks": 0}
    # What the ML walk wrote, taken over or refitted, is the walk from the start's to the last bit.
    pd.testing.assert_frame_equal(
        pd.DataFrame([v for step in resumed.checkpoint.mle["strengths"] if step.values is not None
                      for v in step.values]),
        pd.DataFrame([v for step in scratch.checkpoint.mle["strengths"] if step.values is not None
                      for v in step.values]))



def test_a_corrected_result_refits_its_block_and_every_later_one(run):
    """(Without the Bayesian model, to stay quick.) A result corrected in the third block of the walk: the
    two blocks before it are taken over, the rest refitted, and the result is the walk from the start's."""
    frame, result = run
    corrected = frame.copy()
    third = corrected["match_id"].isin(result.checkpoint.steps[2].match_ids)
    corrected.loc[corrected.index[third][0], "home_goals"] += 1
    resumed = _walk(corrected, result.checkpoint, result.config)
    assert resumed.reused_steps == 2
    # The correction is in the burn-in season, before the stacks' first block: the stacks are all refitted.
    assert result.checkpoint.steps[2].refit_date < dt.date(2021, 8, 1)
    assert resumed.taken_over["stack_blocks"] == 0 < resumed.taken_over["mle_blocks"]
    pd.testing.assert_frame_equal(resumed.predictions, _walk(corrected, config=result.config).predictions)
    # Nothing changed: every refit and every block of the ML and stacks' walks is taken over. Another
    # configuration: none is.
    again = _walk(frame, result.checkpoint, result.config)
    assert again.reused_steps == len(result.fits)
    assert result.checkpoint.mle["reference"] is result.checkpoint.mle["strengths"]  # no E1 here: one ML walk
    assert again.taken_over == {"mle_blocks": len(result.checkpoint.mle["strengths"]),
                                "stack_blocks": len(result.checkpoint.stacks)}
    pd.testing.assert_frame_equal(again.oos, result.oos)
    other = BacktestConfig(**{**result.config.__dict__, "window_seasons": 2})
    assert _walk(frame, result.checkpoint, other).reused_steps == 0


def test_the_production_strengths_walk_takes_over_the_backtests_blocks(run):
    frame, result = run
    feats = features.build_features(frame)
    fresh = strengths_walk(frame, feats, result.config)
    assert fresh.reused == 0
    resumed = strengths_walk(frame, feats, result.config, result.checkpoint)
    assert resumed.reused == len(resumed.steps) == len(result.checkpoint.mle["strengths"])
    pd.testing.assert_frame_equal(resumed.values, fresh.values)
    # The backtest's MLE_LOWER member is these strengths' probabilities.
    assert np.array_equal(result.oos[f"{MLE_LOWER}_p_home"].to_numpy(), fresh.values.loc[result.oos.index, "dc_p_home"].to_numpy(),
                          equal_nan=True)
    # A month later (March's results now known), only the blocks from the new results on are fitted.
    cut = pd.Timestamp("2022-03-01")
    later = data.with_promoted(data.split_as_of(frame, cut.date()))
    earlier = run_backtest(later, features.build_features(later), features.FEATURES, features.MARKET_FEATURES,
                           result.config)
    caught_up = strengths_walk(frame, feats, result.config, earlier.checkpoint)
    starts = [step.refit_date for step in caught_up.steps]
    assert caught_up.reused == sum(1 for step in earlier.checkpoint.mle["strengths"]
                                   if frame.loc[frame["match_id"].isin(step.match_ids), "match_date"].max() < cut)
    assert 0 < caught_up.reused < len(starts)
    pd.testing.assert_frame_equal(caught_up.values, fresh.values)
    # Another configuration: nothing is taken over.
    other = BacktestConfig(**{**result.config.__dict__, "window_seasons": 2})
    assert strengths_walk(frame, feats, other, result.checkpoint).reused == 0


def test_step_fingerprints_see_every_input_up_to_the_block_and_nothing_after():
    frame = real_frame()
    feats = features.build_features(frame)
    days = [pd.Timestamp(d) for d in ("2019-09-30", "2020-06-30", "2021-09-30", "2022-05-31")]
    base = step_fingerprints(frame, feats, BacktestConfig(), days)
    assert len(set(base)) == 4

    def after(change) -> list[bool]:
        altered_frame, altered_feats = change(frame.copy(), feats.copy())
        return [a == b for a, b in zip(step_fingerprints(altered_frame, altered_feats, BacktestConfig(), days), base,
                                       strict=True)]

    late = frame.index[frame["match_date"] == frame.loc[frame["match_date"] > "2021-01-01", "match_date"].min()][0]

    def result(f, x):
        f.loc[late, "away_goals"] += 1
        return f, x

    def odds(f, x):
        f.loc[late, "odds_open_home"] = 9.9
        return f, x

    def feature(f, x):
        x.loc[late, "elo_diff"] += 1.0
        return f, x

    def removed(f, x):
        return f.drop(index=late), x.drop(index=late)

    for change in (result, odds, feature, removed):
        assert after(change) == [True, True, False, False], change.__name__
    # Other competitions' rows reach the features (and so the digest) only through them.
    other = frame.iloc[:5].assign(competition_id="SP1", match_id=lambda f: "SP1:" + f["match_id"])
    assert step_fingerprints(pd.concat([frame, other]), feats, BacktestConfig(), days) == base

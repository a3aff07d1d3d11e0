"""The modelling frame (data.py): loading from the warehouse, the bookmaker preference, hiding results from
an as-of date, and the promotion flags with their fading `newness`.

`real_frame()` (bundled E0 seasons loaded through the pipeline into SQLite) is shared with the backtest and
production tests; it is built once per process."""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from football_pipeline import pipeline
from football_pipeline.modelling import data
from football_pipeline.warehouse import engine as engines
from football_pipeline_tests.conftest import TODAY, copy_bundled

REAL_SEASONS = ("1819", "1920", "2021", "2122")


@functools.cache
def _warehouse() -> str:
    scratch = Path(tempfile.mkdtemp(prefix="modelling-tests-"))
    atexit.register(shutil.rmtree, scratch, True)
    copy_bundled(scratch / "data", *(f"football-data/E0/{code}.csv" for code in REAL_SEASONS))
    url = f"sqlite:///{scratch / 'warehouse.sqlite'}"
    engine = engines.create_engine(url)
    summary = pipeline.load_directory(engine, scratch / "data", today=TODAY)
    engine.dispose()
    assert summary.loaded == len(REAL_SEASONS) and not summary.refused, summary
    return url


@functools.cache
def _real_frame() -> pd.DataFrame:
    engine = engines.create_engine(_warehouse())
    try:
        return data.with_promoted(data.load_matches(engine))
    finally:
        engine.dispose()


def real_frame() -> pd.DataFrame:
    """E0 2018-19 .. 2021-22 as `data.with_promoted(data.load_matches(...))` gives it (a copy per caller)."""
    return _real_frame().copy()


# --- loading -----------------------------------------------------------------------------------------


def test_load_matches_reads_results_stats_and_pinnacle_prices():
    frame = real_frame()
    assert len(frame) == 4 * 380
    assert frame["match_date"].is_monotonic_increasing
    assert frame["match_id"].is_unique
    assert sorted(frame["season"].unique()) == ["2018-2019", "2019-2020", "2020-2021", "2021-2022"]
    goals = np.sign(frame["home_goals"] - frame["away_goals"])
    assert (frame["result"] == np.select([goals > 0, goals == 0], ["H", "D"], "A")).all()
    assert (frame["odds_bookmaker"] == "pinnacle").all()
    # Brentford 2-0 Arsenal, 13 August 2021: the row as the source file has it (PSH/PSD/PSA, PSCH/PSCD/PSCA).
    row = frame[frame["match_id"] == "E0:2021-2022:brentford:arsenal"].iloc[0]
    assert row["match_date"] == pd.Timestamp("2021-08-13")
    assert (row["home_goals"], row["away_goals"], row["result"]) == (2.0, 0.0, "H")
    assert (row["home_shots"], row["away_shots"], row["home_sot"], row["away_sot"]) == (8.0, 22.0, 3.0, 4.0)
    assert (row["odds_open_home"], row["odds_open_draw"], row["odds_open_away"]) == (4.05, 3.46, 2.05)
    assert (row["odds_close_home"], row["odds_close_draw"], row["odds_close_away"]) == (3.94, 3.33, 2.13)
    assert row["home_promoted"] == 1.0 and row["home_newness"] == 1.0 and row["away_promoted"] == 0.0


def test_load_matches_filters_competitions_and_seasons():
    engine = engines.create_engine(_warehouse())
    try:
        one = data.load_matches(engine, competitions=["E0"], seasons=["2020-2021"])
        none = data.load_matches(engine, competitions=["SP1"])
    finally:
        engine.dispose()
    assert len(one) == 380 and set(one["season"]) == {"2020-2021"}
    assert one["odds_close_home"].notna().all()
    assert none.empty


# --- bookmaker preference ----------------------------------------------------------------------------


def _odds(rows: list[tuple[str, str, str, float]], phase: str = "closing") -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["match_id", "bookmaker", "outcome", "price"]).assign(phase=phase)


def _triple(match: str, bookmaker: str, home: float, draw: float, away: float) -> list[tuple]:
    return [(match, bookmaker, "home", home), (match, bookmaker, "draw", draw), (match, bookmaker, "away", away)]


def test_prices_prefer_pinnacle_then_market_average_then_bet365():
    odds = _odds([
        *_triple("m1", "bet365", 2.0, 3.0, 4.0), *_triple("m1", "market_avg", 2.1, 3.1, 4.1),
        *_triple("m1", "pinnacle", 2.2, 3.2, 4.2),
        *_triple("m2", "bet365", 1.5, 4.0, 6.0), *_triple("m2", "market_avg", 1.6, 4.1, 6.1),
        *_triple("m3", "bet365", 3.0, 3.0, 2.5),
    ])
    chosen = data._prices(odds)
    assert chosen.loc["m1", "bookmaker"] == "pinnacle" and chosen.loc["m1", "home"] == 2.2
    assert chosen.loc["m2", "bookmaker"] == "market_avg" and tuple(chosen.loc["m2", ["home", "draw", "away"]]) == (
        1.6, 4.1, 6.1)
    assert chosen.loc["m3", "bookmaker"] == "bet365" and chosen.loc["m3", "away"] == 2.5


def test_prices_skip_an_incomplete_triple():
    odds = _odds([
        ("m1", "pinnacle", "home", 2.2), ("m1", "pinnacle", "away", 4.2),  # no draw price
        *_triple("m1", "bet365", 2.0, 3.0, 4.0),
        ("m2", "pinnacle", "home", 1.9),  # nothing complete at all
    ])
    chosen = data._prices(odds)
    assert list(chosen.index) == ["m1"]
    assert chosen.loc["m1", "bookmaker"] == "bet365" and chosen.loc["m1", "draw"] == 3.0
    assert data._prices(odds.iloc[:0]).empty


def test_assemble_keeps_opening_and_closing_prices_apart():
    matches = pd.DataFrame({
        "match_id": ["m1", "m2"], "kickoff_at": ["2024-01-02T15:00:00Z", "2024-01-01T15:00:00Z"],
        "match_date": ["2024-01-02", "2024-01-01"], "competition_id": "E0", "season": "2023-2024",
        "home_team_id": ["a", "c"], "away_team_id": ["b", "d"], "status": "completed",
        "home_goals": [1, None], "away_goals": [0, None], "result": ["H", None]})
    stats = pd.DataFrame({"match_id": ["m1", "m1"], "is_home": [True, False], "xg_for": [1.2, 0.4],
                          "shots": [10, 5], "shots_on_target": [4, 1]})
    odds = pd.concat([_odds(_triple("m1", "pinnacle", 1.8, 3.5, 5.0), "opening"),
                      _odds(_triple("m1", "pinnacle", 1.7, 3.6, 5.5), "closing"),
                      _odds(_triple("m1", "bet365", 1.6, 3.6, 6.0), "closing")])
    frame = data.assemble(matches, stats, odds)
    assert list(frame["match_id"]) == ["m2", "m1"]  # oldest first
    m1 = frame.set_index("match_id").loc["m1"]
    assert (m1["odds_open_home"], m1["odds_close_home"], m1["odds_bookmaker"]) == (1.8, 1.7, "pinnacle")
    assert (m1["home_xg"], m1["away_xg"], m1["away_shots"]) == (1.2, 0.4, 5.0)
    m2 = frame.set_index("match_id").loc["m2"]
    assert np.isnan(m2["home_goals"]) and np.isnan(m2["odds_open_home"]) and np.isnan(m2["home_xg"])


# --- hiding results from the as-of date --------------------------------------------------------------


HIDDEN = ["home_goals", "away_goals", "home_xg", "away_xg", "home_shots", "away_shots", "home_sot", "away_sot",
          "odds_close_home", "odds_close_draw", "odds_close_away"]


def test_split_as_of_hides_results_from_the_date_on():
    frame = real_frame()
    as_of = dt.date(2021, 1, 1)
    out = data.split_as_of(frame, as_of)
    later = frame["match_date"] >= pd.Timestamp(as_of)
    assert later.any() and (~later).any()
    assert out.loc[later, HIDDEN].isna().all().all()
    assert out.loc[later, "result"].isna().all() and (out.loc[later, "status"] == "scheduled").all()
    # Pre-match information stays: fixtures, opening prices.
    pd.testing.assert_frame_equal(out.loc[later, ["match_id", "home_team_id", "odds_open_home", "home_promoted"]],
                                  frame.loc[later, ["match_id", "home_team_id", "odds_open_home", "home_promoted"]])
    pd.testing.assert_frame_equal(out.loc[~later], frame.loc[~later])
    # The input is not modified.
    assert frame.loc[later, "home_goals"].notna().all()


# --- promotion flags ---------------------------------------------------------------------------------


def _fixtures(rows: list[tuple[str, str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["competition_id", "season", "match_date", "home_team_id", "away_team_id"]
                        ).assign(match_date=lambda f: pd.to_datetime(f["match_date"]))


def test_with_promoted_flags_teams_new_to_the_competition():
    frame = _fixtures([
        ("E0", "2020-2021", "2020-09-01", "a", "b"), ("E0", "2020-2021", "2020-09-01", "c", "d"),
        ("E0", "2021-2022", "2021-08-14", "a", "x"), ("E0", "2021-2022", "2021-08-14", "b", "c"),
        # x played E1 the season before: it is still new to E0.
        ("E1", "2020-2021", "2020-09-01", "x", "y"),
        ("E1", "2021-2022", "2021-08-14", "d", "y"),
    ])
    out = data.with_promoted(frame)
    assert list(out["home_promoted"]) == [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    assert list(out["away_promoted"]) == [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    # The first season of each competition in the frame: no previous season, no flags.
    assert (out.loc[out["season"] == "2020-2021", ["home_promoted", "away_promoted"]] == 0).all().all()
    assert list(frame.columns) == ["competition_id", "season", "match_date", "home_team_id", "away_team_id"]


def test_no_flags_when_the_previous_season_is_missing():
    frame = _fixtures([("E0", "2019-2020", "2019-09-01", "a", "b"), ("E0", "2021-2022", "2021-08-14", "x", "y")])
    out = data.with_promoted(frame)
    assert (out[["home_promoted", "away_promoted", "home_newness", "away_newness"]] == 0).all().all()


def test_newness_halves_every_half_life_of_matches():
    dates = pd.date_range("2021-08-14", periods=13, freq="7D")
    rows = [("E0", "2020-2021", "2020-09-01", "a", "b")]
    for k, day in enumerate(dates):  # newcomer x: home, away, home, ...
        rows.append(("E0", "2021-2022", str(day.date()), *(("x", "a") if k % 2 == 0 else ("b", "x"))))
    rows.append(("E0", "2021-2022", str(dates[0].date()), "y", "b"))  # y is new too, same first day as x
    out = data.with_promoted(_fixtures(rows))
    x = out[(out["home_team_id"] == "x") | (out["away_team_id"] == "x")].sort_values("match_date")
    newness = np.where(x["home_team_id"] == "x", x["home_newness"], x["away_newness"])
    expected = 0.5 ** (np.arange(13) / data.NEWNESS_HALF_LIFE)
    np.testing.assert_allclose(newness, expected)
    assert newness[int(data.NEWNESS_HALF_LIFE)] == pytest.approx(0.5)
    assert newness[2 * int(data.NEWNESS_HALF_LIFE)] == pytest.approx(0.25)
    # Opponents who are not new stay at 0; a second newcomer starts at 1 on the same day.
    opponents = np.where(x["home_team_id"] == "x", x["away_newness"], x["home_newness"])
    assert (opponents == 0).all()
    y = out[out["home_team_id"] == "y"]
    assert y["home_newness"].iat[0] == 1.0 and y["away_newness"].iat[0] == 0.0

"""Point-in-time features: later results never reach earlier features, and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from football_pipeline.modelling import features as F
from football_pipeline.modelling.market import shin

DAY0 = pd.Timestamp("2018-08-01")


def frame(rows) -> pd.DataFrame:
    """Matches from (day offset, home, away, home goals, away goals) tuples plus optional extra
    columns as a dict in a sixth position."""
    records = []
    for k, row in enumerate(rows):
        day, h, a, hg, ag = row[:5]
        extra = row[5] if len(row) > 5 else {}
        record = {
            "match_id": f"m{k}",
            "match_date": DAY0 + pd.Timedelta(days=day),
            "competition_id": "E0",
            "season": "2018-2019",
            "home_team_id": h,
            "away_team_id": a,
            "home_goals": hg,
            "away_goals": ag,
            "home_xg": np.nan,
            "away_xg": np.nan,
            "home_shots": np.nan,
            "away_shots": np.nan,
            "home_sot": np.nan,
            "away_sot": np.nan,
            "odds_open_home": np.nan,
            "odds_open_draw": np.nan,
            "odds_open_away": np.nan,
            "odds_close_home": np.nan,
            "odds_close_draw": np.nan,
            "odds_close_away": np.nan,
        }
        record.update(extra)
        records.append(record)
    out = pd.DataFrame(records)
    for column in out.columns:
        if column not in (
            "match_id",
            "match_date",
            "competition_id",
            "season",
            "home_team_id",
            "away_team_id",
        ):
            out[column] = out[column].astype(float)
    return out


def synthetic(seed: int = 0, n_dates: int = 30) -> pd.DataFrame:
    """Two competitions, several matches a date (teams may meet twice on one date), xG known for about
    half the matches, shots and odds, a few unplayed matches."""
    rng = np.random.default_rng(seed)
    teams = {"E0": [f"t{i}" for i in range(8)], "E1": [f"u{i}" for i in range(6)]}
    rows = []
    for d in range(n_dates):
        day = DAY0 + pd.Timedelta(days=int(3 * d + rng.integers(0, 2)))
        season = "2017-2018" if d < n_dates // 2 else "2018-2019"
        for comp, members in teams.items():
            picked = rng.permutation(members)
            for j in range(0, len(picked) - 1, 2):
                hg, ag = rng.poisson(1.5), rng.poisson(1.1)
                xg_known = rng.random() < 0.5
                prices = 1 / rng.dirichlet([4, 3, 3]) / 1.04
                rows.append(
                    {
                        "match_id": f"{comp}:{d}:{j}",
                        "match_date": day,
                        "competition_id": comp,
                        "season": season,
                        "home_team_id": picked[j],
                        "away_team_id": picked[j + 1],
                        "home_goals": float(hg),
                        "away_goals": float(ag),
                        "home_xg": rng.gamma(2, 0.7) if xg_known else np.nan,
                        "away_xg": rng.gamma(2, 0.6) if xg_known else np.nan,
                        "home_shots": float(rng.poisson(13)),
                        "away_shots": float(rng.poisson(11)),
                        "home_sot": float(rng.poisson(5)),
                        "away_sot": float(rng.poisson(4)),
                        "odds_open_home": prices[0],
                        "odds_open_draw": prices[1],
                        "odds_open_away": prices[2],
                        "odds_close_home": prices[0] * 0.98,
                        "odds_close_draw": prices[1] * 1.01,
                        "odds_close_away": prices[2] * 1.02,
                    }
                )
        # a second match on the same date for two teams that already played that day
        rows.append(
            {
                **rows[-1],
                "match_id": f"E1:{d}:again",
                "home_team_id": rows[-1]["away_team_id"],
                "away_team_id": rows[-1]["home_team_id"],
                "home_goals": float(rng.poisson(1.4)),
            }
        )
    out = pd.DataFrame(rows)
    unplayed = rng.choice(len(out), size=5, replace=False)
    out.loc[unplayed, ["home_goals", "away_goals"]] = np.nan
    return out


# --- contract -------------------------------------------------------------------------------------


def test_columns_index_and_order_follow_the_input():
    matches = synthetic()
    shuffled = matches.sample(frac=1, random_state=3)
    shuffled.index = [f"row{k}" for k in range(len(shuffled))]
    out = F.build_features(shuffled)
    assert list(out.columns) == F.FEATURES + F.MARKET_FEATURES
    assert len(set(out.columns)) == len(out.columns)
    assert out.index.equals(shuffled.index)
    assert all(dtype == np.float64 for dtype in out.dtypes)
    # the same features whatever the input order
    reference = F.build_features(matches).set_index(matches["match_id"])
    assert_frame_equal(
        out.set_index(shuffled["match_id"].to_numpy()).rename_axis("match_id"),
        reference.loc[shuffled["match_id"]],
    )


# --- point in time --------------------------------------------------------------------------------


def test_changing_or_deleting_later_results_leaves_earlier_features_unchanged():
    matches = synthetic()
    cutoff = matches["match_date"].sort_values().iloc[len(matches) // 2]
    later = matches["match_date"] > cutoff
    assert later.any() and (~later).any()
    base = F.build_features(matches)

    rng = np.random.default_rng(99)
    changed = matches.copy()
    for column in ("home_goals", "away_goals"):
        changed.loc[later, column] = rng.poisson(3, later.sum()).astype(float)
    for column in ("home_xg", "away_xg", "home_shots", "away_shots", "home_sot", "away_sot"):
        changed.loc[later, column] = rng.gamma(3, 1.0, later.sum())
    after_change = F.build_features(changed)
    assert_frame_equal(after_change[~later], base[~later])

    deleted = F.build_features(matches[~later])
    assert_frame_equal(deleted, base[~later])

    # positive control: the rewritten results do reach the features of matches after the following date
    later_dates = np.sort(matches.loc[later, "match_date"].unique())
    reached = matches["match_date"] > later_dates[0]
    non_market = F.FEATURES
    assert not np.allclose(
        after_change.loc[reached, non_market].fillna(-1), base.loc[reached, non_market].fillna(-1)
    )
    for column in ("pi_expected_gd", "elo_diff", "form5_home_goals_for", "form5_home_xg_for"):
        assert not np.allclose(
            after_change.loc[reached, column].fillna(-1), base.loc[reached, column].fillna(-1)
        ), column


def test_same_date_matches_do_not_see_each_other():
    matches = synthetic()
    base = F.build_features(matches)
    for date in matches["match_date"].unique()[:10]:
        today = matches["match_date"] == date
        changed = matches.copy()
        changed.loc[today, "home_goals"] = 9.0
        changed.loc[today, "away_goals"] = 0.0
        changed.loc[today, "home_xg"] = 5.0
        out = F.build_features(changed)
        upto = matches["match_date"] <= date
        assert_frame_equal(out[upto], base[upto])


def test_a_team_playing_twice_on_a_date_starts_both_matches_from_the_same_state():
    matches = frame([(0, "A", "B", 5, 0), (0, "A", "C", 0, 4), (0, "C", "A", 3, 3)])
    out = F.build_features(matches)
    for column in ("elo_home", "pi_home_rating", "matches_played_home", "h2h_n"):
        assert out[column].tolist()[:2] == [out[column].iloc[0]] * 2
    assert out["elo_home"].tolist() == [1500.0, 1500.0, 1500.0]
    assert out["h2h_n"].tolist() == [0.0, 0.0, 0.0]
    assert out["rest_home"].isna().all()


def test_unplayed_matches_get_features_but_never_change_the_state():
    played = frame([(0, "A", "B", 2, 0), (7, "B", "C", 1, 1), (14, "C", "A", 0, 3), (21, "A", "B", 1, 2)])
    with_unplayed = pd.concat(
        [
            played,
            frame([(3, "A", "C", np.nan, np.nan), (10, "B", "A", np.nan, np.nan)]).assign(
                match_id=["u1", "u2"]
            ),
        ],
        ignore_index=True,
    )
    out = F.build_features(with_unplayed)
    assert_frame_equal(out.iloc[:4], F.build_features(played))
    # the unplayed match still has features from the state before it
    unplayed = out.iloc[5]  # B v A on day 10: after A 2-0 B (day 0) and B 1-1 C (day 7)
    assert unplayed["matches_played_home"] == 2.0 and unplayed["matches_played_away"] == 1.0
    assert unplayed["rest_home"] == 3.0 and unplayed["rest_away"] == 10.0
    assert unplayed["elo_home"] < 1500.0 < unplayed["elo_away"]


# --- hand-computed values -------------------------------------------------------------------------


def test_pi_ratings_after_one_match():
    # A beats B 2-0 with both at 0: predicted GD 0, e = 2, psi = 3 log10(3) = 1.4314
    out = F.build_features(
        frame([(0, "A", "B", 2, 0), (7, "A", "B", np.nan, np.nan), (7, "B", "A", np.nan, np.nan)])
    )
    change = 0.035 * 3 * math.log10(3)
    assert change == pytest.approx(0.0501, abs=1e-4)
    first, again, reverse = out.iloc[0], out.iloc[1], out.iloc[2]
    assert (
        first["pi_home_rating"] == 0.0 and first["pi_away_rating"] == 0.0 and first["pi_expected_gd"] == 0.0
    )
    assert again["pi_home_rating"] == pytest.approx(change)  # A's home rating, 0.0501
    assert again["pi_away_rating"] == pytest.approx(-change)  # B's away rating, -0.0501
    assert reverse["pi_home_rating"] == pytest.approx(-0.7 * change)  # B's home rating, -0.0351
    assert reverse["pi_away_rating"] == pytest.approx(0.7 * change)  # A's away rating, 0.0351
    assert again["pi_home_rating"] == pytest.approx(0.0501, abs=1e-4)
    assert reverse["pi_away_rating"] == pytest.approx(0.0351, abs=1e-4)
    expected_gd = 2 * (10 ** (change / 3) - 1)
    assert again["pi_expected_gd"] == pytest.approx(expected_gd)
    assert again["pi_rating_diff"] == pytest.approx(2 * change)


def test_pi_update_when_the_result_falls_short_of_the_prediction():
    # home 0.5 vs away -0.5 predicts GD 2(10^(1/6) - 1) = 0.937; a 0-0 draw is below it
    hh, ha, aa, ah = F.pi_update(0.5, 0.2, -0.5, -0.1, 0.0)
    predicted = 2 * (10 ** (0.5 / 3) - 1)
    step = 0.035 * 3 * math.log10(1 + predicted)
    assert (hh, ha, aa, ah) == pytest.approx((0.5 - step, 0.2 - 0.7 * step, -0.5 + step, -0.1 + 0.7 * step))
    # an exact prediction changes nothing
    assert F.pi_update(0.0, 0.0, 0.0, 0.0, 0.0) == (0.0, 0.0, 0.0, 0.0)


def test_elo_after_one_match_and_goal_multiplier():
    out = F.build_features(frame([(0, "A", "B", 2, 0), (5, "A", "B", np.nan, np.nan), (5, "C", "D", 3, 0)]))
    expected_home = 1 / (1 + 10 ** (-60 / 400))
    assert out.iloc[0]["elo_p_home"] == pytest.approx(expected_home)
    assert out.iloc[0]["elo_diff"] == 60.0
    delta = 20 * 1.5 * (1 - expected_home)  # 2-goal win: multiplier 1.5
    assert delta == pytest.approx(12.4348, abs=1e-3)
    nxt = out.iloc[1]
    assert nxt["elo_home"] == pytest.approx(1500 + delta)
    assert nxt["elo_away"] == pytest.approx(1500 - delta)
    assert nxt["elo_diff"] == pytest.approx(2 * delta + 60)
    assert nxt["elo_p_home"] == pytest.approx(1 / (1 + 10 ** (-(2 * delta + 60) / 400)))
    assert [F.elo_goal_multiplier(g) for g in (0, 1, -1, 2, -2, 3, 5)] == [1, 1, 1, 1.5, 1.5, 14 / 8, 16 / 8]


def test_elo_draw_moves_toward_the_weaker_side():
    out = F.build_features(frame([(0, "A", "B", 1, 1), (5, "A", "B", np.nan, np.nan)]))
    delta = 20 * (0.5 - 1 / (1 + 10 ** (-60 / 400)))
    assert out.iloc[1]["elo_home"] == pytest.approx(1500 + delta) and delta < 0


def test_rolling_form_means_with_unknown_xg():
    rows = [
        (
            0,
            "A",
            "B",
            2,
            1,
            {"home_xg": 1.5, "away_xg": 0.5, "home_shots": 10, "away_shots": 4, "home_sot": 5},
        ),
        (
            7,
            "C",
            "A",
            3,
            0,
            {"home_xg": np.nan, "away_xg": np.nan, "home_shots": 8, "away_shots": 12, "away_sot": 2},
        ),
        (14, "A", "D", 1, 1, {"home_xg": 0.7, "away_xg": 1.1}),
        (21, "A", "B", np.nan, np.nan),
        (21, "B", "E", np.nan, np.nan),
        (21, "C", "D", np.nan, np.nan),
    ]
    out = F.build_features(frame(rows)).iloc[3]
    # A: 2-1 (H), 0-3 (A), 1-1 (H); xG for 1.5, ?, 0.7; against 0.5, ?, 1.1
    for w in (5, 10, 20):
        assert out[f"form{w}_home_goals_for"] == pytest.approx(1.0)
        assert out[f"form{w}_home_goals_against"] == pytest.approx(5 / 3)
        assert out[f"form{w}_home_points"] == pytest.approx(4 / 3)
        assert out[f"form{w}_home_xg_for"] == pytest.approx(1.1)
        assert out[f"form{w}_home_xg_against"] == pytest.approx(0.8)
        assert out[f"form{w}_home_shots_for"] == pytest.approx(11.0)  # 10 and 12, third unknown
        assert out[f"form{w}_home_shots_against"] == pytest.approx(6.0)  # 4 and 8
        assert out[f"form{w}_home_sot_for"] == pytest.approx(3.5)
    # B: one match, 1-2 away at A
    assert out["form5_away_goals_for"] == 1.0 and out["form5_away_points"] == 0.0
    assert out["form5_away_xg_for"] == 0.5 and out["form5_away_sot_for"] != out["form5_away_sot_for"]  # NaN
    assert out["form5_diff_points"] == pytest.approx(4 / 3)
    # venue splits: A's home matches only (2-1, 1-1), B's away matches only (1-2)
    assert out["venue5_home_goals_for"] == pytest.approx(1.5)
    assert out["venue5_home_goals_against"] == pytest.approx(1.0)
    assert out["venue5_home_points"] == pytest.approx(2.0)
    assert out["venue5_home_xg_for"] == pytest.approx(1.1)
    assert out["venue10_away_goals_against"] == pytest.approx(2.0)
    assert out["venue5_diff_points"] == pytest.approx(2.0)
    # E never played: all NaN
    e = F.build_features(frame(rows)).iloc[4]
    assert np.isnan(e["form5_away_goals_for"]) and np.isnan(e["venue5_away_points"])
    # C's only match had no xG: its xG means are NaN while its goals are known
    c = F.build_features(frame(rows)).iloc[5]
    assert c["form5_home_goals_for"] == 3.0 and c["venue5_home_goals_for"] == 3.0
    assert np.isnan(c["form5_home_xg_for"]) and np.isnan(c["venue5_home_xg_against"])
    assert np.isnan(c["form5_diff_xg_for"])


def test_rolling_windows_use_only_the_last_matches():
    # A scores k goals in its k-th match, k = 1..12, alternating venue
    rows = [(7 * k, "A", f"o{k}", k, 0) if k % 2 else (7 * k, f"o{k}", "A", 0, k) for k in range(1, 13)]
    rows.append((7 * 13, "A", "Z", np.nan, np.nan))
    out = F.build_features(frame(rows)).iloc[-1]
    assert out["form5_home_goals_for"] == pytest.approx(np.mean(range(8, 13)))
    assert out["form10_home_goals_for"] == pytest.approx(np.mean(range(3, 13)))
    assert out["form20_home_goals_for"] == pytest.approx(np.mean(range(1, 13)))
    # home matches of A: odd k = 1, 3, 5, 7, 9, 11
    assert out["venue5_home_goals_for"] == pytest.approx(np.mean([3, 5, 7, 9, 11]))
    assert out["venue10_home_goals_for"] == pytest.approx(np.mean([1, 3, 5, 7, 9, 11]))
    assert out["matches_played_home"] == 12.0 and out["season_matches_home"] == 12.0


def test_rest_days_capped_and_missing_for_a_first_match():
    out = F.build_features(
        frame([(0, "A", "B", 1, 0), (4, "B", "A", 0, 0), (60, "A", "C", 2, 2), (63, "C", "B", 1, 0)])
    )
    assert np.isnan(out.iloc[0]["rest_home"]) and np.isnan(out.iloc[0]["rest_diff"])
    assert out.iloc[1][["rest_home", "rest_away", "rest_diff"]].tolist() == [4.0, 4.0, 0.0]
    assert out.iloc[2]["rest_home"] == 30.0 and np.isnan(out.iloc[2]["rest_away"])
    assert out.iloc[3][["rest_home", "rest_away", "rest_diff"]].tolist() == [3.0, 30.0, -27.0]


def test_head_to_head_over_the_last_six_meetings_from_todays_home_view():
    rows = [(0, "A", "B", 0, 5)]  # the oldest meeting, dropped after six more
    rows += [(7 * k, "A", "B", 2, 0) if k % 2 else (7 * k, "B", "A", 1, 1) for k in range(1, 7)]
    rows += [(100, "B", "A", np.nan, np.nan), (100, "A", "C", np.nan, np.nan)]
    out = F.build_features(frame(rows))
    today = out.iloc[7]  # B at home: three A 2-0 B wins (0 points, -2 each), three 1-1 draws
    assert today["h2h_n"] == 6.0
    assert today["h2h_home_points"] == pytest.approx(0.5)
    assert today["h2h_goal_diff"] == pytest.approx(-1.0)
    second = out.iloc[1]  # A v B after the 0-5
    assert second[["h2h_n", "h2h_home_points", "h2h_goal_diff"]].tolist() == [1.0, 0.0, -5.0]
    never = out.iloc[8]
    assert never["h2h_n"] == 0.0 and np.isnan(never["h2h_home_points"]) and np.isnan(never["h2h_goal_diff"])


def test_promoted_flags_experience_and_history_across_competitions():
    def season_rows(comp, season, teams, start):
        rows = []
        for k, (h, a) in enumerate([(x, y) for x in teams for y in teams if x != y]):
            rows.append((start + k, h, a, 1, 0, {"competition_id": comp, "season": season}))
        return rows

    rows = (
        season_rows("E0", "2017-2018", ["A", "B", "C"], 0)
        + season_rows("E1", "2017-2018", ["D", "E", "F"], 0)
        + season_rows("E0", "2018-2019", ["A", "B", "D"], 400)  # D promoted, C relegated
        + season_rows("E1", "2018-2019", ["C", "E", "F"], 400)
        + season_rows("E2", "2018-2019", ["G", "H"], 400)  # no previous E2 season in the data
    )
    matches = frame(rows)
    out = F.build_features(matches)
    first_season = (matches["season"] == "2017-2018").to_numpy()
    assert (out.loc[first_season, ["promoted_home", "promoted_away"]] == 0.0).all().all()

    def flag(team, comp):
        home = (
            (matches["home_team_id"] == team)
            & (matches["competition_id"] == comp)
            & (matches["season"] == "2018-2019")
        )
        return out.loc[home, "promoted_home"].unique().tolist()

    assert flag("D", "E0") == [1.0] and flag("C", "E1") == [1.0]
    assert flag("A", "E0") == [0.0] and flag("E", "E1") == [0.0] and flag("G", "E2") == [0.0]

    # C's first E1 match: four matches of history from E0, none this season; its Elo carried over
    c_first = out[(matches["home_team_id"] == "C") & (matches["competition_id"] == "E1")].iloc[0]
    assert c_first["matches_played_home"] == 4.0
    assert c_first["season_matches_home"] == 0.0
    assert c_first["elo_home"] != 1500.0


def test_matches_played_is_capped_at_100():
    rows = [(k, "A", f"o{k}", 1, 0) for k in range(105)]
    out = F.build_features(frame(rows))
    assert out["matches_played_home"].iloc[50] == 50.0
    assert out["matches_played_home"].iloc[104] == 100.0


# --- market ---------------------------------------------------------------------------------------


def test_closing_odds_never_reach_the_features():
    matches = synthetic()
    base = F.build_features(matches)
    changed = matches.copy()
    for outcome in ("home", "draw", "away"):
        changed[f"odds_close_{outcome}"] = np.random.default_rng(1).uniform(1.1, 9.0, len(matches))
    assert_frame_equal(F.build_features(changed), base)
    assert_frame_equal(
        F.build_features(matches.drop(columns=["odds_close_home", "odds_close_draw", "odds_close_away"])),
        base,
    )


def test_market_probabilities_are_shin_of_the_opening_prices():
    matches = synthetic()
    matches.loc[3, "odds_open_draw"] = np.nan
    out = F.build_features(matches)
    prices = matches[["odds_open_home", "odds_open_draw", "odds_open_away"]].to_numpy()
    np.testing.assert_allclose(
        out[["market_p_home", "market_p_draw", "market_p_away"]].to_numpy(), shin(prices)
    )
    np.testing.assert_allclose(out["market_overround"].to_numpy(), (1 / prices).sum(axis=1) - 1)
    assert out.loc[3, F.MARKET_FEATURES].isna().all()
    assert out.drop(index=3)[F.MARKET_FEATURES].notna().all().all()
    assert out.drop(index=3)[["market_p_home", "market_p_draw", "market_p_away"]].sum(
        axis=1
    ).to_numpy() == pytest.approx(1.0)


# --- the no_missing_values check --------------------------------------------------------------------


def test_coverage_passes_real_shapes_and_names_what_is_missing():
    matches = synthetic(n_dates=60)
    feats = F.build_features(matches)
    judged = F.coverage(matches, feats, "E0")
    assert judged.passed and judged.reason("E0") is None
    assert judged.seasons == ("2017-2018", "2018-2019") and judged.judged > 50

    # A core feature lost on one judged match: named with its count.
    broken = feats.copy()
    row = broken.index[(matches["season"] == "2018-2019") & (matches["competition_id"] == "E0")][3]
    broken.loc[row, "elo_home"] = np.nan
    failed = F.coverage(matches, broken, "E0")
    assert not failed.passed and failed.missing["elo_home"] == 1
    assert "elo_home (1)" in failed.reason("E0")


def test_coverage_fails_when_a_source_stops_in_the_latest_season():
    matches = synthetic(n_dates=60)
    latest = matches["season"] == "2018-2019"
    matches.loc[latest, ["home_shots", "away_shots", "home_sot", "away_sot"]] = np.nan  # the shots feed stopped
    judged = F.coverage(matches, F.build_features(matches), "E0")
    assert not judged.passed
    assert "form5_home_shots_for" in judged.dropped and "pi_home_rating" not in judged.dropped
    before, after = judged.dropped["form5_home_shots_for"]
    assert before > 0.9 and after < 0.5
    assert "present in 2017-2018 but not in 2018-2019: form5_home_shots_for" in judged.reason("E0")
    # xG, known for only half the matches of both seasons, is not a dropped source.
    assert not any("xg" in name for name in judged.dropped)


def test_coverage_waits_for_enough_played_matches_and_ignores_fixtures():
    matches = synthetic(n_dates=60)
    latest = matches.index[(matches["season"] == "2018-2019") & (matches["competition_id"] == "E0")]
    matches.loc[latest, ["home_shots", "away_shots", "home_sot", "away_sot"]] = np.nan
    # Only a few played matches in the latest season so far, the rest fixtures: too early to judge.
    matches.loc[latest[F.MIN_JUDGED - 5:], ["home_goals", "away_goals"]] = np.nan
    assert F.coverage(matches, F.build_features(matches), "E0").passed
    # No second season with results: nothing to compare.
    first = matches[matches["season"] == "2017-2018"]
    only = F.coverage(first, F.build_features(first), "E0")
    assert only.seasons is None and not only.dropped
    # No match after the competition's first season: fails, and says why.
    assert not only.passed and only.reason("E0") == "no E0 matches after its first season"

"""Pandera schemas for parsed source frames.

Row-level schemas reject the rows (or, for optional statistics and odds, the values) that fail them;
every failure becomes a quarantine record with its reason. The checks are named so that the reason a
user reads says which rule failed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from football_pipeline.ingestion.football_data import STAT_COLUMNS

MAX_GOALS = 20
MAX_XG = 10.0
# Implied-probability sums (1/p summed over a market's outcomes). Single bookmakers and averages sit
# at 1.00-1.20 in the real files; exchanges can dip just under 1; a market-wide *maximum* can go
# below 1 (the best price of each outcome comes from different books) but not far.
OVERROUND_BOUNDS = {"bookmaker": (0.97, 1.35), "max": (0.85, 1.10)}
MAX_PRICE = 1001.0


def _result(home: pd.Series, away: pd.Series) -> pd.Series:
    out = pd.Series(pd.NA, index=home.index, dtype="object")
    out[home > away] = "H"
    out[home == away] = "D"
    out[home < away] = "A"
    return out


def _consistent(code: pd.Series, home: pd.Series, away: pd.Series) -> pd.Series:
    expected = _result(home, away)
    known = code.notna() & home.notna() & away.notna()
    return ~known | (code == expected).fillna(False).astype(bool)


def _not_future(frame: pd.DataFrame, today: pd.Timestamp) -> pd.Series:
    return frame["home_goals"].isna() | (frame["match_date"] <= today)


def football_data_matches(today: pd.Timestamp) -> pa.DataFrameSchema:
    goals = pa.Check.in_range(0, MAX_GOALS, error=f"goals must be 0-{MAX_GOALS}")
    return pa.DataFrameSchema(
        {
            "match_date": pa.Column("datetime64[ns]", nullable=False),
            "home_team": pa.Column(None, nullable=False),
            "away_team": pa.Column(None, nullable=False),
            "home_goals": pa.Column("Int64", goals, nullable=True),
            "away_goals": pa.Column("Int64", goals, nullable=True),
            "ht_home_goals": pa.Column("Int64", goals, nullable=True),
            "ht_away_goals": pa.Column("Int64", goals, nullable=True),
            "result": pa.Column(None, pa.Check.isin(["H", "D", "A"], error="FTR must be H, D or A"), nullable=True),
            "ht_result": pa.Column(None, pa.Check.isin(["H", "D", "A"], error="HTR must be H, D or A"),
                                   nullable=True),
        },
        checks=[
            pa.Check(lambda f: f["home_team"] != f["away_team"], error="a team cannot play itself"),
            pa.Check(lambda f: _consistent(f["result"], f["home_goals"], f["away_goals"]),
                     error="FTR contradicts the full-time score"),
            pa.Check(lambda f: _consistent(f["ht_result"], f["ht_home_goals"], f["ht_away_goals"]),
                     error="HTR contradicts the half-time score"),
            pa.Check(lambda f: ~(f["ht_home_goals"] > f["home_goals"]).fillna(False).astype(bool)
                     & ~(f["ht_away_goals"] > f["away_goals"]).fillna(False).astype(bool),
                     error="more goals at half-time than at full-time"),
            pa.Check(lambda f: _not_future(f, today), error=f"a completed match is dated after today ({today.date()})"),
        ],
        name="football_data_matches",
    )


_STAT_RANGES = {
    "attendance": (0, 150_000),
    "shots": (0, 60),
    "shots_on_target": (0, 40),
    "woodwork": (0, 10),
    "corners": (0, 30),
    "fouls": (0, 50),
    "offsides": (0, 25),
    "yellow_cards": (0, 12),
    "red_cards": (0, 5),
    "booking_points": (0, 200),
}


def stat_range(column: str) -> tuple[int, int]:
    return _STAT_RANGES[column.removeprefix("home_").removeprefix("away_")]


def football_data_stats() -> pa.DataFrameSchema:
    """Optional match statistics, long (source index, column, value, low, high): a failing value is
    dropped and quarantined, the match is kept. Long form keeps it to one vectorised check per file."""
    return pa.DataFrameSchema(
        {
            "value": pa.Column(float),
            "low": pa.Column(float),
            "high": pa.Column(float),
        },
        checks=[pa.Check(lambda f: f["value"].between(f["low"], f["high"]), error="outside physical limits")],
        name="football_data_stats",
    )


def stats_long(frame: pd.DataFrame) -> pd.DataFrame:
    """The statistic cells of `frame` that hold a value, with the limits that apply to each."""
    columns = [c for c in STAT_COLUMNS if c not in ("ht_home_goals", "ht_away_goals")]
    values = frame[columns].to_numpy(dtype=float, na_value=np.nan)
    rows, cols = np.nonzero(~np.isnan(values))
    limits = np.array([stat_range(c) for c in columns], dtype=float)
    return pd.DataFrame({
        "row": frame.index.to_numpy()[rows],
        "column": np.array(columns, dtype=object)[cols],
        "value": values[rows, cols],
        "low": limits[cols, 0],
        "high": limits[cols, 1],
    })


def odds(bounds: dict[str, tuple[float, float]] = OVERROUND_BOUNDS) -> pa.DataFrameSchema:
    def overround_ok(frame: pd.DataFrame) -> pd.Series:
        is_max = (frame["aggregate"] == "max").to_numpy()
        low = np.where(is_max, bounds["max"][0], bounds["bookmaker"][0])
        high = np.where(is_max, bounds["max"][1], bounds["bookmaker"][1])
        overround = frame["overround"].to_numpy()
        return pd.Series(np.isnan(overround) | ((overround >= low) & (overround <= high)), index=frame.index)

    return pa.DataFrameSchema(
        {
            "price": pa.Column(float, [
                pa.Check.greater_than(1.0, error="odds must be greater than 1.0"),
                pa.Check.less_than(MAX_PRICE, error=f"odds must be below {MAX_PRICE:g}"),
            ]),
            "line": pa.Column(float, pa.Check.in_range(-10.0, 10.0, error="handicap line must be within ±10")),
            "market": pa.Column(None, pa.Check.isin(["1x2", "over_under", "asian_handicap"])),
            "phase": pa.Column(None, pa.Check.isin(["opening", "closing"])),
        },
        checks=[pa.Check(overround_ok, error="implied overround outside sane bounds")],
        name="odds",
    )


def understat_matches(today: pd.Timestamp) -> pa.DataFrameSchema:
    goals = pa.Check.in_range(0, MAX_GOALS, error=f"goals must be 0-{MAX_GOALS}")
    xg = pa.Check.in_range(0.0, MAX_XG, error=f"xG must be 0-{MAX_XG:g}")
    probability = pa.Check.in_range(0.0, 1.0, error="forecast probabilities must be 0-1")
    return pa.DataFrameSchema(
        {
            "understat_id": pa.Column(None, nullable=False),
            "home_goals": pa.Column("Int64", goals, nullable=True),
            "away_goals": pa.Column("Int64", goals, nullable=True),
            "home_xg": pa.Column(float, xg, nullable=True),
            "away_xg": pa.Column(float, xg, nullable=True),
            "forecast_home": pa.Column(float, probability, nullable=True),
            "forecast_draw": pa.Column(float, probability, nullable=True),
            "forecast_away": pa.Column(float, probability, nullable=True),
        },
        checks=[
            pa.Check(lambda f: f["home_team"] != f["away_team"], error="a team cannot play itself"),
            pa.Check(lambda f: ~f["is_result"] | (f["match_date"] <= today),
                     error=f"a completed match is dated after today ({today.date()})"),
            pa.Check(lambda f: ~f["is_result"] | (f["home_xg"].notna() & f["away_xg"].notna()),
                     error="a completed match has no xG"),
        ],
        name="understat_matches",
    )


def shots_pair() -> pa.DataFrameSchema:
    """Applied to one side's (shots, shots_on_target) pair."""
    return pa.DataFrameSchema(
        checks=[pa.Check(lambda f: ~(f.iloc[:, 1] > f.iloc[:, 0]).fillna(False).astype(bool),
                         error="more shots on target than shots")],
        name="shots_pair",
    )


def fbref_matches(today: pd.Timestamp) -> pa.DataFrameSchema:
    goals = pa.Check.in_range(0, MAX_GOALS, error=f"goals must be 0-{MAX_GOALS}")
    xg = pa.Check.in_range(0.0, MAX_XG, error=f"xG must be 0-{MAX_XG:g}")
    return pa.DataFrameSchema(
        {
            "match_date": pa.Column("datetime64[ns]", nullable=False),
            "home_goals": pa.Column("Int64", goals, nullable=True),
            "away_goals": pa.Column("Int64", goals, nullable=True),
            "home_xg": pa.Column(float, xg, nullable=True),
            "away_xg": pa.Column(float, xg, nullable=True),
            "attendance": pa.Column("Int64", pa.Check.in_range(0, 150_000, error="attendance must be 0-150000"),
                                    nullable=True),
        },
        checks=[
            pa.Check(lambda f: f["home_team"] != f["away_team"], error="a team cannot play itself"),
            pa.Check(lambda f: f["home_goals"].isna() | (f["match_date"] <= today),
                     error=f"a completed match is dated after today ({today.date()})"),
        ],
        name="fbref_matches",
    )

"""The modelling frame: one row per match from the warehouse, with the per-team stats the features need
and the 1X2 prices (pre-match "opening" for features, closing only for the evaluation baseline).

Columns: match_id, kickoff_at, match_date, competition_id, season, home_team_id, away_team_id, status,
home_goals, away_goals, result, home_xg, away_xg, home_shots, away_shots, home_sot, away_sot,
odds_open_home/draw/away, odds_close_home/draw/away, odds_bookmaker.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd
import sqlalchemy as sa

from football_pipeline.warehouse import schema

# Prices in order of preference: Pinnacle's sharp line first, then market-wide averages, then bet365.
BOOKMAKERS = ("pinnacle", "market_avg", "betbrain_avg", "bet365")
OUTCOMES = ("home", "draw", "away")


def load_matches(engine: sa.Engine, competitions: Iterable[str] | None = None,
                 seasons: Iterable[str] | None = None) -> pd.DataFrame:
    """Every match (played or scheduled) of the competitions/seasons asked for, oldest first."""
    m, s, o = schema.matches, schema.team_match_stats, schema.odds
    query = sa.select(m.c.match_id, m.c.kickoff_at, m.c.match_date, m.c.competition_id, m.c.season,
                      m.c.home_team_id, m.c.away_team_id, m.c.status, m.c.home_goals, m.c.away_goals,
                      m.c.result)
    stats = sa.select(s.c.match_id, s.c.is_home, s.c.xg_for, s.c.shots, s.c.shots_on_target)
    prices = sa.select(o.c.match_id, o.c.bookmaker, o.c.outcome, o.c.phase, o.c.price).where(
        o.c.market == "1x2", o.c.bookmaker.in_(BOOKMAKERS))
    if competitions is not None:
        competitions = list(competitions)
        query = query.where(m.c.competition_id.in_(competitions))
        stats = stats.where(s.c.competition_id.in_(competitions))
        prices = prices.where(o.c.competition_id.in_(competitions))
    if seasons is not None:
        seasons = list(seasons)
        query = query.where(m.c.season.in_(seasons))
        stats = stats.where(s.c.season.in_(seasons))
        prices = prices.where(o.c.season.in_(seasons))
    with engine.connect() as connection:
        frame = pd.read_sql(query, connection)
        team_stats = pd.read_sql(stats, connection)
        odds = pd.read_sql(prices, connection)
    return assemble(frame, team_stats, odds)


def assemble(frame: pd.DataFrame, team_stats: pd.DataFrame, odds: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["kickoff_at"] = pd.to_datetime(frame["kickoff_at"], utc=True)
    frame["match_date"] = pd.to_datetime(frame["match_date"]).astype("datetime64[ns]")
    for column in ("home_goals", "away_goals"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    for side, is_home in (("home", True), ("away", False)):
        part = team_stats[team_stats["is_home"].astype(bool) == is_home].set_index("match_id")
        part = part[~part.index.duplicated()]
        frame[f"{side}_xg"] = frame["match_id"].map(part["xg_for"]).astype(float)
        frame[f"{side}_shots"] = frame["match_id"].map(part["shots"]).astype(float)
        frame[f"{side}_sot"] = frame["match_id"].map(part["shots_on_target"]).astype(float)
    for phase, prefix in (("opening", "odds_open"), ("closing", "odds_close")):
        chosen = _prices(odds[odds["phase"] == phase])
        for outcome in OUTCOMES:
            frame[f"{prefix}_{outcome}"] = frame["match_id"].map(chosen[outcome]).astype(float) \
                if len(chosen) else np.nan
        if phase == "closing":
            frame["odds_bookmaker"] = frame["match_id"].map(chosen["bookmaker"]) if len(chosen) else None
    return frame.sort_values(["match_date", "kickoff_at", "match_id"]).reset_index(drop=True)


def _prices(odds: pd.DataFrame) -> pd.DataFrame:
    """Per match, the complete H/D/A triple of the most preferred bookmaker that has one."""
    if odds.empty:
        return pd.DataFrame(columns=[*OUTCOMES, "bookmaker"])
    wide = odds.pivot_table(index=["match_id", "bookmaker"], columns="outcome", values="price", aggfunc="first")
    wide = wide.reindex(columns=list(OUTCOMES)).dropna()
    wide = wide.reset_index()
    wide["rank"] = wide["bookmaker"].map({b: i for i, b in enumerate(BOOKMAKERS)})
    best = wide.sort_values("rank").drop_duplicates("match_id").set_index("match_id")
    return best[[*OUTCOMES, "bookmaker"]]


def split_as_of(matches: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Hide results on or after `as_of`: those matches become upcoming fixtures for every model."""
    hidden = matches["match_date"] >= pd.Timestamp(as_of)
    out = matches.copy()
    for column in ("home_goals", "away_goals", "home_xg", "away_xg", "home_shots", "away_shots",
                   "home_sot", "away_sot", "odds_close_home", "odds_close_draw", "odds_close_away"):
        out.loc[hidden, column] = np.nan
    out.loc[hidden, "result"] = None
    out.loc[hidden, "status"] = "scheduled"
    return out


def with_promoted(matches: pd.DataFrame) -> pd.DataFrame:
    """home_promoted / away_promoted: 1.0 when the team plays this competition this season but did not
    play it the season before (and that season is in the frame). Known before a ball is kicked."""
    members = matches.groupby(["competition_id", "season"])[["home_team_id", "away_team_id"]].agg(
        lambda column: set(column)).apply(lambda row: row["home_team_id"] | row["away_team_id"], axis=1).to_dict()
    out = matches.copy()
    for side in ("home", "away"):
        flags = []
        for competition, season, team in zip(out["competition_id"], out["season"], out[f"{side}_team_id"],
                                             strict=True):
            start = int(season[:4])
            previous = members.get((competition, f"{start - 1}-{start}"))
            flags.append(0.0 if previous is None else float(team not in previous))
        out[f"{side}_promoted"] = flags
    # How new a promoted team still is: the flag fades with each match it has played this season
    # (half-life NEWNESS_HALF_LIFE matches), as its own results take over.
    played = _season_matches_before(out)
    for side in ("home", "away"):
        out[f"{side}_newness"] = out[f"{side}_promoted"] * 0.5 ** (played[side] / NEWNESS_HALF_LIFE)
    return out


NEWNESS_HALF_LIFE = 6.0


def _season_matches_before(matches: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per match and side: the team's matches in this competition-season on earlier dates."""
    order = matches.sort_values("match_date")
    counts: dict[tuple, int] = {}
    result = {"home": pd.Series(0.0, index=matches.index), "away": pd.Series(0.0, index=matches.index)}
    for _date, day in order.groupby("match_date", sort=True):
        keys = []
        for index, competition, season, home, away in zip(day.index, day["competition_id"], day["season"],
                                                          day["home_team_id"], day["away_team_id"], strict=True):
            for side, team in (("home", home), ("away", away)):
                key = (competition, season, team)
                result[side].at[index] = counts.get(key, 0)
                keys.append(key)
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
    return {side: values.to_numpy() for side, values in result.items()}

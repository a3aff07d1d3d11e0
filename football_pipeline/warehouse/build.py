"""Canonical warehouse rows for one competition x season from the validated sources.

football-data.co.uk is the primary source of a match (results, statistics, odds); Understat adds xG.
An Understat match joins a football-data match with the same canonical home and away teams and a date
within one day (never on kick-off time: Understat's times are UTC, football-data's UK local time). An
Understat match with no football-data counterpart becomes a canonical match of its own; one whose
pairing exists in football-data on a date more than a day away is quarantined as a conflict.

`data_quality_score` (0-1) weighs what is known about a match:
    0.30 integrity       1 - 0.25 per value dropped, odds market dropped or outlier flagged
    0.20 corroboration   both sources agree on score and date: 1; date a day apart: 0.75;
                         one source only: 0.5; scores disagree: 0
    0.20 statistics      share of shots, shots on target, corners, fouls, cards present
    0.15 odds            a complete closing 1X2 market: 1; only opening prices: 0.5; none: 0
    0.15 xG              both teams' xG present
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from football_pipeline.common.ids import match_id
from football_pipeline.ingestion.files import FOOTBALL_DATA, UNDERSTAT
from football_pipeline.ingestion.records import Rejection
from football_pipeline.quality.validate import ValidatedFile

WEIGHTS = {"integrity": 0.30, "corroboration": 0.20, "statistics": 0.20, "odds": 0.15, "xg": 0.15}
SCORED_STATS = ["shots", "shots_on_target", "corners", "fouls", "yellow_cards", "red_cards"]
TEAM_STATS = ["shots", "shots_on_target", "woodwork", "corners", "fouls", "offsides", "yellow_cards", "red_cards"]

MATCH_COLUMNS = [
    "match_id", "kickoff_at", "match_date", "kickoff_time_known", "competition_id", "season", "home_team_id",
    "away_team_id", "status", "home_goals", "away_goals", "result", "ht_home_goals", "ht_away_goals", "referee",
    "attendance", "primary_source", "sources", "data_quality_score",
]  # fmt: skip
ODDS_COLUMNS = ["match_id", "bookmaker", "market", "line", "outcome", "phase", "price", "competition_id", "season"]
XG_COLUMNS = [
    "match_id", "source", "source_match_id", "competition_id", "season", "kickoff_at", "home_xg", "away_xg",
    "forecast_home", "forecast_draw", "forecast_away",
]  # fmt: skip
TEAM_MATCH_COLUMNS = [
    "match_id", "team_id", "kickoff_at", "opponent_id", "competition_id", "season", "is_home", "goals_for",
    "goals_against", "points", "xg_for", "xg_against", *TEAM_STATS,
]  # fmt: skip


@dataclass
class PartitionRows:
    competition_id: str
    season: str
    matches: pd.DataFrame
    team_match_stats: pd.DataFrame
    odds: pd.DataFrame
    xg: pd.DataFrame
    conflicts: list[Rejection] = field(default_factory=list)  # Understat rows quarantined by the join
    findings: list[str] = field(default_factory=list)  # cross-source disagreements kept, for the check
    copy_texts: dict = field(default_factory=dict)  # table -> load.CopyText, rendered ahead for PostgreSQL

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"matches": self.matches, "team_match_stats": self.team_match_stats, "odds": self.odds, "xg": self.xg}


def build(
    competition_id: str, season: str, football_data: ValidatedFile | None, understat: ValidatedFile | None
) -> PartitionRows:
    fd = _football_data_matches(competition_id, season, football_data)
    us = _understat_matches(competition_id, season, understat)
    conflicts: list[Rejection] = []
    findings: list[str] = []

    joined = fd.merge(us, on=["home_team_id", "away_team_id"], how="outer", suffixes=("", "_us"), indicator=True)
    both = joined["_merge"] == "both"
    gap = (joined["match_date"] - joined["match_date_us"]).abs().dt.days
    far = both & (gap > 1)
    for _, row in joined[far].iterrows():
        reason = (f"Understat {row['home_team_id']} v {row['away_team_id']} on {row['match_date_us']:%Y-%m-%d} has "
                  f"no football-data match within a day (football-data: {row['match_date']:%Y-%m-%d})")
        conflicts.append(Rejection(int(row["source_row_us"]), row["raw_row_us"], reason, "cross_source"))
        findings.append(reason)
    us_cols = [c for c in joined.columns if c.endswith("_us")]
    joined.loc[far, us_cols] = np.nan
    joined.loc[far, "_merge"] = "left_only"

    only_us = joined["_merge"] == "right_only"
    for column in ("match_date", "kickoff_at", "home_goals", "away_goals"):
        joined[column] = joined[column].where(~only_us, joined[f"{column}_us"])
    joined["kickoff_time_known"] = joined["kickoff_time_known"].astype("boolean").fillna(only_us)
    joined["match_id"] = [
        match_id(competition_id, season, h, a) for h, a in zip(joined["home_team_id"], joined["away_team_id"], strict=True)
    ]
    has_us = joined["_merge"].isin(["both", "right_only"]) & ~far
    has_fd = joined["_merge"].isin(["both", "left_only"])
    joined["primary_source"] = np.where(has_fd, FOOTBALL_DATA, UNDERSTAT)
    joined["sources"] = np.select([has_fd & has_us, has_fd], [f"{FOOTBALL_DATA},{UNDERSTAT}", FOOTBALL_DATA],
                                  UNDERSTAT)

    disagree = has_fd & has_us & (
        (joined["home_goals"] != joined["home_goals_us"]) | (joined["away_goals"] != joined["away_goals_us"])
    ).fillna(False).astype(bool)
    for _, row in joined[disagree].iterrows():
        findings.append(f"{row['match_id']}: football-data {row['home_goals']}-{row['away_goals']}, "
                        f"Understat {row['home_goals_us']}-{row['away_goals_us']} (football-data kept)")

    joined["home_goals"] = joined["home_goals"].astype("Int64")
    joined["away_goals"] = joined["away_goals"].astype("Int64")
    played = joined["home_goals"].notna() & joined["away_goals"].notna()
    joined["status"] = np.where(played, "completed", "scheduled")
    joined["result"] = _result(joined["home_goals"], joined["away_goals"])
    joined["competition_id"], joined["season"] = competition_id, season

    odds = _odds(football_data, joined, competition_id, season)
    joined["data_quality_score"] = _quality(joined, has_fd, has_us, disagree, gap, odds, football_data, understat)
    matches = joined[MATCH_COLUMNS].sort_values(["kickoff_at", "match_id"]).reset_index(drop=True)
    xg = joined.loc[has_us, ["match_id", "understat_id", "kickoff_at_us", "home_xg", "away_xg",
                             "forecast_home", "forecast_draw", "forecast_away"]]
    xg = xg.rename(columns={"understat_id": "source_match_id", "kickoff_at_us": "kickoff_at"}).assign(
        source=UNDERSTAT, competition_id=competition_id, season=season)[XG_COLUMNS].reset_index(drop=True)
    return PartitionRows(competition_id, season, matches, _team_rows(joined), odds, xg, conflicts, findings)


def _football_data_matches(competition_id: str, season: str, validated: ValidatedFile | None) -> pd.DataFrame:
    columns = ["source_row", "match_date", "kickoff_at", "kickoff_time_known", "home_team_id", "away_team_id",
               "home_goals", "away_goals", "result", "ht_home_goals", "ht_away_goals", "referee", "attendance",
               *[f"{side}_{stat}" for side in ("home", "away") for stat in TEAM_STATS]]
    if validated is None:
        frame = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
        frame["match_date"] = pd.Series(dtype="datetime64[ns]")
        frame["kickoff_at"] = pd.Series(dtype="datetime64[ns, UTC]")
        return frame
    return validated.matches[columns].copy()


def _understat_matches(competition_id: str, season: str, validated: ValidatedFile | None) -> pd.DataFrame:
    columns = ["source_row", "raw_row", "understat_id", "match_date", "kickoff_at", "home_team_id", "away_team_id",
               "home_goals", "away_goals", "home_xg", "away_xg", "forecast_home", "forecast_draw", "forecast_away"]
    if validated is None:
        frame = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
        frame["match_date"] = pd.Series(dtype="datetime64[ns]")
        frame["kickoff_at"] = pd.Series(dtype="datetime64[ns, UTC]")
    else:
        frame = validated.matches[columns].copy()
    renamed = {c: f"{c}_us" for c in columns if c not in ("home_team_id", "away_team_id", "home_xg", "away_xg",
                                                         "understat_id", "forecast_home", "forecast_draw",
                                                         "forecast_away")}
    return frame.rename(columns=renamed)


def _result(home: pd.Series, away: pd.Series) -> pd.Series:
    return pd.Series(np.select([home > away, home < away, home == away], ["H", "A", "D"], None),
                     index=home.index).where(home.notna() & away.notna())


def _odds(validated: ValidatedFile | None, joined: pd.DataFrame, competition_id: str, season: str) -> pd.DataFrame:
    if validated is None or validated.odds is None or validated.odds.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ODDS_COLUMNS})
    ids = joined.loc[joined["source_row"].notna(), ["source_row", "match_id"]]
    ids = ids.astype({"source_row": "int64"})
    odds = validated.odds.merge(ids, on="source_row", how="inner")
    return odds.assign(competition_id=competition_id, season=season)[ODDS_COLUMNS].reset_index(drop=True)


def _quality(joined, has_fd, has_us, disagree, gap, odds, football_data, understat) -> pd.Series:
    issues = pd.Series(0, index=joined.index, dtype=float)
    for validated, source_row in ((football_data, "source_row"), (understat, "source_row_us")):
        if validated is not None and not validated.issues.empty:
            counts = validated.issues.groupby("source_row").size()
            issues += joined[source_row].map(counts).fillna(0).to_numpy(dtype=float)
    integrity = (1 - 0.25 * issues).clip(lower=0)
    corroboration = np.select(
        [has_fd & has_us & disagree, has_fd & has_us & (gap.fillna(0) == 1), has_fd & has_us],
        [0.0, 0.75, 1.0], 0.5,
    )
    present = [joined[f"{side}_{stat}"].notna() for side in ("home", "away") for stat in SCORED_STATS]
    statistics = sum(p.astype(float) for p in present) / len(present)
    closing = odds[(odds["market"] == "1x2") & (odds["phase"] == "closing")]
    complete = closing.groupby(["match_id", "bookmaker"]).size()
    with_closing = set(complete[complete == 3].index.get_level_values(0))
    with_any = set(odds["match_id"])
    odds_score = joined["match_id"].map(lambda m: 1.0 if m in with_closing else 0.5 if m in with_any else 0.0)
    xg = (joined["home_xg"].notna() & joined["away_xg"].notna()).astype(float)
    score = (WEIGHTS["integrity"] * integrity + WEIGHTS["corroboration"] * corroboration
             + WEIGHTS["statistics"] * statistics + WEIGHTS["odds"] * odds_score + WEIGHTS["xg"] * xg)
    return score.round(4)


def _team_rows(joined: pd.DataFrame) -> pd.DataFrame:
    frames = []
    for side, other in (("home", "away"), ("away", "home")):
        goals_for, goals_against = joined[f"{side}_goals"], joined[f"{other}_goals"]
        points = pd.Series(np.select([goals_for > goals_against, goals_for == goals_against], [3, 1], 0),
                           index=joined.index).where(goals_for.notna() & goals_against.notna())
        frame = pd.DataFrame({
            "match_id": joined["match_id"],
            "team_id": joined[f"{side}_team_id"],
            "kickoff_at": joined["kickoff_at"],
            "opponent_id": joined[f"{other}_team_id"],
            "competition_id": joined["competition_id"],
            "season": joined["season"],
            "is_home": side == "home",
            "goals_for": goals_for,
            "goals_against": goals_against,
            "points": points.astype("Int64"),
            "xg_for": joined[f"{side}_xg"],
            "xg_against": joined[f"{other}_xg"],
            **{stat: joined[f"{side}_{stat}"] for stat in TEAM_STATS},
        })
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)[TEAM_MATCH_COLUMNS]

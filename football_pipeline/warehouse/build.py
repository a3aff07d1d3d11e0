"""Canonical warehouse rows for one competition x season from the validated sources.

Sources are folded in priority order: football-data.co.uk (results, statistics, odds), Understat
(xG), FBref (schedules, kick-off times, venues, line-ups). A source's match joins a canonical match
with the same canonical home and away teams and a date within one day (never on kick-off time:
Understat's times are UTC, football-data's UK local time). A match no earlier source has becomes a
canonical match of its own; one whose pairing exists on a date more than a day away is quarantined as
a cross-source conflict. Facts come from the first source that has them.

`data_quality_score` (0-1) weighs what is known about a match:
    0.30 integrity       1 - 0.25 per value dropped, odds market dropped or outlier flagged
    0.20 corroboration   two or more sources agree on score and date: 1; a date a day apart: 0.75;
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
from football_pipeline.ingestion.files import FBREF, FOOTBALL_DATA, UNDERSTAT
from football_pipeline.ingestion.records import Rejection
from football_pipeline.quality.validate import ValidatedFile

WEIGHTS = {"integrity": 0.30, "corroboration": 0.20, "statistics": 0.20, "odds": 0.15, "xg": 0.15}
SCORED_STATS = ["shots", "shots_on_target", "corners", "fouls", "yellow_cards", "red_cards"]
TEAM_STATS = ["shots", "shots_on_target", "woodwork", "corners", "fouls", "offsides", "yellow_cards", "red_cards"]
ORDER = (FOOTBALL_DATA, UNDERSTAT, FBREF)
PREFIX = {FOOTBALL_DATA: "fd_", UNDERSTAT: "us_", FBREF: "fb_"}
COMMON = ["match_date", "kickoff_at", "kickoff_time_known", "home_goals", "away_goals"]
# Per source: the columns it contributes beyond COMMON and the team ids.
EXTRAS = {
    FOOTBALL_DATA: ["source_row", "raw_row", "ht_home_goals", "ht_away_goals", "referee", "attendance",
                    *[f"{side}_{stat}" for side in ("home", "away") for stat in TEAM_STATS]],
    UNDERSTAT: ["source_row", "raw_row", "understat_id", "home_xg", "away_xg", "forecast_home", "forecast_draw",
                "forecast_away"],
    FBREF: ["source_row", "raw_row", "fbref_match_id", "home_xg", "away_xg", "attendance", "venue", "referee",
            "status"],
}

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
    "goals_against", "points", "xg_for", "xg_against", *TEAM_STATS, "possession",
]  # fmt: skip
LINEUP_COLUMNS = ["match_id", "team_id", "player", "fbref_player_id", "shirt_number", "starter", "formation",
                  "competition_id", "season"]
SHOT_COLUMNS = ["understat_shot_id", "match_id", "team_id", "minute", "player", "understat_player_id", "x", "y",
                "xg", "result", "situation", "shot_type", "last_action", "competition_id", "season"]


@dataclass
class PartitionRows:
    competition_id: str
    season: str
    matches: pd.DataFrame
    team_match_stats: pd.DataFrame
    odds: pd.DataFrame
    xg: pd.DataFrame
    lineups: pd.DataFrame
    shots: pd.DataFrame
    conflicts: dict[str, list[Rejection]] = field(default_factory=dict)  # source -> rows quarantined by joins
    findings: list[str] = field(default_factory=list)  # cross-source disagreements kept, for the check
    copy_texts: dict = field(default_factory=dict)  # table -> load.CopyText, rendered ahead for PostgreSQL
    resolution: object = None  # warehouse.resolve.Resolution: what was decided for unknown spellings
    reference: dict = field(default_factory=dict)  # table -> rows upserted in the load's transaction

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"matches": self.matches, "team_match_stats": self.team_match_stats, "odds": self.odds, "xg": self.xg,
                "lineups": self.lineups, "shots": self.shots}


def build(
    competition_id: str, season: str, football_data: ValidatedFile | None, understat: ValidatedFile | None,
    fbref: ValidatedFile | None = None,
) -> PartitionRows:
    given = {FOOTBALL_DATA: football_data, UNDERSTAT: understat, FBREF: fbref}
    canon: pd.DataFrame | None = None
    conflicts: dict[str, list[Rejection]] = {}
    findings: list[str] = []
    for source in ORDER:
        if given[source] is None:
            continue
        frame = _source_frame(source, given[source])
        if canon is None:
            canon = frame
            continue
        canon, rejected, found = _join(canon, frame, source)
        conflicts[source] = rejected
        findings.extend(found)
    if canon is None:
        canon = _source_frame(FOOTBALL_DATA, None)

    canon["match_id"] = [match_id(competition_id, season, h, a)
                         for h, a in zip(canon["home_team_id"], canon["away_team_id"], strict=True)]
    canon["competition_id"], canon["season"] = competition_id, season
    for source in ORDER:
        canon[f"has_{source}"] = canon[f"{PREFIX[source]}source_row"].notna() if (
            f"{PREFIX[source]}source_row" in canon) else False
    present = [s for s in ORDER if canon[f"has_{s}"].any()] or [FOOTBALL_DATA]
    canon["primary_source"] = np.select([canon[f"has_{s}"] for s in present], present, present[-1])
    canon["sources"] = [",".join(s for s in ORDER if row[f"has_{s}"]) for _, row in canon.iterrows()] \
        if len(canon) else pd.Series(dtype=object)
    canon["home_goals"] = canon["home_goals"].astype("Int64")
    canon["away_goals"] = canon["away_goals"].astype("Int64")
    canon["result"] = _result(canon["home_goals"], canon["away_goals"])
    played = canon["home_goals"].notna() & canon["away_goals"].notna()
    fbref_status = canon.get("fb_status", pd.Series(None, index=canon.index, dtype=object))
    canon["status"] = np.where(played, "completed",
                               np.where(fbref_status.isin(["cancelled", "postponed", "abandoned"]),
                                        fbref_status, "scheduled"))
    for column in ("referee", "attendance", "ht_home_goals", "ht_away_goals"):
        canon[column] = _first(canon, [f"fd_{column}", f"fb_{column}"])
    for stat in TEAM_STATS:
        for side in ("home", "away"):
            canon[f"{side}_{stat}"] = canon.get(f"fd_{side}_{stat}", pd.Series(pd.NA, index=canon.index))
    for side in ("home", "away"):
        canon[f"{side}_xg"] = _first(canon, [f"us_{side}_xg", f"fb_{side}_xg"])

    odds = _odds(football_data, canon, competition_id, season)
    canon["data_quality_score"] = _quality(canon, odds, given)
    matches = canon[MATCH_COLUMNS].sort_values(["kickoff_at", "match_id"]).reset_index(drop=True)
    extras = {key: frame for validated in given.values() if validated is not None
              for key, frame in validated.parsed.extras.items()}
    team_rows = _team_rows(canon, extras.get("report_stats"))
    lineups = _by_side(extras.get("lineups"), canon, "fbref_match_id", "fb_fbref_match_id", LINEUP_COLUMNS,
                       ["match_id", "team_id", "player"])
    shots = _by_side(extras.get("shots"), canon, "understat_match_id", "us_understat_id", SHOT_COLUMNS,
                     ["understat_shot_id"])
    return PartitionRows(competition_id, season, matches, team_rows, odds, _xg(canon, competition_id, season),
                         lineups.assign(competition_id=competition_id, season=season)[LINEUP_COLUMNS],
                         shots.assign(competition_id=competition_id, season=season)[SHOT_COLUMNS],
                         conflicts, findings)


def _by_side(frame: pd.DataFrame | None, canon: pd.DataFrame, key: str, canon_key: str, columns: list[str],
             unique: list[str]) -> pd.DataFrame:
    """Companion rows (a side of a source's match) onto canonical match and team ids."""
    if frame is None or frame.empty or canon_key not in canon:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns if c not in ("competition_id", "season")})
    ids = canon.loc[canon[canon_key].notna(), [canon_key, "match_id", "home_team_id", "away_team_id"]]
    ids = ids.assign(**{canon_key: ids[canon_key].astype(str)})
    joined = frame.assign(**{key: frame[key].astype(str)}).merge(ids, left_on=key, right_on=canon_key)
    joined["team_id"] = np.where(joined["side"] == "home", joined["home_team_id"], joined["away_team_id"])
    joined = joined.drop_duplicates(unique)
    return joined[[c for c in columns if c in joined.columns]]


def _source_frame(source: str, validated: ValidatedFile | None) -> pd.DataFrame:
    """The source's matches as COMMON columns plus its prefixed extras."""
    columns = ["home_team_id", "away_team_id", *COMMON]
    if validated is None:
        frame = pd.DataFrame({c: pd.Series(dtype=object) for c in columns + EXTRAS[source]})
        frame["match_date"] = pd.Series(dtype="datetime64[ns]")
        frame["kickoff_at"] = pd.Series(dtype="datetime64[ns, UTC]")
    else:
        frame = validated.matches.copy()
        if "kickoff_time_known" not in frame:  # Understat's datetime always carries the time
            frame["kickoff_time_known"] = True
        frame = frame[[c for c in columns + EXTRAS[source] if c in frame.columns]]
    prefix = PREFIX[source]
    frame = frame.rename(columns={c: f"{prefix}{c}" for c in EXTRAS[source] if c in frame.columns})
    frame[f"{prefix}match_date"] = frame["match_date"]
    frame[f"{prefix}kickoff_at"] = frame["kickoff_at"]
    frame[f"{prefix}home_goals"] = frame["home_goals"]
    frame[f"{prefix}away_goals"] = frame["away_goals"]
    return frame


def _join(canon: pd.DataFrame, frame: pd.DataFrame, source: str) -> tuple[pd.DataFrame, list[Rejection], list[str]]:
    prefix = PREFIX[source]
    own = [c for c in frame.columns if c.startswith(prefix)]
    joined = canon.merge(frame[["home_team_id", "away_team_id", *COMMON, *own]],
                         on=["home_team_id", "away_team_id"], how="outer", suffixes=("", "_new"), indicator=True)
    both = joined["_merge"] == "both"
    gap = (joined["match_date"] - joined["match_date_new"]).abs().dt.days
    far = both & (gap > 1)
    conflicts, findings = [], []
    for _, row in joined[far].iterrows():
        reason = (f"{source} {row['home_team_id']} v {row['away_team_id']} on {row['match_date_new']:%Y-%m-%d} has "
                  f"no match within a day in the sources before it ({row['match_date']:%Y-%m-%d})")
        conflicts.append(Rejection(int(row[f"{prefix}source_row"]), row[f"{prefix}raw_row"], reason, "cross_source"))
        findings.append(reason)
    joined.loc[far, own] = np.nan
    only_new = joined["_merge"] == "right_only"
    both = both & ~far
    for column in COMMON:
        joined[column] = joined[column].where(~only_new, joined[f"{column}_new"])
    # A later source's kick-off time fills a date-only one (football-data before 2019-20 has no Time).
    better_time = both & ~joined["kickoff_time_known"].astype("boolean").fillna(False) & \
        joined["kickoff_time_known_new"].astype("boolean").fillna(False)
    joined.loc[better_time, "kickoff_at"] = joined.loc[better_time, "kickoff_at_new"]
    joined.loc[better_time, "kickoff_time_known"] = True
    missing_score = both & joined["home_goals"].isna() & joined["home_goals_new"].notna()
    for column in ("home_goals", "away_goals"):
        joined.loc[missing_score, column] = joined.loc[missing_score, f"{column}_new"]
    disagree = both & ~missing_score & (
        (joined["home_goals"] != joined["home_goals_new"]) | (joined["away_goals"] != joined["away_goals_new"])
    ).fillna(False).astype(bool)
    for _, row in joined[disagree].iterrows():
        findings.append(f"{row['home_team_id']} v {row['away_team_id']} {row['match_date']:%Y-%m-%d}: earlier "
                        f"sources {row['home_goals']}-{row['away_goals']}, {source} "
                        f"{row['home_goals_new']}-{row['away_goals_new']} (earlier kept)")
    joined[f"{prefix}disagrees"] = disagree
    joined[f"{prefix}gap_days"] = gap.where(both)
    joined["kickoff_time_known"] = joined["kickoff_time_known"].astype("boolean").fillna(False).astype(bool)
    drop = [c for c in joined.columns if c.endswith("_new")] + ["_merge"]
    return joined.drop(columns=drop), conflicts, findings


def _first(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    out = pd.Series(pd.NA, index=frame.index, dtype=object)
    for column in reversed(columns):
        if column in frame:
            out = frame[column].astype(object).where(frame[column].notna(), out)
    return out


def _result(home: pd.Series, away: pd.Series) -> pd.Series:
    h = pd.to_numeric(home, errors="coerce").astype(float).to_numpy()
    a = pd.to_numeric(away, errors="coerce").astype(float).to_numpy()
    return pd.Series(np.select([h > a, h < a, h == a], ["H", "A", "D"], None), index=home.index, dtype=object)


def _odds(validated: ValidatedFile | None, canon: pd.DataFrame, competition_id: str, season: str) -> pd.DataFrame:
    if validated is None or validated.odds is None or validated.odds.empty or "fd_source_row" not in canon:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ODDS_COLUMNS})
    ids = canon.loc[canon["fd_source_row"].notna(), ["fd_source_row", "match_id"]]
    ids = ids.astype({"fd_source_row": "int64"}).rename(columns={"fd_source_row": "source_row"})
    odds = validated.odds.merge(ids, on="source_row", how="inner")
    return odds.assign(competition_id=competition_id, season=season)[ODDS_COLUMNS].reset_index(drop=True)


def _xg(canon: pd.DataFrame, competition_id: str, season: str) -> pd.DataFrame:
    frames = []
    for source, id_column, forecasts in ((UNDERSTAT, "us_understat_id", True), (FBREF, "fb_fbref_match_id", False)):
        if id_column not in canon:
            continue
        prefix = PREFIX[source]
        rows = canon[canon[id_column].notna() & canon[f"{prefix}home_xg"].notna()]
        frames.append(pd.DataFrame({
            "match_id": rows["match_id"], "source": source, "source_match_id": rows[id_column].astype(str),
            "competition_id": competition_id, "season": season, "kickoff_at": rows[f"{prefix}kickoff_at"],
            "home_xg": rows[f"{prefix}home_xg"], "away_xg": rows[f"{prefix}away_xg"],
            **{f"forecast_{o}": rows[f"us_forecast_{o}"] if forecasts else np.nan for o in ("home", "draw", "away")},
        }))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in XG_COLUMNS})
    return pd.concat(frames, ignore_index=True)[XG_COLUMNS]


def _quality(canon: pd.DataFrame, odds: pd.DataFrame, given: dict[str, ValidatedFile | None]) -> pd.Series:
    issues = pd.Series(0.0, index=canon.index)
    for source, validated in given.items():
        column = f"{PREFIX[source]}source_row"
        if validated is not None and not validated.issues.empty and column in canon:
            counts = validated.issues.groupby("source_row").size()
            issues += canon[column].map(counts).fillna(0).to_numpy(dtype=float)
    integrity = (1 - 0.25 * issues).clip(lower=0)
    n_sources = sum(canon[f"has_{s}"].astype(int) for s in ORDER)
    disagree = sum(canon.get(f"{PREFIX[s]}disagrees", pd.Series(False, index=canon.index)).fillna(False).astype(bool)
                   for s in ORDER[1:]).astype(bool)
    day_apart = sum((canon.get(f"{PREFIX[s]}gap_days", pd.Series(np.nan, index=canon.index)) == 1).astype(bool)
                    for s in ORDER[1:]).astype(bool)
    corroboration = np.select([disagree, (n_sources >= 2) & day_apart, n_sources >= 2], [0.0, 0.75, 1.0], 0.5)
    present = [canon[f"{side}_{stat}"].notna() for side in ("home", "away") for stat in SCORED_STATS]
    statistics = sum(p.astype(float) for p in present) / len(present)
    closing = odds[(odds["market"] == "1x2") & (odds["phase"] == "closing")]
    complete = closing.groupby(["match_id", "bookmaker"]).size()
    with_closing = set(complete[complete == 3].index.get_level_values(0))
    with_any = set(odds["match_id"])
    odds_score = canon["match_id"].map(lambda m: 1.0 if m in with_closing else 0.5 if m in with_any else 0.0)
    xg = (canon["home_xg"].notna() & canon["away_xg"].notna()).astype(float)
    score = (WEIGHTS["integrity"] * integrity + WEIGHTS["corroboration"] * corroboration
             + WEIGHTS["statistics"] * statistics + WEIGHTS["odds"] * odds_score + WEIGHTS["xg"] * xg)
    return score.astype(float).round(4)


def _team_rows(canon: pd.DataFrame, report_stats: pd.DataFrame | None = None) -> pd.DataFrame:
    possession = {}
    if report_stats is not None and not report_stats.empty and "fb_fbref_match_id" in canon:
        by_id = report_stats.set_index("fbref_match_id")
        for side in ("home", "away"):
            possession[side] = canon["fb_fbref_match_id"].map(by_id[f"possession_{side}"])
    frames = []
    for side, other in (("home", "away"), ("away", "home")):
        goals_for, goals_against = canon[f"{side}_goals"], canon[f"{other}_goals"]
        gf = pd.to_numeric(goals_for, errors="coerce").astype(float).to_numpy()
        ga = pd.to_numeric(goals_against, errors="coerce").astype(float).to_numpy()
        points = pd.Series(np.select([gf > ga, gf == ga, gf < ga], [3.0, 1.0, 0.0], np.nan), index=canon.index)
        frames.append(pd.DataFrame({
            "match_id": canon["match_id"],
            "team_id": canon[f"{side}_team_id"],
            "kickoff_at": canon["kickoff_at"],
            "opponent_id": canon[f"{other}_team_id"],
            "competition_id": canon["competition_id"],
            "season": canon["season"],
            "is_home": side == "home",
            "goals_for": goals_for,
            "goals_against": goals_against,
            "points": points.astype("Int64"),
            "xg_for": pd.to_numeric(canon[f"{side}_xg"], errors="coerce"),
            "xg_against": pd.to_numeric(canon[f"{other}_xg"], errors="coerce"),
            **{stat: canon[f"{side}_{stat}"] for stat in TEAM_STATS},
            "possession": possession.get(side, pd.Series(pd.NA, index=canon.index)),
        }))
    return pd.concat(frames, ignore_index=True)[TEAM_MATCH_COLUMNS]

"""One canonical match per real match, across football-data and Understat."""

from __future__ import annotations

import json

import pandas as pd

from football_pipeline.common.seasons import Season
from football_pipeline.ingestion import football_data, understat
from football_pipeline.quality.validate import validate
from football_pipeline.settings import BUNDLED_DATA_DIR
from football_pipeline.warehouse import build
from football_pipeline_tests.conftest import TODAY
from football_pipeline_tests.helpers import E0_2223, EPL_2022, real_lines, set_cell

SEASON = Season(2022)


def fd(lines, vocabulary):
    parsed = football_data.parse("".join(lines).encode(), path=E0_2223, competition_id="E0", season=SEASON)
    return validate(parsed, vocabulary, pd.Timestamp(TODAY))


def us(document, vocabulary):
    parsed = understat.parse(json.dumps(document).encode(), path=EPL_2022, competition_id="E0", season=SEASON)
    return validate(parsed, vocabulary, pd.Timestamp(TODAY))


def epl_document():
    return json.loads((BUNDLED_DATA_DIR / EPL_2022).read_text())


def test_every_understat_match_joins_one_football_data_match(vocabulary):
    rows = build.build("E0", SEASON.key, fd(real_lines(), vocabulary), us(epl_document(), vocabulary))
    assert len(rows.matches) == 380 and rows.matches["match_id"].is_unique
    assert (rows.matches["sources"] == "football-data,understat").all()
    assert rows.conflicts == [] and rows.findings == []
    assert len(rows.xg) == 380 and set(rows.xg["match_id"]) == set(rows.matches["match_id"])
    assert len(rows.team_match_stats) == 760
    assert rows.matches["data_quality_score"].between(0, 1).all()
    # Kick-off times differ between the sources (UTC vs UK local) and must not stop the join.
    joined = rows.matches.merge(rows.xg, on="match_id", suffixes=("", "_understat"))
    assert (joined["kickoff_at"] != joined["kickoff_at_understat"]).any()


def test_dates_one_day_apart_still_join(vocabulary):
    document = epl_document()
    record = document["dates"][0]
    record["datetime"] = str(pd.Timestamp(record["datetime"]) + pd.Timedelta(hours=20))
    rows = build.build("E0", SEASON.key, fd(real_lines(), vocabulary), us(document, vocabulary))
    assert rows.conflicts == [] and len(rows.matches) == 380
    assert (rows.matches["sources"] == "football-data,understat").all()


def test_same_pairing_far_apart_is_a_quarantined_conflict(vocabulary):
    document = epl_document()
    record = document["dates"][5]
    record["datetime"] = str(pd.Timestamp(record["datetime"]) + pd.Timedelta(days=3))
    rows = build.build("E0", SEASON.key, fd(real_lines(), vocabulary), us(document, vocabulary))
    (conflict,) = rows.conflicts
    assert conflict.check_name == "cross_source" and conflict.source_row == 6
    assert "no football-data match within a day" in conflict.reason
    assert len(rows.matches) == 380 and len(rows.xg) == 379


def test_score_disagreement_keeps_football_data_and_lowers_quality(vocabulary):
    document = epl_document()
    record = document["dates"][0]
    record["goals"]["h"] = str(int(record["goals"]["h"]) + 3)
    clean = build.build("E0", SEASON.key, fd(real_lines(), vocabulary), us(epl_document(), vocabulary))
    rows = build.build("E0", SEASON.key, fd(real_lines(), vocabulary), us(document, vocabulary))
    (finding,) = rows.findings
    assert "football-data kept" in finding
    match_id = finding.split(": football-data")[0]
    before = clean.matches.set_index("match_id").loc[match_id]
    after = rows.matches.set_index("match_id").loc[match_id]
    assert after["home_goals"] == before["home_goals"]
    assert after["data_quality_score"] < before["data_quality_score"]


def test_understat_only_season_becomes_canonical_matches(vocabulary):
    relative = "understat/La_liga/2016.json"
    parsed = understat.parse((BUNDLED_DATA_DIR / relative).read_bytes(), path=relative, competition_id="SP1",
                             season=Season(2016))
    rows = build.build("SP1", "2016-2017", None, validate(parsed, vocabulary, pd.Timestamp(TODAY)))
    assert len(rows.matches) == 380 and (rows.matches["primary_source"] == "understat").all()
    assert rows.odds.empty and len(rows.xg) == 380
    assert rows.matches["kickoff_time_known"].all()
    # Real Madrid won La Liga 2016-17 with 93 points.
    points = rows.team_match_stats.groupby("team_id")["points"].sum()
    assert points.idxmax() == "real-madrid" and points.max() == 93


def test_football_data_missing_a_match_understat_fills_it(vocabulary):
    lines = real_lines()
    removed = lines.pop(12)
    rows = build.build("E0", SEASON.key, fd(lines, vocabulary), us(epl_document(), vocabulary))
    assert len(rows.matches) == 380
    only = rows.matches[rows.matches["primary_source"] == "understat"]
    assert len(only) == 1
    home = removed.split(",")[3]
    assert vocabulary.resolve("football-data", "ENG", home) == only.iloc[0]["home_team_id"]


def test_quality_score_reflects_what_is_known(vocabulary):
    lines = real_lines()
    lines[3] = set_cell(lines[3], lines[0], "HS", "99")
    rows = build.build("E0", SEASON.key, fd(lines, vocabulary), us(epl_document(), vocabulary))
    scores = rows.matches.set_index("match_id")["data_quality_score"]
    full = build.build("E0", SEASON.key, fd(real_lines(), vocabulary), None).matches
    assert scores.max() == 1.0
    assert scores.min() < 1.0
    assert full["data_quality_score"].max() < scores.max()  # no xG and no corroboration without Understat

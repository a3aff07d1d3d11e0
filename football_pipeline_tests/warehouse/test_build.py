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
    assert rows.conflicts == {"understat": []} and rows.findings == []
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
    assert rows.conflicts == {"understat": []} and len(rows.matches) == 380
    assert (rows.matches["sources"] == "football-data,understat").all()


def test_same_pairing_far_apart_is_a_quarantined_conflict(vocabulary):
    document = epl_document()
    record = document["dates"][5]
    record["datetime"] = str(pd.Timestamp(record["datetime"]) + pd.Timedelta(days=3))
    rows = build.build("E0", SEASON.key, fd(real_lines(), vocabulary), us(document, vocabulary))
    (conflict,) = rows.conflicts["understat"]
    assert conflict.check_name == "cross_source" and conflict.source_row == 6
    assert "has no match within a day" in conflict.reason and "tottenham-hotspur v southampton" in conflict.reason
    assert len(rows.matches) == 380 and len(rows.xg) == 379


def test_score_disagreement_keeps_football_data_and_lowers_quality(vocabulary):
    document = epl_document()
    record = document["dates"][0]
    record["goals"]["h"] = str(int(record["goals"]["h"]) + 3)
    clean = build.build("E0", SEASON.key, fd(real_lines(), vocabulary), us(epl_document(), vocabulary))
    rows = build.build("E0", SEASON.key, fd(real_lines(), vocabulary), us(document, vocabulary))
    (finding,) = rows.findings
    assert "earlier kept" in finding and "understat" in finding
    home, away = finding.split(" ")[0], finding.split(" ")[2]
    match_id = f"E0:{SEASON.key}:{home}:{away}"
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


def fbref_validated(relative: str, competition_id: str, season: Season, vocabulary):
    from football_pipeline.ingestion import fbref

    parsed = fbref.parse_schedule((BUNDLED_DATA_DIR / relative).read_bytes(), path=relative,
                                  competition_id=competition_id, season=season)
    return validate(parsed, vocabulary, pd.Timestamp(TODAY))


def test_fbref_alone_gives_a_season_no_other_source_has(vocabulary):
    rows = build.build("SP1", "2023-2024", None, None,
                       fbref_validated("fbref/SP1/2023-2024/schedule.html", "SP1", Season(2023), vocabulary))
    assert len(rows.matches) == 380 and (rows.matches["primary_source"] == "fbref").all()
    assert rows.matches["kickoff_time_known"].all()
    first = rows.matches.iloc[0]
    assert (first["home_team_id"], first["away_team_id"], first["home_goals"], first["away_goals"]) == (
        "almeria", "rayo-vallecano", 0, 2)
    assert str(first["kickoff_at"]) == "2023-08-11 17:30:00+00:00" and first["attendance"] == 14837
    assert set(rows.xg["source"]) == {"fbref"} and len(rows.xg) == 380
    # Real Madrid won La Liga 2023-24 with 95 points.
    points = rows.team_match_stats.groupby("team_id")["points"].sum()
    assert points.idxmax() == "real-madrid" and points.max() == 95


def test_three_sources_fold_into_one_match_each(vocabulary):
    season = Season(2020)
    relative = "football-data/I1/2021.csv"
    parsed = football_data.parse((BUNDLED_DATA_DIR / relative).read_bytes(), path=relative, competition_id="I1",
                                 season=season)
    rows = build.build("I1", "2020-2021", validate(parsed, vocabulary, pd.Timestamp(TODAY)), None,
                       fbref_validated("fbref/I1/2020-2021/schedule.html", "I1", season, vocabulary))
    assert len(rows.matches) == 380
    assert (rows.matches["sources"] == "football-data,fbref").all()
    # Verona v Roma (19 Sept 2020) ended 0-0 and was awarded 3-0 to Verona (Roma fielded an ineligible
    # player): football-data has the played score, FBref the awarded one. The first source wins; the
    # disagreement is reported and lowers the match's quality score.
    verona = rows.matches.set_index("match_id").loc["I1:2020-2021:hellas-verona:roma"]
    assert (verona["home_goals"], verona["away_goals"]) == (0, 0)
    assert rows.findings == ["hellas-verona v roma 2020-09-19: earlier sources 0-0, fbref 3-0 (earlier kept)"]
    assert verona["data_quality_score"] < rows.matches["data_quality_score"].median()
    assert rows.conflicts == {"fbref": []}

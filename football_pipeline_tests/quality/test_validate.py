"""Validation of real files and of real files with one thing broken."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from football_pipeline.common.seasons import Season
from football_pipeline.ingestion import football_data, understat
from football_pipeline.quality.validate import ERROR, WARN, validate
from football_pipeline.settings import BUNDLED_DATA_DIR
from football_pipeline_tests.conftest import TODAY
from football_pipeline_tests.helpers import E0_2223, EPL_2022, cell, real_lines, set_cell

SEASON = Season(2022)


def fd(lines: list[str], vocabulary, today=TODAY):
    parsed = football_data.parse("".join(lines).encode(), path=E0_2223, competition_id="E0", season=SEASON)
    return validate(parsed, vocabulary, pd.Timestamp(today))


def outcome(validated, name):
    return next(o for o in validated.outcomes if o.name == name)


def test_real_file_passes_every_blocking_check(vocabulary):
    validated = fd(real_lines(), vocabulary)
    assert not validated.blocked
    assert len(validated.matches) == 380
    assert {o.name for o in validated.outcomes} >= {"schema", "teams_known", "value_ranges", "consistency",
                                                   "temporal", "no_duplicates", "outliers", "file_complete"}
    assert outcome(validated, "teams_known").passed
    assert outcome(validated, "file_complete").metadata["expected_matches"] == 380


def test_unknown_spelling_is_named_and_left_to_the_load(vocabulary):
    """A spelling the vocabulary lacks is not bad input: a WARN naming it, the rows kept with a
    provisional id that the partition's load resolves (warehouse/resolve.py)."""
    lines = real_lines()
    header = lines[0]
    lines[5] = set_cell(lines[5], header, "HomeTeam", "Arsenal FC")
    lines[9] = set_cell(lines[9], header, "AwayTeam", "Spurs")
    validated = fd(lines, vocabulary)
    check = outcome(validated, "teams_known")
    assert not validated.blocked and not check.passed and check.severity == WARN
    assert "'Arsenal FC' (1 rows)" in check.description and "'Spurs' (1 rows)" in check.description
    assert "football-data" in check.description and E0_2223 in check.description
    assert len(validated.matches) == 380
    assert {"?Arsenal FC", "?Spurs"} <= set(validated.matches["home_team_id"]) | set(validated.matches["away_team_id"])


def test_two_spellings_of_one_club_in_a_file_block_naming_both(vocabulary):
    """An alias that makes two of a file's spellings one club would make their matches collide."""
    lines = real_lines()
    header = lines[0]
    lines[5] = set_cell(lines[5], header, "HomeTeam", "Man Utd")
    vocabulary = vocabulary.learn([], [("football-data", "ENG", "Man Utd", "manchester-united")])
    validated = fd(lines, vocabulary)
    check = outcome(validated, "teams_known")
    assert validated.blocked and check.severity == ERROR
    assert "'man united' and 'man utd' are both 'manchester-united'" in check.description.lower()


def test_dropped_optional_values_never_make_a_file_suspect(vocabulary):
    """Asian-handicap prices without a line in 10% of the rows: prices dropped, matches kept, a WARN
    with the counts, not a refused file (the 5% rule counts matches rejected, not values dropped)."""
    lines = real_lines()
    header = lines[0]
    line_column = next(c for c in ("AHh", "BbAHh") if c in header.split(","))
    for index in range(1, 39):
        lines[index] = set_cell(lines[index], header, line_column, "")
    validated = fd(lines, vocabulary)
    assert not validated.blocked and len(validated.matches) == 380
    check = outcome(validated, "schema")
    assert check.severity == WARN and check.metadata["values_dropped"] >= 38 and check.metadata["rows_rejected"] == 0
    assert "optional value(s) dropped in 38 match(es), the matches kept" in check.description


def test_more_than_five_percent_of_matches_rejected_makes_the_file_suspect(vocabulary):
    lines = real_lines()
    for index in range(1, 25):
        lines[index] = set_cell(lines[index], lines[0], "FTHG", "25")
    check = outcome(fd(lines, vocabulary), "value_ranges")
    assert check.severity == ERROR and "24 of 380 matches rejected by value_ranges" in check.description


def test_impossible_score_is_quarantined_and_the_rest_kept(vocabulary):
    lines = real_lines()
    lines[3] = set_cell(lines[3], lines[0], "FTHG", "25")
    validated = fd(lines, vocabulary)
    check = outcome(validated, "value_ranges")
    assert not check.passed and check.severity == WARN and not validated.blocked
    assert len(validated.matches) == 379
    (rejection,) = [r for r in validated.rejections if r.source_row == 4]
    assert "goals must be 0-20" in rejection.reason and "25" in rejection.reason


def test_completed_match_dated_in_the_future_is_quarantined(vocabulary):
    lines = real_lines()
    # The last match of 2022-23 was played on 28/05/2023; pretend today is the day before.
    validated = fd(lines, vocabulary, today=pd.Timestamp("2023-05-27"))
    future = [r for r in validated.rejections if r.check_name == "temporal"]
    assert future and all("dated after today" in r.reason for r in future)
    assert len(validated.matches) == 380 - len(future)
    assert not outcome(validated, "temporal").passed


def test_duplicates_identical_kept_once_conflicting_all_quarantined(vocabulary):
    lines = real_lines()
    identical = lines[:] + [lines[7]]
    validated = fd(identical, vocabulary)
    assert len(validated.matches) == 380
    (dup,) = [r for r in validated.rejections if r.check_name == "no_duplicates"]
    assert dup.source_row == 382 and "identical" in dup.reason

    conflicting = lines[:] + [set_cell(lines[7], lines[0], "FTAG", str(int(cell(lines[7], lines[0], "FTAG")) + 1))]
    validated = fd(conflicting, vocabulary)
    assert len(validated.matches) == 379
    rows = sorted(r.source_row for r in validated.rejections if r.check_name == "no_duplicates")
    assert rows == [8, 382]


def test_result_code_contradicting_score(vocabulary):
    lines = real_lines()
    home, away = int(cell(lines[2], lines[0], "FTHG")), int(cell(lines[2], lines[0], "FTAG"))
    wrong = {"H": "A", "A": "H", "D": "H"}["H" if home > away else "A" if away > home else "D"]
    lines[2] = set_cell(lines[2], lines[0], "FTR", wrong)
    validated = fd(lines, vocabulary)
    (rejection,) = [r for r in validated.rejections if r.source_row == 3]
    assert rejection.check_name == "consistency" and "contradicts" in rejection.reason


def test_stat_out_of_range_drops_the_value_keeps_the_match(vocabulary):
    lines = real_lines()
    lines[4] = set_cell(lines[4], lines[0], "HS", "99")
    validated = fd(lines, vocabulary)
    assert len(validated.matches) == 380
    row = validated.matches.set_index("source_row").loc[5]
    assert pd.isna(row["home_shots"])
    (rejection,) = [r for r in validated.rejections if r.source_row == 5]
    assert "home_shots 99" in rejection.reason and "match kept" in rejection.reason
    assert (5, "dropped home_shots") in set(validated.issues.itertuples(index=False, name=None))


def test_odds_with_impossible_overround_are_dropped(vocabulary):
    lines = real_lines()
    lines[6] = set_cell(lines[6], lines[0], "PSCH", "40")
    validated = fd(lines, vocabulary)
    odds = validated.odds
    closing = odds[(odds["source_row"] == 7) & (odds["bookmaker"] == "pinnacle") & (odds["market"] == "1x2")
                   & (odds["phase"] == "closing")]
    assert closing.empty
    opening = odds[(odds["source_row"] == 7) & (odds["bookmaker"] == "pinnacle") & (odds["market"] == "1x2")
                   & (odds["phase"] == "opening")]
    assert len(opening) == 3
    (rejection,) = [r for r in validated.rejections if r.source_row == 7]
    assert "pinnacle 1x2 closing" in rejection.reason and "overround" in rejection.reason


def test_many_bad_rows_make_the_check_blocking(vocabulary):
    lines = real_lines()
    for index in range(1, 40):
        lines[index] = set_cell(lines[index], lines[0], "FTHG", "30")
    validated = fd(lines, vocabulary)
    check = outcome(validated, "value_ranges")
    assert check.severity == ERROR and validated.blocked
    assert "over 5%" in check.description


def test_truncated_file_blocks(vocabulary):
    text = "".join(real_lines())
    validated = validate(
        football_data.parse(text[: len(text) - 40].encode(), path=E0_2223, competition_id="E0", season=SEASON),
        vocabulary, pd.Timestamp(TODAY),
    )
    check = outcome(validated, "file_complete")
    assert validated.blocked and check.severity == ERROR and "truncated" in check.description
    assert check.metadata["matches"] == 379


def test_outliers_are_flagged_not_removed(vocabulary):
    lines = real_lines()
    lines[10] = set_cell(lines[10], lines[0], "HC", "28")
    validated = fd(lines, vocabulary)
    assert len(validated.matches) == 380
    check = outcome(validated, "outliers")
    assert not check.passed and check.severity == WARN
    assert "row 11: home_corners=28" in check.metadata["first_findings"]


def test_understat_real_and_broken(vocabulary):
    document = json.loads((BUNDLED_DATA_DIR / EPL_2022).read_text())
    parsed = understat.parse(json.dumps(document).encode(), path=EPL_2022, competition_id="E0", season=SEASON)
    validated = validate(parsed, vocabulary, pd.Timestamp(TODAY))
    assert not validated.blocked and len(validated.matches) == 380

    document["dates"][0]["xG"]["h"] = "14.2"
    document["dates"][1]["h"]["title"] = "Man Utd FC"
    parsed = understat.parse(json.dumps(document).encode(), path=EPL_2022, competition_id="E0", season=SEASON)
    validated = validate(parsed, vocabulary, pd.Timestamp(TODAY))
    assert not validated.blocked  # an unknown spelling is resolved at load
    assert "'Man Utd FC'" in outcome(validated, "teams_known").description
    reasons = {r.source_row: r.reason for r in validated.rejections}
    assert "xG must be 0-10" in reasons[1]


@pytest.mark.parametrize("relative", [E0_2223, "football-data/E0/9394.csv", "football-data/D1/2526.csv"])
def test_real_files_have_no_blocking_failures(relative, vocabulary):
    parsed = football_data.parse((BUNDLED_DATA_DIR / relative).read_bytes(), path=relative,
                                 competition_id=relative.split("/")[1],
                                 season=Season.from_football_data_code(relative[-8:-4]))
    assert not validate(parsed, vocabulary, pd.Timestamp(TODAY)).blocked

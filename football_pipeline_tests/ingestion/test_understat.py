"""Understat match xG in its three layouts, and broken copies of real files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from football_pipeline.common.seasons import Season
from football_pipeline.ingestion import understat
from football_pipeline.ingestion.files import SourceFileError
from football_pipeline.ingestion.records import ParsedFile
from football_pipeline.settings import BUNDLED_DATA_DIR

US = BUNDLED_DATA_DIR / "understat"
SOCCERDATA_CACHE = Path("/work/shared/data/understat/soccerdata-cache/league_1_season_2015.json")


def parse_path(path: Path, competition_id: str, year: int) -> ParsedFile:
    return understat.parse(path.read_bytes(), path=str(path), competition_id=competition_id,
                           season=Season(year))


def parse_records(records: object, tmp_path: Path, competition_id: str = "SP1",
                  year: int = 2016) -> ParsedFile:
    path = tmp_path / "understat" / "La_liga" / f"{year}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records), encoding="utf-8")
    return parse_path(path, competition_id, year)


def la_liga_2016() -> list[dict]:
    return json.loads((US / "La_liga" / "2016.json").read_bytes())


def assert_matches_raw(parsed: ParsedFile, records: list[dict]) -> None:
    matches = parsed.matches
    assert len(matches) == len(records)
    assert matches["source_row"].tolist() == list(range(1, len(records) + 1))
    assert matches["understat_id"].tolist() == [r["id"] for r in records]
    assert matches["home_team"].tolist() == [r["h"]["title"] for r in records]
    assert matches["away_team"].tolist() == [r["a"]["title"] for r in records]
    assert matches["is_result"].tolist() == [r["isResult"] for r in records]
    played = [r for r in records if r["isResult"]]
    assert matches.loc[matches.is_result, "home_xg"].tolist() == [float(r["xG"]["h"]) for r in played]
    assert matches.loc[matches.is_result, "away_xg"].tolist() == [float(r["xG"]["a"]) for r in played]
    assert matches.loc[matches.is_result, "home_goals"].tolist() == [int(r["goals"]["h"]) for r in played]
    assert matches["home_xg"].dtype == float and matches["away_xg"].dtype == float
    assert str(matches["kickoff_at"].dt.tz) == "UTC"
    assert matches["kickoff_at"].tolist() == [pd.Timestamp(r["datetime"], tz="UTC") for r in records]
    assert matches["match_date"].tolist() == [pd.Timestamp(r["datetime"][:10]) for r in records]
    assert parsed.info["records"] == len(records)
    assert parsed.info["rows_with_result"] == len(played)


def test_epl_2020_get_league_data_layout() -> None:
    path = US / "EPL" / "2020.json"
    document = json.loads(path.read_bytes())
    assert isinstance(document, dict) and "dates" in document and "teams" in document
    parsed = parse_path(path, "E0", 2020)
    assert len(parsed.matches) == 380
    assert parsed.rejections == []
    assert_matches_raw(parsed, document["dates"])
    assert parsed.source == "understat" and parsed.competition_id == "E0" and parsed.season == Season(2020)
    assert parsed.matches["match_date"].between(pd.Timestamp("2020-07-01"), pd.Timestamp("2021-08-31")).all()


def test_la_liga_2016_plain_list_layout() -> None:
    path = US / "La_liga" / "2016.json"
    records = json.loads(path.read_bytes())
    assert isinstance(records, list)
    parsed = parse_path(path, "SP1", 2016)
    assert len(parsed.matches) == 380
    assert parsed.rejections == []
    assert_matches_raw(parsed, records)
    first = parsed.matches.iloc[0]
    assert (first["forecast_home"], first["forecast_draw"], first["forecast_away"]) == tuple(
        float(records[0]["forecast"][k]) for k in ("w", "d", "l"))


def test_soccerdata_cache_dict_with_dates_data(tmp_path: Path) -> None:
    if not SOCCERDATA_CACHE.is_file():
        pytest.skip(f"shared data not available: {SOCCERDATA_CACHE}")
    document = json.loads(SOCCERDATA_CACHE.read_bytes())
    if not (isinstance(document, dict) and "datesData" in document):
        pytest.skip(f"{SOCCERDATA_CACHE} has no datesData key")
    path = tmp_path / "understat" / "EPL" / "2015.json"
    path.parent.mkdir(parents=True)
    shutil.copyfile(SOCCERDATA_CACHE, path)
    parsed = parse_path(path, "E0", 2015)
    assert len(parsed.matches) == len(document["datesData"]) == 380
    assert parsed.rejections == []
    assert_matches_raw(parsed, document["datesData"])


def test_soccerdata_cache_agrees_with_the_bundled_epl_2015() -> None:
    if not SOCCERDATA_CACHE.is_file():
        pytest.skip(f"shared data not available: {SOCCERDATA_CACHE}")
    cache = parse_path(SOCCERDATA_CACHE, "E0", 2015).matches
    bundled = parse_path(US / "EPL" / "2015.json", "E0", 2015).matches
    columns = ["understat_id", "home_team", "away_team", "home_goals", "away_goals", "home_xg", "away_xg"]
    left = cache[columns].sort_values("understat_id").reset_index(drop=True)
    right = bundled[columns].sort_values("understat_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(left, right)


# --- broken records ---------------------------------------------------------------------------------------


def test_xg_not_a_number_is_rejected_with_its_record_number(tmp_path: Path) -> None:
    records = la_liga_2016()
    records[4]["xG"]["h"] = "abc"
    parsed = parse_records(records, tmp_path)
    assert len(parsed.matches) == 379
    assert records[4]["id"] not in set(parsed.matches["understat_id"])
    assert len(parsed.rejections) == 1
    rejection = parsed.rejections[0]
    assert rejection.source_row == 5
    assert rejection.reason.startswith("record 5:") and "'abc'" in rejection.reason
    assert json.loads(rejection.raw_row) == records[4]


@pytest.mark.parametrize("key", ["h", "datetime", "id"])
def test_record_missing_a_key_is_rejected(tmp_path: Path, key: str) -> None:
    records = la_liga_2016()
    del records[9][key]
    parsed = parse_records(records, tmp_path)
    assert len(parsed.matches) == 379
    assert [r.source_row for r in parsed.rejections] == [10]
    assert parsed.rejections[0].reason.startswith("record 10:")


def test_played_record_missing_xg_is_kept_without_xg(tmp_path: Path) -> None:
    # Parsing is lenient here by design: the quality layer's "a completed match has no xG" check
    # (quality/schemas.py understat_matches) is what rejects it.
    records = la_liga_2016()
    assert records[4]["isResult"] is True
    del records[4]["xG"]
    parsed = parse_records(records, tmp_path)
    assert len(parsed.matches) == 380
    assert parsed.rejections == []
    row = parsed.matches.iloc[4]
    assert pd.isna(row["home_xg"]) and pd.isna(row["away_xg"])
    assert row["home_goals"] == int(records[4]["goals"]["h"])


def test_xg_that_is_not_an_object_is_rejected(tmp_path: Path) -> None:
    records = la_liga_2016()
    records[4]["xG"] = "abc"
    parsed = parse_records(records, tmp_path)
    assert [r.source_row for r in parsed.rejections] == [5]


def test_is_result_must_be_a_boolean(tmp_path: Path) -> None:
    records = la_liga_2016()
    records[2]["isResult"] = "true"
    parsed = parse_records(records, tmp_path)
    assert [r.source_row for r in parsed.rejections] == [3]
    assert "isResult" in parsed.rejections[0].reason


# --- unusable files ---------------------------------------------------------------------------------------


def test_truncated_json(tmp_path: Path) -> None:
    data = (US / "La_liga" / "2016.json").read_bytes()
    path = tmp_path / "2016.json"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceFileError, match="not valid JSON") as error:
        parse_path(path, "SP1", 2016)
    assert str(path) in str(error.value)


def test_dict_without_dates(tmp_path: Path) -> None:
    document = json.loads((US / "EPL" / "2020.json").read_bytes())
    del document["dates"]
    path = tmp_path / "2020.json"
    path.write_text(json.dumps(document))
    with pytest.raises(SourceFileError, match="unexpected JSON layout") as error:
        parse_path(path, "E0", 2020)
    assert "teams" in str(error.value)


@pytest.mark.parametrize("document", [{"dates": "nope"}, [1, 2, 3], 42],
                         ids=["dates-string", "ints", "number"])
def test_other_unexpected_layouts(tmp_path: Path, document: object) -> None:
    with pytest.raises(SourceFileError, match="unexpected JSON layout"):
        parse_records(document, tmp_path)


def test_records_without_xg_anywhere(tmp_path: Path) -> None:
    records = la_liga_2016()
    for record in records:
        del record["xG"]
    with pytest.raises(SourceFileError, match=r"lack key\(s\) \['xG'\]"):
        parse_records(records, tmp_path)


def test_html_page(tmp_path: Path) -> None:
    path = tmp_path / "2020.json"
    path.write_bytes(b"<!DOCTYPE html>\n<html><head><title>Just a moment...</title></head>"
                     b"<body></body></html>")
    with pytest.raises(SourceFileError, match="HTML") as error:
        parse_path(path, "E0", 2020)
    assert "Just a moment..." in str(error.value)

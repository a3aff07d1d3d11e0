"""football-data.co.uk CSVs: the real bundled files, and real files with one thing broken.

Expectations are computed from the raw files with the csv module, not copied from the parser.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from football_pipeline.common.seasons import Season
from football_pipeline.ingestion import football_data
from football_pipeline.ingestion.files import SourceFileError
from football_pipeline.ingestion.records import ParsedFile
from football_pipeline.settings import BUNDLED_DATA_DIR
from football_pipeline_tests.conftest import FIXTURES

FD = BUNDLED_DATA_DIR / "football-data"
ALT = FIXTURES / "football-data-alt"
UTC = dt.timezone.utc


def parse_file(path: Path, competition_id: str | None = None, code: str | None = None) -> ParsedFile:
    competition_id = competition_id or path.parent.name
    season = Season.from_football_data_code(code or path.stem)
    return football_data.parse(path.read_bytes(), path=str(path), competition_id=competition_id,
                               season=season)


def parse_bytes(data: bytes, tmp_path: Path, competition_id: str = "E0", code: str = "2223") -> ParsedFile:
    path = tmp_path / "football-data" / competition_id / f"{code}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return parse_file(path)


def raw_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def raw_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) for every non-blank data row, read with the csv module (header = line 1)."""
    reader = csv.DictReader(io.StringIO(raw_text(path), newline=""))
    rows = []
    for row in reader:
        if any((v or "").strip() for k, v in row.items() if k is not None and isinstance(v, str)):
            rows.append((reader.line_num, row))
    return rows


def by_line(parsed: ParsedFile) -> pd.DataFrame:
    return parsed.matches.set_index("source_row")


def prices(parsed: ParsedFile, bookmaker: str, market: str, outcome: str, phase: str) -> pd.Series:
    odds = parsed.odds
    selected = odds[(odds.bookmaker == bookmaker) & (odds.market == market) & (odds.outcome == outcome)
                    & (odds.phase == phase)]
    assert not selected.duplicated("source_row").any()
    return selected.set_index("source_row")["price"]


# --- real files ----------------------------------------------------------------------------------------


def test_e0_9394_blank_header_cells_empty_rows_and_ragged_rows() -> None:
    path = FD / "E0" / "9394.csv"
    parsed = parse_file(path)
    lines = raw_text(path).splitlines()
    header = next(csv.reader([lines[0]]))
    cells = [next(csv.reader([line])) for line in lines[1:]]
    blank = sum(1 for c in cells if not any(x.strip() for x in c))
    ragged_lines = [n for n, c in enumerate(cells, start=2)
                    if any(x.strip() for x in c) and len(c) < len(header)]
    assert "" in header  # the file really has blank header cells
    assert blank == 90 and len(ragged_lines) == 79

    assert len(parsed.matches) == 462
    assert parsed.info["blank_rows"] == 90
    assert parsed.info["ragged_rows"] == 79
    assert parsed.info["date_formats"] == ["dd/mm/yy"]
    assert parsed.info["unmapped_columns"] == []
    assert parsed.rejections == [] and parsed.file_problems == []
    dates = parsed.matches["match_date"]
    assert dates.between(pd.Timestamp("1993-07-01"), pd.Timestamp("1994-08-31")).all()
    # ragged rows are padded: their goals are read, the missing trailing columns are NA
    matches = by_line(parsed)
    ragged = matches.loc[ragged_lines]
    assert ragged["home_goals"].notna().all() and ragged["away_goals"].notna().all()
    assert ragged["ht_home_goals"].isna().all()
    first_line, first = raw_rows(path)[0]
    day, month, year = (int(x) for x in first["Date"].split("/"))
    assert matches.at[first_line, "match_date"] == pd.Timestamp(1900 + year, month, day)
    assert matches.at[first_line, "home_team"] == first["HomeTeam"]
    assert matches.at[first_line, "home_goals"] == int(first["FTHG"])


def test_e0_0405_cp1252_referees_lose_their_nbsp() -> None:
    path = FD / "E0" / "0405.csv"
    parsed = parse_file(path)
    assert parsed.info["encoding"] == "cp1252"
    raw = dict(raw_rows(path))
    matches = by_line(parsed)
    for line in (337, 338, 339):
        assert raw[line]["Referee"].startswith("\xa0"), "fixture changed: expected an NBSP before the referee"
        referee = matches.at[line, "referee"]
        assert "\xa0" not in referee and not referee.startswith(" ")
        assert referee == raw[line]["Referee"].replace("\xa0", " ").strip()
        assert matches.at[line, "home_team"] == raw[line]["HomeTeam"]
    assert matches.at[337, "referee"] == "U Rennie"


def test_e0_2122_bom_and_kickoffs_in_utc() -> None:
    path = FD / "E0" / "2122.csv"
    parsed = parse_file(path)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert parsed.info["bom"] is True
    assert len(parsed.matches) == 380
    assert "Div" not in parsed.info["unmapped_columns"] and parsed.matches["division"].eq("E0").all()
    matches = by_line(parsed)
    assert str(matches["kickoff_at"].dt.tz) == "UTC"
    assert matches["kickoff_time_known"].all()
    london = ZoneInfo("Europe/London")
    summer = winter = None
    for line, row in raw_rows(path):
        day = dt.datetime.strptime(row["Date"], "%d/%m/%Y")
        hour, minute = (int(x) for x in row["Time"].split(":"))
        local = day.replace(hour=hour, minute=minute, tzinfo=london)
        assert matches.at[line, "kickoff_at"] == pd.Timestamp(local.astimezone(UTC)), line
        if row["Time"] == "15:00" and day.month in (8, 9) and summer is None:
            summer = (line, day)
        if row["Time"] == "15:00" and day.month in (12, 1) and winter is None:
            winter = (line, day)
    assert summer and winter
    # British Summer Time: 15:00 local is 14:00 UTC; in winter 15:00 local is 15:00 UTC.
    assert matches.at[summer[0], "kickoff_at"] == pd.Timestamp(summer[1].replace(hour=14), tz="UTC")
    assert matches.at[winter[0], "kickoff_at"] == pd.Timestamp(winter[1].replace(hour=15), tz="UTC")


def test_files_without_time_kick_off_at_midnight_utc_unknown() -> None:
    parsed = parse_file(FD / "E0" / "1819.csv")
    assert not parsed.matches["kickoff_time_known"].any()
    assert (parsed.matches["kickoff_at"] == parsed.matches["match_date"].dt.tz_localize("UTC")).all()


def test_e0_1617_two_and_four_digit_years_give_identical_matches() -> None:
    primary = parse_file(FD / "E0" / "1617.csv")
    alternative = parse_file(ALT / "E0" / "1617.csv")
    assert primary.info["date_formats"] == ["dd/mm/yy"]
    assert alternative.info["date_formats"] == ["dd/mm/yyyy"]
    columns = ["match_date", "home_team", "away_team", "home_goals", "away_goals"]
    left = primary.matches[columns].sort_values(columns[:3]).reset_index(drop=True)
    right = alternative.matches[columns].sort_values(columns[:3]).reset_index(drop=True)
    assert len(left) == 380
    pd.testing.assert_frame_equal(left, right)
    assert left["match_date"].between(pd.Timestamp("2016-07-01"), pd.Timestamp("2017-08-31")).all()


def test_alt_e0_2122_has_no_bom_and_one_corrected_half_time_score() -> None:
    primary_path, alt_path = FD / "E0" / "2122.csv", ALT / "E0" / "2122.csv"
    alternative = parse_file(alt_path)
    primary = parse_file(primary_path)
    assert alternative.info["bom"] is False
    assert len(alternative.matches) == 380
    # the MANIFEST's "row 270" is the 270th data row, i.e. line 271 (header = line 1)
    raw_primary, raw_alt = dict(raw_rows(primary_path)), dict(raw_rows(alt_path))
    differing = [line for line in raw_alt if raw_alt[line]["HTHG"] != raw_primary[line]["HTHG"]]
    assert differing == [271]
    assert (raw_alt[271]["HTHG"], raw_primary[271]["HTHG"]) == ("2", "3")
    assert by_line(alternative).at[271, "ht_home_goals"] == 2
    assert by_line(primary).at[271, "ht_home_goals"] == 3
    columns = ["source_row", "match_date", "home_team", "away_team", "home_goals", "away_goals"]
    pd.testing.assert_frame_equal(alternative.matches[columns], primary.matches[columns])


def test_sp1_2223_lf_line_endings() -> None:
    parsed = parse_file(FD / "SP1" / "2223.csv")
    assert parsed.info["line_endings"] == "LF"
    assert parse_file(FD / "E0" / "2223.csv").info["line_endings"] == "CRLF"
    assert len(parsed.matches) == 380
    assert parsed.matches["referee"].isna().all()  # non-English files have no Referee column


# --- odds come out long ------------------------------------------------------------------------------


def test_e0_2223_pinnacle_closing_home_equals_the_psch_cell() -> None:
    path = FD / "E0" / "2223.csv"
    parsed = parse_file(path)
    raw = raw_rows(path)
    closing_home = prices(parsed, "pinnacle", "1x2", "home", "closing")
    line, first = raw[0]
    assert (first["HomeTeam"], first["AwayTeam"]) == ("Crystal Palace", "Arsenal")
    assert closing_home[line] == float(first["PSCH"])
    expected = {line: float(row["PSCH"]) for line, row in raw if row["PSCH"]}
    assert len(expected) >= 370
    assert closing_home.to_dict() == expected
    opening_draw = prices(parsed, "bet365", "1x2", "draw", "opening")
    assert opening_draw.to_dict() == {line: float(row["B365D"]) for line, row in raw if row["B365D"]}


def test_e0_2223_markets_and_lines() -> None:
    path = FD / "E0" / "2223.csv"
    parsed = parse_file(path)
    odds = parsed.odds
    assert set(odds["market"]) == {"1x2", "over_under", "asian_handicap"}
    assert set(odds.loc[odds.market == "over_under", "line"]) == {2.5}
    assert set(odds.loc[odds.market == "1x2", "line"]) == {0.0}
    assert set(odds["phase"]) == {"opening", "closing"}
    assert set(odds.loc[odds.bookmaker == "market_max", "aggregate"]) == {"max"}
    raw = raw_rows(path)
    over = odds[(odds.bookmaker == "pinnacle") & (odds.market == "over_under") & (odds.outcome == "over")
                & (odds.phase == "opening")].set_index("source_row")["price"]
    assert over.to_dict() == {line: float(row["P>2.5"]) for line, row in raw if row["P>2.5"]}
    for phase, line_column, price_column in (("opening", "AHh", "PAHH"), ("closing", "AHCh", "PCAHH")):
        ah = odds[(odds.bookmaker == "pinnacle") & (odds.market == "asian_handicap")
                  & (odds.outcome == "home") & (odds.phase == phase)].set_index("source_row")
        expected = {line: (float(row[line_column]), float(row[price_column]))
                    for line, row in raw if row[price_column] and row[line_column]}
        assert len(expected) >= 370
        assert {k: (v.line, v.price) for k, v in ah.iterrows()} == expected


def test_d1_2425_bfd_is_betfair_draw() -> None:
    path = FD / "D1" / "2425.csv"
    parsed = parse_file(path)
    raw = raw_rows(path)
    assert "BFD" in raw[0][1] and "BFDH" not in raw[0][1]
    bookmakers = set(parsed.odds["bookmaker"])
    assert "betfair" in bookmakers and "betfred" not in bookmakers
    for outcome, column in (("home", "BFH"), ("draw", "BFD"), ("away", "BFA")):
        got = prices(parsed, "betfair", "1x2", outcome, "opening").to_dict()
        assert got == {line: float(row[column]) for line, row in raw if row[column]}
        assert len(got) >= 300
    assert parsed.info["unmapped_columns"] == []


def test_d1_2526_bfd_prefix_is_betfred() -> None:
    path = FD / "D1" / "2526.csv"
    parsed = parse_file(path)
    raw = raw_rows(path)
    assert {"BFDH", "BFDD", "BFDA"} <= set(raw[0][1]) and "BFD" not in raw[0][1]
    bookmakers = set(parsed.odds["bookmaker"])
    assert "betfred" in bookmakers and "betfair" not in bookmakers
    for outcome, column in (("home", "BFDH"), ("draw", "BFDD"), ("away", "BFDA")):
        got = prices(parsed, "betfred", "1x2", outcome, "opening").to_dict()
        assert got == {line: float(row[column]) for line, row in raw if row[column]}
        assert len(got) >= 300
    closing_draw = prices(parsed, "betfred", "1x2", "draw", "closing").to_dict()
    assert closing_draw == {line: float(row["BFDCD"]) for line, row in raw if row["BFDCD"]}
    assert parsed.info["unmapped_columns"] == []


def test_n1_2223_hash_price_is_dropped_and_the_match_kept() -> None:
    path = FD / "N1" / "2223.csv"
    parsed = parse_file(path)
    hashes = [(line, column) for line, row in raw_rows(path) for column, value in row.items() if value == "#"]
    assert len(hashes) == 1
    line, column = hashes[0]
    assert len(parsed.rejections) == 1
    rejection = parsed.rejections[0]
    assert rejection.source_row == line
    assert column in rejection.reason and "'#'" in rejection.reason
    assert "price dropped" in rejection.reason and "match kept" in rejection.reason
    assert line in set(parsed.matches["source_row"])
    assert len(parsed.matches) == 306
    assert column == "B365CH"
    assert line not in prices(parsed, "bet365", "1x2", "home", "closing").index
    assert line in prices(parsed, "bet365", "1x2", "draw", "closing").index


# --- broken copies of real files --------------------------------------------------------------------------

E0_2223 = FD / "E0" / "2223.csv"


def real_lines() -> list[bytes]:
    return E0_2223.read_bytes().splitlines(keepends=True)


def with_cell(lines: list[bytes], line_number: int, column: str, value: str) -> list[bytes]:
    header = lines[0].decode().rstrip("\r\n").split(",")
    cells = lines[line_number - 1].decode().rstrip("\r\n").split(",")
    cells[header.index(column)] = value
    changed = list(lines)
    changed[line_number - 1] = (",".join(cells) + "\r\n").encode()
    return changed


def test_truncated_mid_row(tmp_path: Path) -> None:
    data = E0_2223.read_bytes()
    last_start = data.rstrip(b"\r\n").rfind(b"\n") + 1
    cut = data[: last_start + (len(data) - last_start) // 2]
    assert not cut.endswith(b"\n")
    parsed = parse_bytes(cut, tmp_path)
    assert parsed.file_problems and "truncated" in parsed.file_problems[0]
    last = parsed.rejections[-1]
    assert last.check_name == "file_complete"
    assert last.source_row == 381
    assert last.raw_row == cut[last_start:].decode()
    assert len(parsed.matches) == 379 and 381 not in set(parsed.matches["source_row"])


def test_cut_after_a_full_line_without_trailing_newline(tmp_path: Path) -> None:
    data = E0_2223.read_bytes().rstrip(b"\r\n")
    parsed = parse_bytes(data, tmp_path)
    assert parsed.file_problems and "line break" in parsed.file_problems[0]
    assert parsed.rejections[-1].check_name == "file_complete"
    assert len(parsed.matches) == 379


def test_complete_file_has_no_file_problems(tmp_path: Path) -> None:
    parsed = parse_bytes(E0_2223.read_bytes(), tmp_path)
    assert parsed.file_problems == [] and parsed.rejections == []
    assert len(parsed.matches) == 380


def test_truncation_inside_trailing_blank_rows_keeps_the_last_complete_match(tmp_path: Path) -> None:
    data = (FD / "E0" / "9394.csv").read_bytes()
    parsed = parse_bytes(data[:-5], tmp_path, code="9394")
    assert parsed.file_problems
    assert 463 in set(parsed.matches["source_row"])


def test_renamed_column_names_the_file_the_column_and_the_new_name(tmp_path: Path) -> None:
    lines = real_lines()
    lines[0] = lines[0].replace(b",HomeTeam,", b",Home,")
    with pytest.raises(SourceFileError) as error:
        parse_bytes(b"".join(lines), tmp_path)
    message = str(error.value)
    assert str(tmp_path / "football-data" / "E0" / "2223.csv") in message
    assert "HomeTeam" in message and "renamed to Home" in message


def test_missing_goals_column(tmp_path: Path) -> None:
    lines = [line.decode().rstrip("\r\n").split(",") for line in real_lines()]
    index = lines[0].index("FTHG")
    data = "".join(",".join(cells[:index] + cells[index + 1:]) + "\r\n" for cells in lines).encode()
    with pytest.raises(SourceFileError, match="FTHG"):
        parse_bytes(data, tmp_path)


def test_html_page_saved_as_csv(tmp_path: Path) -> None:
    page = (b"<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head>"
            b"<body><h1>Service Unavailable</h1></body></html>\n")
    with pytest.raises(SourceFileError, match="HTML") as error:
        parse_bytes(page, tmp_path)
    assert "503 Service Unavailable" in str(error.value)


@pytest.mark.parametrize("data", [b"", b"\r\n\r\n  \n"], ids=["zero-bytes", "whitespace"])
def test_empty_file(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(SourceFileError, match="empty"):
        parse_bytes(data, tmp_path)


@pytest.mark.parametrize("ending", [b"\r\n", b""], ids=["newline", "no-newline"])
def test_header_only(tmp_path: Path, ending: bytes) -> None:
    header = real_lines()[0].rstrip(b"\r\n")
    with pytest.raises(SourceFileError, match="no data rows"):
        parse_bytes(header + ending, tmp_path)


def test_impossible_date_is_rejected_with_its_line(tmp_path: Path) -> None:
    lines = with_cell(real_lines(), 10, "Date", "31/02/2023")
    parsed = parse_bytes(b"".join(lines), tmp_path)
    assert len(parsed.rejections) == 1
    rejection = parsed.rejections[0]
    assert rejection.source_row == 10
    assert "'31/02/2023' is not a date" in rejection.reason
    assert rejection.raw_row == lines[9].decode().rstrip("\r\n")
    assert len(parsed.matches) == 379 and 10 not in set(parsed.matches["source_row"])
    assert 10 not in set(parsed.odds["source_row"])


def test_date_outside_the_season_is_rejected(tmp_path: Path) -> None:
    parsed = parse_bytes(b"".join(with_cell(real_lines(), 5, "Date", "01/01/2021")), tmp_path)
    assert [(r.source_row, r.check_name) for r in parsed.rejections] == [(5, "temporal")]
    assert "outside season 2022-2023" in parsed.rejections[0].reason


def test_row_with_extra_values_is_rejected(tmp_path: Path) -> None:
    lines = real_lines()
    lines[20] = lines[20].rstrip(b"\r\n") + b",,surprise,9\r\n"
    parsed = parse_bytes(b"".join(lines), tmp_path)
    assert len(parsed.rejections) == 1
    rejection = parsed.rejections[0]
    assert rejection.source_row == 21 and rejection.check_name == "schema"
    assert "surprise" in rejection.reason and "header has 106" in rejection.reason
    assert 21 not in set(parsed.matches["source_row"])


def test_row_with_extra_empty_fields_is_kept(tmp_path: Path) -> None:
    lines = real_lines()
    lines[20] = lines[20].rstrip(b"\r\n") + b",,,\r\n"
    parsed = parse_bytes(b"".join(lines), tmp_path)
    assert parsed.rejections == [] and len(parsed.matches) == 380


def test_goals_not_a_number_rejects_the_match(tmp_path: Path) -> None:
    parsed = parse_bytes(b"".join(with_cell(real_lines(), 30, "FTHG", "x")), tmp_path)
    assert [(r.source_row, r.check_name) for r in parsed.rejections] == [(30, "schema")]
    assert "FTHG 'x' is not a whole number" in parsed.rejections[0].reason
    assert 30 not in set(parsed.matches["source_row"])


def test_statistic_not_a_number_is_dropped_and_the_match_kept(tmp_path: Path) -> None:
    lines = real_lines()
    raw_shots = dict(raw_rows(E0_2223))[40]["HS"]
    parsed = parse_bytes(b"".join(with_cell(lines, 40, "HS", "x")), tmp_path)
    assert len(parsed.matches) == 380
    match = by_line(parsed).loc[40]
    assert pd.isna(match["home_shots"])
    assert pd.notna(match["away_shots"]) and pd.notna(match["home_goals"])
    assert raw_shots != ""  # it held a value before
    assert len(parsed.rejections) == 1
    rejection = parsed.rejections[0]
    assert rejection.source_row == 40
    assert "HS 'x'" in rejection.reason and "value dropped, match kept" in rejection.reason


@pytest.mark.parametrize("column", ["FTHG", "HS"])
def test_infinite_count_is_not_a_whole_number(tmp_path: Path, column: str) -> None:
    parsed = parse_bytes(b"".join(with_cell(real_lines(), 50, column, "inf")), tmp_path)
    assert [r.source_row for r in parsed.rejections] == [50]
    assert "not a whole number" in parsed.rejections[0].reason

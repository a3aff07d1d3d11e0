"""Locating source files and turning their bytes into text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from football_pipeline.common.seasons import Season
from football_pipeline.ingestion import files
from football_pipeline.ingestion.files import SourceFileError, decode_text
from football_pipeline.settings import BUNDLED_DATA_DIR

DIVISIONS = {"E0", "E1", "SP1", "D1", "I1", "F1", "N1"}
UNDERSTAT_LEAGUES = {"EPL": "E0", "La_liga": "SP1", "Bundesliga": "D1", "Serie_A": "I1", "Ligue_1": "F1"}


def _start_year(code: str) -> int:
    first = int(code[:2])
    return 1900 + first if first >= 90 else 2000 + first


def expected_bundled() -> set[tuple[str, str, int, Path]]:
    expected = set()
    for division in sorted((BUNDLED_DATA_DIR / "football-data").iterdir()):
        for path in division.iterdir():
            if path.suffix == ".csv" and re.fullmatch(r"\d{4}", path.stem):
                expected.add(("football-data", division.name, _start_year(path.stem), path))
    for league in sorted((BUNDLED_DATA_DIR / "understat").iterdir()):
        for path in league.iterdir():
            if path.suffix == ".json":
                expected.add(("understat", UNDERSTAT_LEAGUES[league.name], int(path.stem), path))
    for schedule in (BUNDLED_DATA_DIR / "fbref").glob("*/*/schedule.html"):
        season = Season.from_key(schedule.parent.name)
        expected.add(("fbref", schedule.parent.parent.name, season.start_year, schedule))
    return expected


def test_discover_bundled_data() -> None:
    found = files.discover(BUNDLED_DATA_DIR)
    got = {(f.source, f.competition_id, f.season.start_year, f.path) for f in found}
    expected = expected_bundled()
    assert len(found) == len(got) == len(expected)
    assert got == expected
    assert sum(1 for f in found if f.source == "football-data") == 65
    assert sum(1 for f in found if f.source == "understat") == 33
    assert sum(1 for f in found if f.source == "fbref") == 4
    assert {f.competition_id for f in found} == DIVISIONS


def test_discover_maps_examples() -> None:
    found = {(f.source, f.path.relative_to(BUNDLED_DATA_DIR).as_posix()): f
             for f in files.discover(BUNDLED_DATA_DIR)}
    e0_9394 = found[("football-data", "football-data/E0/9394.csv")]
    assert (e0_9394.competition_id, e0_9394.season) == ("E0", Season.from_key("1993-1994"))
    e0_0001 = found[("football-data", "football-data/E0/0001.csv")]
    assert e0_0001.season == Season.from_key("2000-2001")
    ligue1 = found[("understat", "understat/Ligue_1/2019.json")]
    assert (ligue1.competition_id, ligue1.season) == ("F1", Season.from_key("2019-2020"))
    assert ligue1.relative_to(BUNDLED_DATA_DIR) == "understat/Ligue_1/2019.json"


def test_discover_skips_files_that_map_to_no_partition(data_dir: Path) -> None:
    for relative in ("football-data/E0/2223.csv", "football-data/XX/2223.csv", "football-data/E0/2224.csv",
                     "football-data/E0/notes.csv", "football-data/E0/2223.txt", "understat/EPL/2022.json",
                     "understat/Eredivisie/2022.json", "understat/EPL/latest.json"):
        path = data_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    found = files.discover(data_dir)
    assert [(f.source, f.competition_id, f.season.key) for f in found] == [
        ("football-data", "E0", "2022-2023"),
        ("understat", "E0", "2022-2023"),
    ]


def test_expected_file_locations(data_dir: Path) -> None:
    season = Season(2022)
    fd = files.football_data_file(data_dir, "SP1", season)
    assert fd.path == data_dir / "football-data" / "SP1" / "2223.csv"
    us = files.understat_file(data_dir, "SP1", season)
    assert us is not None and us.path == data_dir / "understat" / "La_liga" / "2022.json"
    assert files.understat_file(data_dir, "E1", season) is None
    assert files.understat_file(data_dir, "N1", season) is None


# --- decode_text -------------------------------------------------------------------------------------------


def test_decode_utf8_bom() -> None:
    data = (BUNDLED_DATA_DIR / "football-data" / "E0" / "2122.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    text, info = decode_text("E0/2122.csv", data)
    assert not text.startswith("\ufeff") and text.startswith("Div,Date,Time,HomeTeam")
    assert info["bom"] is True and info["encoding"] == "utf-8" and info["bytes"] == len(data)
    assert info["line_endings"] == "CRLF"


def test_decode_cp1252_nbsp() -> None:
    data = (BUNDLED_DATA_DIR / "football-data" / "E0" / "0405.csv").read_bytes()
    text, info = decode_text("E0/0405.csv", data)
    assert info["encoding"] == "cp1252" and info["bom"] is False
    assert text.count("\xa0") == data.count(b"\xa0") > 0
    assert "\ufffd" not in text


def test_decode_small_inputs() -> None:
    assert decode_text("a.csv", "Caf\u00e9,x\n".encode("cp1252")) == (
        "Caf\u00e9,x\n", {"bytes": 7, "bom": False, "encoding": "cp1252", "line_endings": "LF"})
    text, info = decode_text("a.csv", "\u20ac\n".encode())
    assert text == "\u20ac\n" and info["encoding"] == "utf-8"
    # 0x81 is undefined in cp1252: latin-1 takes it
    text, info = decode_text("a.csv", b"a\x81b\r\n")
    assert info["encoding"] == "latin-1" and text == "a\x81b\r\n" and info["line_endings"] == "CRLF"


@pytest.mark.parametrize(
    "data", [b"Div,Date\x00\x00\x00\n", b"\xef\xbb\xbfa\x00b", b"PK\x03\x04\x14\x00\x00\x00"]
)
def test_decode_refuses_binary(data: bytes) -> None:
    with pytest.raises(SourceFileError, match="binary") as error:
        decode_text("E0/2223.csv", data)
    assert error.value.path == "E0/2223.csv"
    assert str(error.value).startswith("E0/2223.csv: ")


@pytest.mark.parametrize("data", [b"", b" \r\n\t\n"])
def test_decode_refuses_empty(data: bytes) -> None:
    with pytest.raises(SourceFileError, match="empty"):
        decode_text("x.csv", data)


@pytest.mark.parametrize(
    ("data", "title"),
    [
        (b"<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head></html>",
         "503 Service Unavailable"),
        (b"\xef\xbb\xbf  <HTML>\n<HEAD><TITLE>\n Access Denied \n</TITLE></HEAD></HTML>", "Access Denied"),
        (b"<!-- cache -->\n<html><body>blocked</body></html>", "no title"),
        (b"Some preamble\n<html><head><title>Rate limited</title></head></html>", "Rate limited"),
    ],
)
def test_decode_refuses_html(data: bytes, title: str) -> None:
    with pytest.raises(SourceFileError, match="HTML page") as error:
        decode_text("E0/2223.csv", data)
    assert title in error.value.reason


def test_csv_mentioning_html_text_is_not_html() -> None:
    text, _ = decode_text("x.csv", b"Div,Date,HomeTeam\nE0,01/01/23,<b>Arsenal</b>\n")
    assert "<b>Arsenal</b>" in text


# --- UTF-16 ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("encode", "encoding", "bom"), [
    (lambda text: text.encode("utf-16"), "utf-16", True),  # BOM \xff\xfe (little-endian), as Excel writes it
    (lambda text: b"\xfe\xff" + text.encode("utf-16-be"), "utf-16", True),  # big-endian BOM
    (lambda text: text.encode("utf-16-le"), "utf-16-le", False),  # no BOM: read by its NUL high bytes
])
def test_utf16_csv_is_decoded_and_parses_like_the_original(tmp_path: Path, encode, encoding, bom) -> None:
    from football_pipeline.ingestion import football_data

    original = (BUNDLED_DATA_DIR / "football-data" / "E0" / "2223.csv").read_bytes()
    wide = tmp_path / "football-data" / "E0" / "2223.csv"
    wide.parent.mkdir(parents=True)
    wide.write_bytes(encode(original.decode("utf-8-sig")))
    assert wide.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff", b"D\x00")
    text, info = decode_text("E0/2223.csv", wide.read_bytes())
    assert text.startswith("Div,Date,Time,HomeTeam") and (info["encoding"], info["bom"]) == (encoding, bom)
    assert info["line_endings"] == "CRLF"
    before = football_data.parse(original, path="E0/2223.csv", competition_id="E0", season=Season(2022))
    after = football_data.parse(wide.read_bytes(), path="E0/2223.csv", competition_id="E0", season=Season(2022))
    assert len(after.matches) == 380 and not after.rejections
    assert after.matches.equals(before.matches) and after.odds.equals(before.odds)


def test_utf16_that_is_not_utf16_or_is_html_is_refused() -> None:
    with pytest.raises(SourceFileError, match="not valid UTF-16"):
        decode_text("x.csv", "Div,Date\n".encode("utf-16") + b"\x00")  # an odd byte: cut off
    with pytest.raises(SourceFileError, match="HTML page"):
        decode_text("x.csv", "<html><title>Blocked</title></html>".encode("utf-16"))
    with pytest.raises(SourceFileError, match="empty"):
        decode_text("x.csv", " \r\n".encode("utf-16"))


# --- football-data.co.uk's download names and unrecognised files -----------------------------------------------


def _put(data_dir: Path, relative: str, source: str = "football-data/E0/2223.csv") -> Path:
    path = data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((BUNDLED_DATA_DIR / source).read_bytes())
    return path


def test_download_named_files_are_read_by_the_season_of_their_first_date(data_dir: Path) -> None:
    _put(data_dir, "football-data/E0.csv")  # 2022-23: first match 05/08/2022
    _put(data_dir, "football-data/E1/E1.csv", "football-data/E1/2122.csv")  # 2021-22
    _put(data_dir, "football-data/E0/2122.csv", "football-data/E0/2122.csv")  # by its own name
    found = {(f.competition_id, f.season.key): f.relative_to(data_dir) for f in files.discover(data_dir)}
    assert found == {("E0", "2022-2023"): "football-data/E0.csv", ("E1", "2021-2022"): "football-data/E1/E1.csv",
                     ("E0", "2021-2022"): "football-data/E0/2122.csv"}
    # The Dagster assets find the same files by partition.
    located = files.locate("football-data", data_dir, "E0", Season(2022))
    assert located is not None and located.path == data_dir / "football-data" / "E0.csv"
    assert files.locate("football-data", data_dir, "E1", Season(2021)).path.name == "E1.csv"
    assert files.locate("football-data", data_dir, "E0", Season(2020)) is None
    assert files.unrecognised(data_dir) == []


def test_unrecognised_names_each_file_and_the_name_expected(data_dir: Path) -> None:
    _put(data_dir, "football-data/E0/2223.csv")
    _put(data_dir, "football-data/fixtures.csv")  # the fixtures feed: a companion, not a season file
    _put(data_dir, "football-data/e1/2223.csv", "football-data/E1/2223.csv")
    _put(data_dir, "football-data/E0/2022.csv", "football-data/E0/2122.csv")
    _put(data_dir, "football-data/E0/E0.csv")  # the same season as E0/2223.csv
    _put(data_dir, "football-data/SP1.csv")  # an E0 file named SP1
    _put(data_dir, "football-data/XX/2223.csv")
    _put(data_dir, "football-data/2324/E0.csv")
    _put(data_dir, "football-data/E0/notes.txt")  # not a data file: left alone
    (data_dir / "football-data" / "N1.csv").write_text("Div,Date,HomeTeam,AwayTeam\n")
    _put(data_dir, "understat/epl/2022.json", "understat/EPL/2022.json")
    _put(data_dir, "understat/EPL/2022-23.json", "understat/EPL/2022.json")
    _put(data_dir, "fbref/SP1/2023-24/schedule.html", "fbref/SP1/2023-2024/schedule.html")
    _put(data_dir, "D1.csv")
    assert files.unrecognised(data_dir) == [
        "football-data/2324/E0.csv: football-data.co.uk's URL layout (mmz4281/2324/E0.csv): "
        "name it football-data/E0/2324.csv",
        "football-data/E0/2022.csv: '2022' is not a season code (SSSS: the two years' last digits, "
        "2223 = 2022-23); its first match (2021-08-13) is in 2021-2022: name it football-data/E0/2122.csv",
        "football-data/E0/E0.csv: holds E0 2022-2023 (first match 2022-08-05), which football-data/E0/2223.csv "
        "already provides: remove one",
        "football-data/N1.csv: cannot tell its season (no row with a date in a Date column); "
        "name it football-data/N1/<SSSS>.csv, e.g. football-data/N1/2324.csv for 2023-24",
        "football-data/SP1.csv: named SP1 but its Div column says 'E0'",
        "football-data/XX/2223.csv: 'XX' is not a division; expected football-data/<DIV>/<SSSS>.csv, "
        "e.g. football-data/E0/2324.csv for 2023-24 (DIV: E0, E1, SP1, D1, I1, F1, N1), "
        "or under its download name, football-data/E0.csv",
        "football-data/e1/2223.csv: division folders are upper-case: rename football-data/e1 to "
        "football-data/E1 (football-data/E1/2223.csv)",
        "understat/EPL/2022-23.json: '2022-23' is not a season's first year; name it understat/EPL/2022.json",
        "understat/epl/2022.json: Understat spells the league 'EPL': rename understat/epl to understat/EPL",
        "fbref/SP1/2023-24/schedule.html: '2023-24' is not a season key (e.g. 2023-2024); "
        "name the folder fbref/SP1/2023-2024",
        "D1.csv: not in a source folder (only teams.csv and team_aliases.csv belong at the top); "
        "move it to football-data/D1.csv",
    ]
    # Only the file by its own name is read; the duplicate under the download name is not.
    assert [f.relative_to(data_dir) for f in files.discover(data_dir)] == ["football-data/E0/2223.csv"]


def test_bundled_data_has_no_unrecognised_file() -> None:
    assert files.unrecognised(BUNDLED_DATA_DIR) == []

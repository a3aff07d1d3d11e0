"""Locating and decoding source files.

The data directory layout (bundled data and `FOOTBALL_DATA_DIR` alike)::

    football-data/<DIV>/<SSSS>.csv      football-data.co.uk season file, e.g. football-data/E0/2223.csv
    football-data/<DIV>.csv             the same file under its download name (football-data/E0.csv, or
                                        football-data/E0/E0.csv): its season is read from its first date
    understat/<LEAGUE>/<YEAR>.json      Understat getLeagueData response or datesData list
    fbref/<DIV>/<SEASON>/schedule.html  FBref Scores & Fixtures page (match reports in matches/<id>.html)
    clubelo/...                         ClubElo CSVs
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

from football_pipeline.common import competitions
from football_pipeline.common.seasons import Season

FOOTBALL_DATA = "football-data"
UNDERSTAT = "understat"
FBREF = "fbref"
CLUBELO = "clubelo"
FIXTURES_FEED = "fixtures.csv"  # football-data/fixtures.csv, the upcoming matches (ingestion.companions)


class SourceFileError(ValueError):
    """A whole file cannot be used. The message names the file and the reason."""

    def __init__(self, path: Path | str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


@dataclass(frozen=True)
class SourceFile:
    source: str
    competition_id: str
    season: Season
    path: Path

    def relative_to(self, data_dir: Path) -> str:
        try:
            return str(self.path.relative_to(data_dir))
        except ValueError:
            return str(self.path)


def football_data_file(data_dir: Path, competition_id: str, season: Season) -> SourceFile:
    path = data_dir / FOOTBALL_DATA / competition_id / f"{season.football_data_code}.csv"
    return SourceFile(FOOTBALL_DATA, competition_id, season, path)


def understat_file(data_dir: Path, competition_id: str, season: Season) -> SourceFile | None:
    league = competitions.get(competition_id).understat_league
    if league is None:
        return None
    path = data_dir / UNDERSTAT / league / f"{season.understat_year}.json"
    return SourceFile(UNDERSTAT, competition_id, season, path)


def fbref_file(data_dir: Path, competition_id: str, season: Season) -> SourceFile | None:
    """The FBref schedule page; its match reports sit beside it in `matches/<id>.html`."""
    if competitions.get(competition_id).fbref_comp_id is None:
        return None
    path = data_dir / FBREF / competition_id / season.key / "schedule.html"
    return SourceFile(FBREF, competition_id, season, path)


def locate(source: str, data_dir: Path, competition_id: str, season: Season) -> SourceFile | None:
    """The file of `source` for a partition, if it exists in `data_dir` (a football-data file also under
    its download name, `football-data/E0.csv`, when its dates put it in `season`)."""
    finder = {FOOTBALL_DATA: football_data_file, UNDERSTAT: understat_file, FBREF: fbref_file}[source]
    found = finder(data_dir, competition_id, season)
    if found is not None and found.path.is_file():
        return found
    if source != FOOTBALL_DATA:
        return None
    downloads = _downloads(data_dir, set())
    return next((f for f in downloads if f.competition_id == competition_id and f.season == season), None)


def discover(data_dir: Path) -> list[SourceFile]:
    """Every football-data, Understat and FBref file in `data_dir` that maps to a known partition (a
    football-data file under its download name too, unless its partition's file is there by its own name)."""
    found: list[SourceFile] = []
    for path in sorted((data_dir / FOOTBALL_DATA).glob("*/*.csv")):
        if path.parent.name in competitions.BY_ID and re.fullmatch(r"\d{4}", path.stem):
            try:
                season = Season.from_football_data_code(path.stem)
            except ValueError:
                continue
            found.append(SourceFile(FOOTBALL_DATA, path.parent.name, season, path))
    found.extend(_downloads(data_dir, {(f.competition_id, f.season) for f in found}))
    for path in sorted((data_dir / UNDERSTAT).glob("*/*.json")):
        competition = competitions.BY_UNDERSTAT_LEAGUE.get(path.parent.name)
        if competition and re.fullmatch(r"\d{4}", path.stem):
            found.append(SourceFile(UNDERSTAT, competition.competition_id, Season(int(path.stem)), path))
    for path in sorted((data_dir / FBREF).glob("*/*/schedule.html")):
        competition_id, season_key = path.parent.parent.name, path.parent.name
        if competition_id in competitions.BY_ID and re.fullmatch(r"\d{4}-\d{4}", season_key):
            try:
                found.append(SourceFile(FBREF, competition_id, Season.from_key(season_key), path))
            except ValueError:
                continue
    return found


# --- football-data.co.uk's own download names --------------------------------------------------------------

def _download_paths(data_dir: Path) -> list[Path]:
    """Season files under football-data.co.uk's name, `<DIV>.csv`: in football-data/ or football-data/<DIV>/."""
    folder = data_dir / FOOTBALL_DATA
    paths = [p for d in competitions.BY_ID for p in (folder / f"{d}.csv", folder / d / f"{d}.csv")]
    return sorted(p for p in paths if p.is_file())


def _downloads(data_dir: Path, taken: set[tuple[str, Season]]) -> list[SourceFile]:
    """The download-named files whose season their dates tell and no other file of the partition holds
    (`taken`: the partitions already found; a season file under its own name wins)."""
    found = []
    for path in _download_paths(data_dir):
        division = path.stem
        day, div_cell = _first_date(path)
        if day is None or div_cell not in (None, division):
            continue
        season = Season.containing(day)
        if (division, season) not in taken:
            taken.add((division, season))
            found.append(SourceFile(FOOTBALL_DATA, division, season, path))
    return found


_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def _first_date(path: Path) -> tuple[dt.date | None, str | None]:
    """A football-data CSV's first match date (its `Date` column) and that row's `Div` cell, if any."""
    stat = path.stat()
    return _first_date_of(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _first_date_of(path: str, _mtime_ns: int, _size: int) -> tuple[dt.date | None, str | None]:
    try:
        text, _ = decode_text(path, Path(path).read_bytes())
    except (OSError, SourceFileError):
        return None, None
    rows = csv.reader(io.StringIO(text))
    header = [cell.strip() for cell in next(rows, [])]
    if "Date" not in header:
        return None, None
    date_at, div_at = header.index("Date"), header.index("Div") if "Div" in header else None
    for row in rows:
        day = _date(row[date_at].strip()) if len(row) > date_at else None
        if day is not None:
            return day, (row[div_at].strip() or None) if div_at is not None and len(row) > div_at else None
    return None, None


def _date(text: str) -> dt.date | None:
    """`dd/mm/yy`, `dd/mm/yyyy` or ISO; two-digit years 90-99 are the 1990s (football-data starts in 1993)."""
    try:
        if iso := _ISO.fullmatch(text):
            return dt.date(int(iso[1]), int(iso[2]), int(iso[3]))
        if dmy := _DMY.fullmatch(text):
            year = int(dmy[3]) if len(dmy[3]) == 4 else (1900 if int(dmy[3]) >= 90 else 2000) + int(dmy[3])
            return dt.date(year, int(dmy[2]), int(dmy[1]))
    except ValueError:
        pass
    return None


# --- files that no partition reads ---------------------------------------------------------------------------

_DIVISIONS = ", ".join(competitions.BY_ID)
_LEAGUES = ", ".join(competitions.BY_UNDERSTAT_LEAGUE)
EXPECTED = {
    FOOTBALL_DATA: f"football-data/<DIV>/<SSSS>.csv, e.g. football-data/E0/2324.csv for 2023-24 (DIV: {_DIVISIONS}), "
                   "or under its download name, football-data/E0.csv",
    UNDERSTAT: f"understat/<LEAGUE>/<YEAR>.json, e.g. understat/EPL/2023.json for 2023-24 (LEAGUE: {_LEAGUES})",
    FBREF: f"fbref/<DIV>/<SEASON>/schedule.html, e.g. fbref/SP1/2023-2024/schedule.html (DIV: {_DIVISIONS})",
}
# What is looked at in each source folder (anything else, notes or temporary files, is left alone).
_DATA_SUFFIXES = {FOOTBALL_DATA: (".csv", ".xlsx", ".xls"), UNDERSTAT: (".json",), FBREF: (".html", ".htm")}
ROOT_FILES = ("teams.csv", "team_aliases.csv")


def unrecognised(data_dir: Path) -> list[str]:
    """Data files in `data_dir`'s source folders (and CSVs at its top) that no partition reads, one message
    each: the file, why, and the name expected (the right one where the name or the file's dates tell).
    Companions (football-data/fixtures.csv, match pages) and files other than data files are not listed."""
    read = discover(data_dir)
    used = {f.path for f in read}
    holders = {(f.competition_id, f.season): f.relative_to(data_dir) for f in read if f.source == FOOTBALL_DATA}
    problems = []
    for source, suffixes in _DATA_SUFFIXES.items():
        folder = data_dir / source
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            parts = path.relative_to(folder).parts
            if (path.suffix.lower() not in suffixes or path in used or any(p.startswith(".") for p in parts)
                    or not path.is_file()):
                continue
            if source == FOOTBALL_DATA:
                reason = _football_data_problem(parts, path, holders)
            elif source == UNDERSTAT:
                reason = _understat_problem(parts)
            else:
                reason = _fbref_problem(parts)
            if reason:
                problems.append(f"{source}/{'/'.join(parts)}: {reason}")
    for path in sorted(data_dir.glob("*.csv")) if data_dir.is_dir() else []:
        if path.name in ROOT_FILES:
            continue
        where = (f"move it to football-data/{path.name}" if path.stem in competitions.BY_ID
                 else f"expected {EXPECTED[FOOTBALL_DATA]}")
        problems.append(f"{path.name}: not in a source folder (only {' and '.join(ROOT_FILES)} belong at the "
                        f"top); {where}")
    return problems


def _named_by_dates(path: Path, division: str, expected: str) -> str:
    """`its first match (...) is in 2022-2023: name it football-data/E0/2223.csv` from the file's first date,
    else `expected`."""
    day, _ = _first_date(path)
    if day is None:
        return expected
    season = Season.containing(day)
    return (f"its first match ({day.isoformat()}) is in {season.key}: "
            f"name it football-data/{division}/{season.football_data_code}.csv")


def _football_data_problem(parts: tuple[str, ...], path: Path, holders: dict[tuple[str, Season], str]) -> str | None:
    expected = f"expected {EXPECTED[FOOTBALL_DATA]}"
    name, stem = parts[-1], Path(parts[-1]).stem
    if parts == (FIXTURES_FEED,):
        return None
    if path.suffix.lower() != ".csv":
        return f"not a CSV file (workbooks are not read: use football-data.co.uk's CSV files); {expected}"
    if len(parts) == 1 or (len(parts) == 2 and parts[0] == stem):
        if stem in competitions.BY_ID:  # a download name whose season is unreadable or taken
            return _download_problem(path, stem, holders)
        if stem.upper() in competitions.BY_ID and len(parts) == 1:
            return f"divisions are upper-case: name it football-data/{stem.upper()}.csv"
    if len(parts) == 1:
        if re.fullmatch(r"\d{4}", stem):
            return f"no division folder: move it to football-data/<DIV>/{name}, e.g. football-data/E0/{name}"
        return f"not a football-data file name; {_named_by_dates(path, '<DIV>', expected)}"
    if len(parts) > 2:
        return f"too deep; {expected}"
    folder = parts[0]
    if folder in competitions.BY_ID:
        if re.fullmatch(r"\d{4}", stem):  # four digits, not a season code (those are read)
            return (f"{stem!r} is not a season code (SSSS: the two years' last digits, 2223 = 2022-23); "
                    f"{_named_by_dates(path, folder, expected)}")
        return f"not a season file name; {_named_by_dates(path, folder, expected)}"
    if folder.upper() in competitions.BY_ID:
        return (f"division folders are upper-case: rename football-data/{folder} to football-data/{folder.upper()} "
                f"(football-data/{folder.upper()}/{name})")
    if re.fullmatch(r"\d{4}", folder) and stem in competitions.BY_ID:
        return (f"football-data.co.uk's URL layout (mmz4281/{folder}/{name}): "
                f"name it football-data/{stem}/{folder}.csv")
    return f"{folder!r} is not a division; {expected}"


def _download_problem(path: Path, division: str, holders: dict[tuple[str, Season], str]) -> str:
    day, div_cell = _first_date(path)
    if day is None:
        return (f"cannot tell its season (no row with a date in a Date column); "
                f"name it football-data/{division}/<SSSS>.csv, e.g. football-data/{division}/2324.csv for 2023-24")
    if div_cell not in (None, division):
        return f"named {division} but its Div column says {div_cell!r}"
    season = Season.containing(day)
    return (f"holds {division} {season.key} (first match {day.isoformat()}), which "
            f"{holders.get((division, season), 'another file')} already provides: remove one")


def _understat_problem(parts: tuple[str, ...]) -> str | None:
    expected = f"expected {EXPECTED[UNDERSTAT]}"
    if len(parts) == 4 and parts[2] == "matches":  # getMatchData companions: understat/<LEAGUE>/<YEAR>/matches/
        return None
    if len(parts) != 2:
        return f"not an Understat league file; {expected}"
    league, stem = parts[0], Path(parts[1]).stem
    if league not in competitions.BY_UNDERSTAT_LEAGUE:
        spelled = {name.lower(): name for name in competitions.BY_UNDERSTAT_LEAGUE}.get(league.lower())
        if spelled:
            return f"Understat spells the league {spelled!r}: rename understat/{league} to understat/{spelled}"
        return f"{league!r} is not an Understat league the pipeline reads; {expected}"
    start = re.match(r"(\d{4})-\d{4}$|(\d{4})-\d{2}$", stem)
    hint = f"name it understat/{league}/{start[1] or start[2]}.json" if start else expected
    return f"{stem!r} is not a season's first year; {hint}"


def _fbref_problem(parts: tuple[str, ...]) -> str | None:
    expected = f"expected {EXPECTED[FBREF]}"
    if len(parts) == 4 and parts[2] == "matches":  # match reports beside the schedule
        return None
    if len(parts) != 3 or parts[2] != "schedule.html":
        return f"not an FBref schedule page; {expected}"
    division, season = parts[0], parts[1]
    if division not in competitions.BY_ID:
        if division.upper() in competitions.BY_ID:
            return f"division folders are upper-case: rename fbref/{division} to fbref/{division.upper()}"
        return f"{division!r} is not a division; {expected}"
    short = re.fullmatch(r"(\d{4})-(\d{2})", season)
    hint = f"name the folder fbref/{division}/{short[1]}-{int(short[1]) + 1}" if short else expected
    return f"{season!r} is not a season key (e.g. 2023-2024); {hint}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# Byte-order marks of the wide encodings (UTF-32 first: its little-endian mark starts like UTF-16's).
_WIDE_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
              (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def decode_text(path: Path | str, data: bytes) -> tuple[str, dict[str, object]]:
    """Bytes to text: strips a UTF-8 BOM, falls back to cp1252 (then latin-1) for non-UTF-8 bytes; reads
    UTF-16 (a spreadsheet's "Unicode text" export) by its BOM, or without one by its NUL high bytes.

    Refuses empty files, binary content and HTML pages saved under a data file's name.
    """
    info: dict[str, object] = {"bytes": len(data), "bom": data.startswith(b"\xef\xbb\xbf")}
    if not data.strip():
        raise SourceFileError(path, "file is empty")
    wide = _wide_encoding(data)
    if wide is not None:
        text, info["encoding"], info["bom"] = _decode_wide(path, data, *wide)
    else:
        body = data[3:] if info["bom"] else data
        if b"\x00" in body[:4096]:
            raise SourceFileError(path, "file is binary (NUL bytes), not text")
        _refuse_html(path, body)
        for encoding in ("utf-8", "cp1252", "latin-1"):
            try:
                text = body.decode(encoding)
            except UnicodeDecodeError:
                continue
            info["encoding"] = encoding
            break
    crlf = text.count("\r\n")
    info["line_endings"] = "CRLF" if crlf and crlf >= text.count("\n") - crlf else "LF"
    return text, info


def _wide_encoding(data: bytes) -> tuple[str, bool] | None:
    """(codec, has BOM) for UTF-16/32 text; None for everything else."""
    for bom, codec in _WIDE_BOMS:
        if data.startswith(bom):
            return codec, True
    head = data[:512]
    if len(head) >= 8 and len(head) % 2 == 0 and b"\x00" in head:
        # Text of Latin letters in UTF-16 without a BOM: every other byte NUL, the others not.
        for codec, nuls, letters in (("utf-16-le", head[1::2], head[0::2]), ("utf-16-be", head[0::2], head[1::2])):
            if not nuls.strip(b"\x00") and b"\x00" not in letters:
                return codec, False
    return None


def _decode_wide(path: Path | str, data: bytes, codec: str, bom: bool) -> tuple[str, str, bool]:
    try:
        text = data.decode(codec)  # "utf-16"/"utf-32" read the BOM for the byte order and drop it
    except UnicodeDecodeError as error:
        raise SourceFileError(path, f"starts as {codec.upper()} text but is not valid {codec.upper()} "
                                    f"(byte {error.start}): a truncated or mixed file?") from None
    if not text.strip():
        raise SourceFileError(path, "file is empty")
    if "\x00" in text[:4096]:
        raise SourceFileError(path, "file is binary (NUL characters), not text")
    _refuse_html(path, text[:65536].encode("utf-8"))
    return text, codec, bom


_HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html|<head|<body|<\?xml|<!--)", re.IGNORECASE)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _refuse_html(path: Path | str, body: bytes) -> None:
    head = body[:4096]
    if _HTML_START.match(head) or b"<html" in head.lower():
        title = _TITLE.search(body[:65536])
        shown = title.group(1).decode("utf-8", "replace").strip()[:120] if title else "no title"
        raise SourceFileError(
            path, f"is an HTML page, not a data file (title: {shown!r}); an error or block page saved as data?"
        )

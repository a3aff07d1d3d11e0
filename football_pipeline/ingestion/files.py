"""Locating and decoding source files.

The data directory layout (bundled data and `FOOTBALL_DATA_DIR` alike)::

    football-data/<DIV>/<SSSS>.csv      football-data.co.uk season file, e.g. football-data/E0/2223.csv
    understat/<LEAGUE>/<YEAR>.json      Understat getLeagueData response or datesData list
    fbref/<DIV>/<SEASON>/schedule.html  FBref Scores & Fixtures page (match reports in matches/<id>.html)
    clubelo/...                         ClubElo CSVs
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from football_pipeline.common import competitions
from football_pipeline.common.seasons import Season

FOOTBALL_DATA = "football-data"
UNDERSTAT = "understat"
FBREF = "fbref"
CLUBELO = "clubelo"


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
    """The file of `source` for a partition, if it exists in `data_dir`."""
    finder = {FOOTBALL_DATA: football_data_file, UNDERSTAT: understat_file, FBREF: fbref_file}[source]
    found = finder(data_dir, competition_id, season)
    return found if found is not None and found.path.is_file() else None


def discover(data_dir: Path) -> list[SourceFile]:
    """Every football-data and Understat file in `data_dir` that maps to a known partition."""
    found: list[SourceFile] = []
    for path in sorted((data_dir / FOOTBALL_DATA).glob("*/*.csv")):
        if path.parent.name in competitions.BY_ID and re.fullmatch(r"\d{4}", path.stem):
            try:
                season = Season.from_football_data_code(path.stem)
            except ValueError:
                continue
            found.append(SourceFile(FOOTBALL_DATA, path.parent.name, season, path))
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


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_text(path: Path | str, data: bytes) -> tuple[str, dict[str, object]]:
    """Bytes to text: strips a UTF-8 BOM, falls back to cp1252 (then latin-1) for non-UTF-8 bytes.

    Refuses empty files, binary content and HTML pages saved under a data file's name.
    """
    info: dict[str, object] = {"bytes": len(data), "bom": data.startswith(b"\xef\xbb\xbf")}
    if not data.strip():
        raise SourceFileError(path, "file is empty")
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

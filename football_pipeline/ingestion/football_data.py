"""football-data.co.uk season CSVs: results, match statistics and odds.

Handles every quirk of the real files (see the bundled PROVENANCE.md): UTF-8 BOMs, CRLF and LF,
cp1252 bytes, `dd/mm/yy` and `dd/mm/yyyy` dates (the century comes from the season, never from the
digits' position), blank header cells, rows of commas, rows shorter or longer than the header, header
generations that add and drop columns, and odds headers that only mean something per season.
Odds come out long: one row per (match, bookmaker, market, line, outcome, phase).
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import re
from collections import Counter
from collections.abc import Callable
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from football_pipeline.common.seasons import Season
from football_pipeline.ingestion import odds_columns
from football_pipeline.ingestion.files import FOOTBALL_DATA, SourceFileError, decode_text, sha256
from football_pipeline.ingestion.records import ParsedFile, Rejection

UK = ZoneInfo("Europe/London")
REQUIRED_COLUMNS = ("Date", "HomeTeam", "AwayTeam", "FTHG", "FTAG")
FIXTURE_COLUMNS = ("Div", "Date", "HomeTeam", "AwayTeam")  # fixtures.csv: every division, no results yet

# football-data column -> canonical column; all whole numbers except the text ones
FACT_COLUMNS: dict[str, str] = {
    "FTHG": "home_goals",
    "FTAG": "away_goals",
    "HTHG": "ht_home_goals",
    "HTAG": "ht_away_goals",
    "Attendance": "attendance",
    "HS": "home_shots",
    "AS": "away_shots",
    "HST": "home_shots_on_target",
    "AST": "away_shots_on_target",
    "HHW": "home_woodwork",
    "AHW": "away_woodwork",
    "HC": "home_corners",
    "AC": "away_corners",
    "HF": "home_fouls",
    "AF": "away_fouls",
    "HO": "home_offsides",
    "AO": "away_offsides",
    "HY": "home_yellow_cards",
    "AY": "away_yellow_cards",
    "HR": "home_red_cards",
    "AR": "away_red_cards",
    "HBP": "home_booking_points",
    "ABP": "away_booking_points",
}
TEXT_COLUMNS = {"FTR": "result", "HTR": "ht_result", "Referee": "referee"}
KNOWN_NON_ODDS = {"Div", "Date", "Time", "HomeTeam", "AwayTeam", *FACT_COLUMNS, *TEXT_COLUMNS}
STAT_COLUMNS = [c for c in FACT_COLUMNS.values() if c not in ("home_goals", "away_goals")]
MATCH_COLUMNS = [
    "source_row", "raw_row", "match_date", "kickoff_at", "kickoff_time_known", "division",
    "home_team", "away_team", "home_goals", "away_goals", "result", "ht_result", "referee",
    *STAT_COLUMNS,
]  # fmt: skip
ODDS_COLUMNS = ["source_row", "bookmaker", "market", "line", "outcome", "phase", "price", "aggregate"]

_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse(data: bytes, *, path: str, competition_id: str, season: Season,
          required: tuple[str, ...] = REQUIRED_COLUMNS) -> ParsedFile:
    """Parse one football-data season file. Raises `SourceFileError` when the file is unusable."""
    text, info = decode_text(path, data)
    lines = text.splitlines()
    header = _header(path, lines[0], required)
    rejections: list[Rejection] = []
    file_problems: list[str] = []

    # Every football-data file ends with a line break; without one its last line may be cut off
    # anywhere, even inside its last number, so that line cannot be trusted.
    cut_line = len(lines) if not text.endswith(("\n", "\r")) else None

    rows, line_numbers, raws = [], [], []
    widths: Counter[int] = Counter()
    blank = ragged = 0
    width = len(header)
    for number, raw in enumerate(lines[1:], start=2):
        cells = next(csv.reader([raw])) if raw else []
        cells = [cell.replace("\xa0", " ").strip() for cell in cells]
        if not any(cells):
            blank += 1
            continue
        widths[len(cells)] += 1
        if number == cut_line:
            rejections.append(Rejection(number, raw, "last line may be cut off: the file is truncated",
                                        "file_complete"))
            continue
        if len(cells) > width:
            extra = [c for c in cells[width:] if c]
            if extra:
                rejections.append(
                    Rejection(number, raw, f"row has {len(cells)} fields but the header has {width}; "
                              f"extra values {extra[:5]} cannot be assigned to columns", "schema")
                )
                continue
            cells = cells[:width]
        elif len(cells) < width:
            ragged += 1
            cells = cells + [""] * (width - len(cells))
        rows.append(cells)
        line_numbers.append(number)
        raws.append(raw)
    if cut_line is not None:
        usual = widths.most_common(1)[0][0] if widths else width
        last_width = len(next(csv.reader([lines[-1]]))) if lines[-1] else 0
        file_problems.append(
            f"file ends without a line break, mid-line at line {cut_line} ({last_width} of {usual} fields): "
            "truncated download?"
        )
    if not rows:
        raise SourceFileError(path, "has a header but no data rows")

    info.update(rows=len(rows), blank_rows=blank, ragged_rows=ragged, columns=len(header))
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame.insert(0, "source_row", line_numbers)
    frame.insert(1, "raw_row", raws)

    matches = _matches(frame, header, season, rejections, info)
    odds, unmapped = _odds(frame, header, season, rejections)
    info["unmapped_columns"] = unmapped
    keep = frame["source_row"].isin(matches["source_row"])
    info["rows_with_result"] = int(matches["home_goals"].notna().sum())
    return ParsedFile(
        source=FOOTBALL_DATA,
        competition_id=competition_id,
        season=season,
        path=path,
        sha256=sha256(data),
        matches=matches,
        odds=odds[odds["source_row"].isin(frame.loc[keep, "source_row"])].reset_index(drop=True),
        rejections=rejections,
        info=info,
        file_problems=file_problems,
    )


def parse_fixtures(data: bytes, *, path: str, competition_id: str, season: Season) -> ParsedFile:
    """football-data's `fixtures.csv`, reduced to one partition.

    The feed lists the coming matches of every division, with pre-match prices and no results. The rows of
    `competition_id` dated inside `season` come back as a season file's would (goals missing, prices as
    opening odds, line numbers of fixtures.csv); rows of other divisions or seasons belong to other
    partitions and are left out without complaint (counted in `info`). A bad row of this partition is
    rejected with its line and reason, as in a season file.
    """
    text, _ = decode_text(path, data)
    lines = text.splitlines(keepends=True)
    if not lines:
        raise SourceFileError(path, "is empty")
    header = _header(path, lines[0].rstrip("\r\n"), FIXTURE_COLUMNS)
    division = header.index("Div")
    kept, other = [lines[0]], 0
    for line in lines[1:]:
        cells = next(csv.reader([line.rstrip("\r\n")]), [])
        ours = len(cells) > division and cells[division].strip() == competition_id
        other += bool(cells) and any(c.strip() for c in cells) and not ours
        # Blank the other divisions' lines so that line numbers stay those of fixtures.csv.
        kept.append(line if ours else "\r\n")
    if not any(line.strip() for line in kept[1:]):
        empty = pd.DataFrame({column: pd.Series(dtype=object) for column in MATCH_COLUMNS})
        return ParsedFile(source=FOOTBALL_DATA, competition_id=competition_id, season=season, path=path,
                          sha256=sha256(data), matches=empty,
                          odds=pd.DataFrame({c: pd.Series(dtype=object) for c in ODDS_COLUMNS}),
                          info={"rows": 0, "other_partitions_rows": other})
    body = "".join(kept)
    if not body.endswith(("\n", "\r")) and text.endswith(("\n", "\r")):
        body += "\r\n"
    parsed = parse(body.encode("utf-8"), path=path, competition_id=competition_id, season=season,
                   required=FIXTURE_COLUMNS)
    # Another season's coming matches are not a fault of this partition's rows.
    elsewhere = [r for r in parsed.rejections if r.check_name == "temporal" and "is outside season" in r.reason]
    parsed.rejections = [r for r in parsed.rejections if r not in elsewhere]
    parsed.sha256 = sha256(data)
    parsed.info["other_partitions_rows"] = other + len(elsewhere)
    return parsed


def _header(path: str, line: str, required: tuple[str, ...] = REQUIRED_COLUMNS) -> list[str]:
    cells = [cell.replace("\ufeff", "").strip() for cell in next(csv.reader([line]))]
    header = [cell or f"_blank_{index}" for index, cell in enumerate(cells)]
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise SourceFileError(path, f"header repeats column(s) {duplicated}")
    missing = [c for c in required if c not in header]
    if missing:
        hints = []
        for column in missing:
            close = difflib.get_close_matches(column, header, n=2, cutoff=0.5)
            hints.append(f"{column} (renamed to {' or '.join(close)}?)" if close else column)
        shown = ",".join(h for h in header if not h.startswith("_blank_"))[:300]
        raise SourceFileError(
            path, f"missing required column(s): {', '.join(hints)}; header is: {shown}"
        )
    return header


def _matches(
    frame: pd.DataFrame, header: list[str], season: Season, rejections: list[Rejection], info: dict
) -> pd.DataFrame:
    out = pd.DataFrame({"source_row": frame["source_row"], "raw_row": frame["raw_row"]})
    bad = pd.Series(False, index=frame.index)

    def reject(mask: pd.Series, reason: Callable[[int], str], check: str) -> None:
        nonlocal bad
        fresh = mask & ~bad
        for index in frame.index[fresh]:
            rejections.append(Rejection(int(frame.at[index, "source_row"]), frame.at[index, "raw_row"],
                                        reason(index), check))
        bad |= mask

    dates, date_formats = _dates(frame["Date"], season)
    info["date_formats"] = sorted(date_formats)
    reject(dates.isna(), lambda i: f"Date {frame.at[i, 'Date']!r} is not a date (dd/mm/yy, dd/mm/yyyy or yyyy-mm-dd)",
           "schema")
    outside = dates.notna() & ((dates < pd.Timestamp(season.first_day)) | (dates > pd.Timestamp(season.last_day)))
    reject(outside, lambda i: f"date {dates[i]:%Y-%m-%d} is outside season {season} "
                              f"({season.first_day}..{season.last_day})", "temporal")
    out["match_date"] = dates

    times = frame["Time"] if "Time" in frame else pd.Series("", index=frame.index)
    out["kickoff_at"], out["kickoff_time_known"] = _kickoffs(dates, times)

    out["division"] = frame["Div"] if "Div" in frame else None
    for column in ("HomeTeam", "AwayTeam"):
        reject(frame[column].eq(""), lambda i, column=column: f"{column} is empty", "schema")
    out["home_team"], out["away_team"] = frame["HomeTeam"], frame["AwayTeam"]

    present = [c for c in FACT_COLUMNS if c in frame]
    raw_facts = frame[present]
    flat = pd.to_numeric(pd.Series(raw_facts.to_numpy().ravel()), errors="coerce").to_numpy(dtype=float)
    numbers = flat.reshape(raw_facts.shape)
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(numbers) & (numbers == np.floor(numbers)) & (np.abs(numbers) < 1e9)
    invalid = pd.DataFrame((raw_facts != "").to_numpy(dtype=bool) & ~whole, columns=present, index=frame.index)
    for position, source_column in enumerate(present):
        if source_column in ("FTHG", "FTAG"):
            reject(invalid[source_column], lambda i, c=source_column: f"{c} {frame.at[i, c]!r} is not a whole number",
                   "schema")
        else:
            for index in frame.index[invalid[source_column] & ~bad]:
                rejections.append(Rejection(
                    int(frame.at[index, "source_row"]), frame.at[index, "raw_row"],
                    f"{source_column} {frame.at[index, source_column]!r} is not a whole number; value dropped, "
                    "match kept", "schema",
                ))
        values = np.where(whole[:, position], numbers[:, position], np.nan)
        out[FACT_COLUMNS[source_column]] = pd.array(values, dtype="Float64").astype("Int64")
    for source_column, column in FACT_COLUMNS.items():
        if source_column not in frame:
            out[column] = pd.array([pd.NA] * len(frame), dtype="Int64")
    one_missing = out["home_goals"].isna() ^ out["away_goals"].isna()
    reject(one_missing, lambda i: "only one of FTHG/FTAG is given", "schema")

    for source_column, column in TEXT_COLUMNS.items():
        values = frame[source_column] if source_column in frame else pd.Series("", index=frame.index)
        out[column] = values.replace("", None)
    return out[~bad][MATCH_COLUMNS].reset_index(drop=True)


def _dates(raw: pd.Series, season: Season) -> tuple[pd.Series, set[str]]:
    parsed: dict[str, pd.Timestamp | None] = {}
    formats: set[str] = set()
    for text in raw.unique():
        value, fmt = _date(text, season)
        parsed[text] = value
        if fmt:
            formats.add(fmt)
    return pd.to_datetime(raw.map(parsed)), formats


def _date(text: str, season: Season) -> tuple[pd.Timestamp | None, str | None]:
    iso = _ISO.match(text)
    try:
        if iso:
            return pd.Timestamp(dt.date(int(iso[1]), int(iso[2]), int(iso[3]))), "yyyy-mm-dd"
        dmy = _DMY.match(text)
        if not dmy:
            return None, None
        day, month, year = int(dmy[1]), int(dmy[2]), dmy[3]
        if len(year) == 4:
            return pd.Timestamp(dt.date(int(year), month, day)), "dd/mm/yyyy"
        # Two-digit year: the century that puts the date inside the season.
        two = int(year)
        candidates = [dt.date(century + two, month, day) for century in (1900, 2000)]
        inside = [d for d in candidates if season.first_day <= d <= season.last_day]
        chosen = inside[0] if inside else min(candidates, key=lambda d: abs((d - season.first_day).days))
        return pd.Timestamp(chosen), "dd/mm/yy"
    except ValueError:
        return None, None


def _kickoffs(dates: pd.Series, times: pd.Series) -> tuple[pd.Series, pd.Series]:
    """UTC kick-off: football-data's `Time` is UK local time; without it, midnight UTC of the date."""
    kickoff: list[pd.Timestamp | None] = []
    known: list[bool] = []
    for day, time in zip(dates, times, strict=True):
        if pd.isna(day):
            kickoff.append(None)
            known.append(False)
            continue
        match = _TIME.match(time or "")
        if match and int(match[1]) < 24 and int(match[2]) < 60:
            local = dt.datetime(day.year, day.month, day.day, int(match[1]), int(match[2]), tzinfo=UK)
            kickoff.append(pd.Timestamp(local).tz_convert("UTC"))
            known.append(True)
        else:
            kickoff.append(pd.Timestamp(day.date(), tz="UTC"))
            known.append(False)
    return pd.Series(pd.to_datetime(kickoff, utc=True), index=dates.index), pd.Series(known, index=dates.index)


def _odds(
    frame: pd.DataFrame, header: list[str], season: Season, rejections: list[Rejection]
) -> tuple[pd.DataFrame, list[str]]:
    prices: list[odds_columns.PriceColumn] = []
    lines: dict[tuple[str | None, str], str] = {}
    unmapped: list[str] = []
    for column in header:
        if column in KNOWN_NON_ODDS or column in odds_columns.BOOKMAKER_COUNT_COLUMNS:
            continue
        if column.startswith("_blank_"):
            if frame[column].ne("").any():
                unmapped.append(column)
            continue
        meaning = odds_columns.classify(column, season)
        if isinstance(meaning, odds_columns.PriceColumn):
            prices.append(meaning)
        elif isinstance(meaning, odds_columns.LineColumn):
            lines[(meaning.bookmaker, meaning.phase)] = column
        else:
            unmapped.append(column)
    if not prices:
        return empty_odds(), unmapped

    headers = [p.header for p in prices]
    raw = frame[headers]
    flat = pd.to_numeric(pd.Series(raw.to_numpy().ravel()), errors="coerce").to_numpy(dtype=float, copy=True)
    flat[~np.isfinite(flat)] = np.nan
    values = pd.DataFrame(flat.reshape(raw.shape), columns=headers, index=raw.index)
    invalid = raw.ne("") & values.isna()
    for index, column in zip(*np.nonzero(invalid.to_numpy()), strict=True):
        rejections.append(Rejection(
            int(frame["source_row"].iat[index]), frame["raw_row"].iat[index],
            f"odds {headers[column]} {raw.iat[index, column]!r} is not a number; price dropped, match kept", "schema",
        ))

    line_values = np.full(values.shape, np.nan)
    missing_line = np.zeros(values.shape, dtype=bool)
    for position, price in enumerate(prices):
        if price.line is not None:
            line_values[:, position] = price.line
            continue
        source = _line_column(lines, price)
        if source is not None:
            line_values[:, position] = pd.to_numeric(frame[source], errors="coerce").to_numpy()
        missing_line[:, position] = np.isnan(line_values[:, position])
    present = values.notna().to_numpy()
    orphan = present & missing_line
    for index, column in zip(*np.nonzero(orphan), strict=True):
        rejections.append(Rejection(
            int(frame["source_row"].iat[index]), frame["raw_row"].iat[index],
            f"odds {headers[column]} has a price but no Asian-handicap line; price dropped, match kept", "schema",
        ))
    rows, cols = np.nonzero(present & ~orphan)
    return pd.DataFrame({
        "source_row": frame["source_row"].to_numpy()[rows],
        "bookmaker": np.array([p.bookmaker for p in prices], dtype=object)[cols],
        "market": np.array([p.market for p in prices], dtype=object)[cols],
        "line": line_values[rows, cols],
        "outcome": np.array([p.outcome for p in prices], dtype=object)[cols],
        "phase": np.array([p.phase for p in prices], dtype=object)[cols],
        "price": values.to_numpy(dtype=float)[rows, cols],
        "aggregate": np.array([p.aggregate for p in prices], dtype=object)[cols],
    }), unmapped


def empty_odds() -> pd.DataFrame:
    return pd.DataFrame({
        "source_row": pd.Series(dtype="int64"), "bookmaker": pd.Series(dtype=object),
        "market": pd.Series(dtype=object), "line": pd.Series(dtype=float), "outcome": pd.Series(dtype=object),
        "phase": pd.Series(dtype=object), "price": pd.Series(dtype=float), "aggregate": pd.Series(dtype=object),
    })


def _line_column(lines: dict[tuple[str | None, str], str], price: odds_columns.PriceColumn) -> str | None:
    own = "betbrain" if price.bookmaker.startswith("betbrain") else price.bookmaker
    return lines.get((own, price.phase)) or lines.get((None, price.phase))

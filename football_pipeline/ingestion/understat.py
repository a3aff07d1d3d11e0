"""Understat match-level xG.

Accepts the three layouts real Understat data comes in: the `getLeagueData/<LEAGUE>/<YEAR>` response
(`{"teams": …, "players": …, "dates": [...]}`), the older pages' decoded `datesData` list, and a
dict with a `datesData` key (soccerdata's cache). Understat's `datetime` is UTC.
"""

from __future__ import annotations

import json

import pandas as pd

from football_pipeline.common.seasons import Season
from football_pipeline.ingestion.files import UNDERSTAT, SourceFileError, decode_text, sha256
from football_pipeline.ingestion.records import ParsedFile, Rejection

MATCH_COLUMNS = [
    "source_row", "raw_row", "understat_id", "kickoff_at", "match_date", "is_result",
    "home_team", "away_team", "home_goals", "away_goals", "home_xg", "away_xg",
    "forecast_home", "forecast_draw", "forecast_away",
]  # fmt: skip
REQUIRED_KEYS = ("id", "isResult", "h", "a", "goals", "xG", "datetime")


def parse(data: bytes, *, path: str, competition_id: str, season: Season) -> ParsedFile:
    text, info = decode_text(path, data)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise SourceFileError(path, f"is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}); "
                                    "truncated or not an Understat response?") from None
    records = _records(path, document)
    rejections: list[Rejection] = []
    rows = []
    for number, record in enumerate(records, start=1):
        raw = json.dumps(record, ensure_ascii=False, sort_keys=True)
        try:
            rows.append(_row(number, raw, record))
        except (KeyError, TypeError, ValueError) as error:
            rejections.append(Rejection(number, raw, f"record {number}: {_describe(error)}", "schema"))
    info.update(records=len(records))
    matches = pd.DataFrame(rows, columns=MATCH_COLUMNS)
    matches["kickoff_at"] = pd.to_datetime(matches["kickoff_at"], utc=True)
    matches["match_date"] = matches["kickoff_at"].dt.tz_localize(None).dt.normalize()
    for column in ("home_goals", "away_goals"):
        matches[column] = matches[column].astype("Int64")
    for column in ("home_xg", "away_xg", "forecast_home", "forecast_draw", "forecast_away"):
        matches[column] = matches[column].astype(float)
    matches["is_result"] = matches["is_result"].astype(bool)
    info["rows_with_result"] = int(matches["is_result"].sum())
    return ParsedFile(
        source=UNDERSTAT,
        competition_id=competition_id,
        season=season,
        path=path,
        sha256=sha256(data),
        matches=matches,
        rejections=rejections,
        info=info,
    )


def _records(path: str, document: object) -> list[dict]:
    if isinstance(document, dict):
        for key in ("dates", "datesData"):
            if key in document:
                document = document[key]
                break
        else:
            raise SourceFileError(
                path, f"unexpected JSON layout: an object with keys {sorted(document)[:10]}, "
                      "expected 'dates' (getLeagueData) or a datesData list",
            )
    if not isinstance(document, list):
        raise SourceFileError(path, f"unexpected JSON layout: {type(document).__name__}, expected a list of matches")
    if document and not all(isinstance(r, dict) for r in document):
        raise SourceFileError(path, "unexpected JSON layout: match list holds non-objects")
    if document:
        missing = [k for k in REQUIRED_KEYS if all(k not in r for r in document)]
        if missing:
            raise SourceFileError(path, f"match records lack key(s) {missing}: has the Understat layout changed?")
    return document


def _row(number: int, raw: str, record: dict) -> list:
    is_result = record["isResult"]
    if not isinstance(is_result, bool):
        raise ValueError(f"isResult is {is_result!r}, not true/false")
    kickoff = pd.Timestamp(record["datetime"])
    if kickoff.tzinfo is None:
        kickoff = kickoff.tz_localize("UTC")
    goals, xg, forecast = (_object(record, key) for key in ("goals", "xG", "forecast"))
    home_goals, away_goals = _number(goals.get("h"), int), _number(goals.get("a"), int)
    home_xg, away_xg = _number(xg.get("h"), float), _number(xg.get("a"), float)
    if is_result and (home_goals is None or away_goals is None):
        raise ValueError("isResult is true but goals are missing")
    return [
        number, raw, str(record["id"]), kickoff, None, is_result,
        _title(record["h"], "h"), _title(record["a"], "a"), home_goals, away_goals, home_xg, away_xg,
        _number(forecast.get("w"), float), _number(forecast.get("d"), float), _number(forecast.get("l"), float),
    ]  # fmt: skip


def _object(record: dict, key: str) -> dict:
    value = record.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{key} is {value!r}, not an object")
    return value


def _title(side: object, key: str) -> str:
    if not isinstance(side, dict) or not str(side.get("title") or "").strip():
        raise ValueError(f"team '{key}' has no title")
    return str(side["title"]).strip()


def _number(value: object, kind: type) -> float | int | None:
    if value is None or value == "":
        return None
    number = float(value)
    if kind is int:
        if number != int(number):
            raise ValueError(f"{value!r} is not a whole number")
        return int(number)
    return number


def _describe(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"missing key {error.args[0]!r}"
    return str(error)

"""Understat's old HTML pages and per-match shot data, without Dagster.

Until 2024-25 understat.com embedded its data in the page as
`var datesData = JSON.parse('\\x5B\\x7B\\x22id\\x22…')`; it now serves the same data from AJAX endpoints
(`getLeagueData`, `getMatchData`). Archived pages remain a fallback source, so this module turns them
into the layouts the rest of the pipeline already reads: a league page becomes the
plain `datesData` list that `understat.parse()` accepts, and one match's shots come out of the old match
page, the `getMatchData` response or soccerdata's cache alike.

What the real pages do (checked on the five pages in `shared/data/understat-pages/`): only
`[A-Za-z0-9,._]` are written literally, every other character (space included) is `\\xNN` with uppercase
hex; no other JavaScript escape occurs; the JSON inside is pure ASCII because non-ASCII characters are
JSON `\\u00fc` escapes, which the page writes as `\\x5Cu00fc`. Decoding therefore has to be one pass:
decoding `\\xNN` first and JSON-or-unicode escapes in a second pass turns `\\x5C\\x22` (an escaped quote
inside a JSON string) into a bare quote and breaks the document.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import pandas as pd

from football_pipeline.ingestion.files import SourceFileError, decode_text
from football_pipeline.ingestion.records import Rejection
from football_pipeline.ingestion.understat import REQUIRED_KEYS

# Variables seen on the old pages, used to say what was expected when a page has none.
PAGE_VARIABLES = ("datesData", "teamsData", "playersData", "shotsData", "rostersData", "statData",
                  "statisticsData", "groupsData", "matchesData")
LEAGUE_PAGE_VARIABLES = ("datesData", "teamsData", "playersData")

SHOT_COLUMNS = [
    "understat_shot_id", "understat_match_id", "side", "minute", "player", "understat_player_id",
    "x", "y", "xg", "result", "situation", "shot_type", "last_action", "season",
]  # fmt: skip
# The shot keys parse_shots reads; a shot without id, xG, X or Y is rejected, the others may be absent.
SHOTS_EXPECTED_KEYS = ["id", "minute", "result", "X", "Y", "xG", "player", "h_a", "player_id", "situation",
                       "season", "shotType", "match_id", "lastAction"]
# The rest of the real shot layout: present in every source here but not read, so not reported as new.
SHOTS_OTHER_KEYS = ["h_team", "a_team", "h_goals", "a_goals", "date", "player_assisted"]
SHOTS_REQUIRED_KEYS = ("id", "xG", "X", "Y")
LEAGUE_EXPECTED_KEYS = ["teams", "players", "dates"]
SIDES = {"h": "home", "a": "away"}

# `name = JSON.parse('…')`. `var` is optional because the match page assigns `match_info` without it.
# The literal is matched separately from its start so that a broken one is reported, not skipped; it is
# written unrolled ([^'\\]* (\\. [^'\\]*)*) so a 460 kB payload does not backtrack.
_ASSIGNMENT = re.compile(rb"([A-Za-z_$][\w$]*)\s*=\s*JSON\.parse\(\s*'")
_LITERAL = re.compile(rb"([^'\\]*(?:\\.[^'\\]*)*)'\s*\)", re.DOTALL)
_JS_ESCAPE = re.compile(rb"\\(?:x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|u\{([0-9A-Fa-f]{1,6})\}|(\r\n|[\s\S]))")
# JavaScript's single-character escapes; a backslash before a line break continues the line, and before
# any other character (\' \\ \" \/ included) it stands for that character.
_SINGLE_ESCAPES = {b"n": b"\n", b"t": b"\t", b"r": b"\r", b"b": b"\b", b"f": b"\f", b"v": b"\v", b"0": b"\0",
                   b"\n": b"", b"\r\n": b"", b"\r": b""}
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_CHALLENGE_PLATFORM = re.compile(rb"challenge-platform/(?!scripts/jsd/)")
_DENIED_TITLE = re.compile(
    r"access denied|forbidden|attention required|you have been blocked|too many requests|rate limit"
    r"|\b(?:403|429)\b", re.IGNORECASE)
_DENIED_BODY = (b"sorry, you have been blocked", b"access denied", b"you don't have permission to access",
                b"request blocked", b"too many requests")
_SHORT_PAGE = 20_000


def embedded_variables(html: bytes | str, *, path: str = "<page>",
                       expected: Sequence[str] = PAGE_VARIABLES) -> dict[str, object]:
    """Every `name = JSON.parse('…')` payload on an old Understat page, decoded.

    `\\xNN` escapes are read as UTF-8 bytes (what a producer escaping byte by byte means, and what
    Python scrapers do); if the bytes are not UTF-8 they are read as JavaScript would, one code point
    each. A page with no such variable raises SourceFileError naming `expected`, so a block page or a
    post-2025 page (data loaded by AJAX) is refused rather than read as "no data".
    """
    body = html.encode("utf-8") if isinstance(html, str) else html
    variables: dict[str, object] = {}
    position = 0
    while start := _ASSIGNMENT.search(body, position):
        name = start.group(1).decode("ascii")
        literal = _LITERAL.match(body, start.end())
        if not literal:
            raise SourceFileError(path, f"variable {name}: JSON.parse('…') string is not closed; "
                                        "truncated page?")
        position = literal.end()
        if name in variables:
            continue
        text = _unescape_js(literal.group(1), path=path, name=name)
        try:
            variables[name] = json.loads(text)
        except json.JSONDecodeError as error:
            raise SourceFileError(path, f"variable {name}: decoded text is not JSON ({error.msg} at "
                                        f"character {error.pos}); truncated page?") from None
    if not variables:
        raise SourceFileError(path, _no_variables(body, expected))
    return variables


def league_page_to_dates(html: bytes, *, path: str) -> bytes:
    """The league page's `datesData` as JSON bytes: the plain match list `understat.parse()` reads.

    Re-serialising (rather than parsing here) keeps one parser and one set of checks for the AJAX
    response and the archived page. A team page also has `datesData`, but only that team's matches;
    it is refused (no `teamsData`) so that 38 matches cannot pass for a league season.
    """
    variables = embedded_variables(html, path=path, expected=LEAGUE_PAGE_VARIABLES)
    if "datesData" not in variables:
        raise SourceFileError(path, f"no datesData on the page: it has {sorted(variables)}; "
                                    "not a league page?")
    if "teamsData" not in variables:
        raise SourceFileError(path, f"datesData without teamsData (page has {sorted(variables)}): "
                                    "a team page holds one team's matches, not the league's")
    dates = variables["datesData"]
    if not isinstance(dates, list):
        raise SourceFileError(path, f"datesData is a {type(dates).__name__}, expected a list of matches")
    return json.dumps(dates, ensure_ascii=False).encode("utf-8")


def shot_records(data: bytes, *, path: str) -> list[tuple[str, object]]:
    """One match's raw shots as (side key 'h'/'a', shot), home then away, from any of the three layouts.

    Public so that callers can run `json_drift` on exactly the records `parse_shots` reads.
    """
    container, _ = _shots_container(data, path)
    return [(side, shot) for side in SIDES for shot in container[side]]


def parse_shots(data: bytes, *, path: str) -> tuple[pd.DataFrame, list[Rejection]]:
    """Shots of one match as typed rows, plus the shots that could not be used and why.

    Accepts the `getMatchData` response (`{"shots": {"h": …, "a": …}, "rosters", "tmpl"}`), the old
    match page (`shotsData`) and soccerdata's cache (`{"shotsData", "match_info", "rostersData"}`).
    Rows are numbered 1.. across home then away shots, the order Understat lists them in. A bad shot is
    quarantined, not fatal; a file that is not one match's shots raises SourceFileError. `side` is the
    shooter's team: Understat lists an own goal with the side that conceded it.
    """
    container, match_id = _shots_container(data, path)
    rows: list[dict[str, object]] = []
    rejections: list[Rejection] = []
    number = 0
    for side, side_name in SIDES.items():
        for shot in container[side]:
            number += 1
            raw = json.dumps(shot, ensure_ascii=False, sort_keys=True)
            row, problems, check = _shot_row(shot, side, match_id)
            if problems:
                reason = f"shot {number} ({side_name}): " + "; ".join(problems)
                rejections.append(Rejection(number, raw, reason, check))
            else:
                rows.append(row)
    match_ids = sorted({str(row["understat_match_id"]) for row in rows} | ({match_id} if match_id else set()))
    if len(match_ids) > 1:
        raise SourceFileError(path, f"shots from {len(match_ids)} matches ({match_ids[:5]}, the document's "
                                    f"own id: {match_id}), expected one match")
    shots = pd.DataFrame(rows, columns=SHOT_COLUMNS)
    shots["minute"] = pd.array(shots["minute"].tolist(), dtype="Int64")
    for column in ("x", "y", "xg"):
        shots[column] = shots[column].astype(float)
    return shots, rejections


def json_drift(records: list[dict], expected: list[str], *, known: Iterable[str] = (),
               noun: str = "records") -> list[str]:
    """Keys of `expected` missing from some records, and keys nobody expected, counted over all records.

    A renamed key shows up as one missing and one new key, which is how a layout change announces itself
    before it becomes a wave of rejected rows. `known` keys are neither required nor new.
    """
    total = len(records)
    objects = [r for r in records if isinstance(r, dict)]
    drift = []
    if len(objects) < total:
        drift.append(f"{total - len(objects)} of {total} {noun} are not objects")
    for key in expected:
        missing = sum(key not in r for r in objects)
        if missing:
            drift.append(f"key {key!r} missing from {missing} of {total} {noun}")
    ignored = set(expected) | set(known)
    new = Counter(key for r in objects for key in r if key not in ignored)
    drift.extend(f"new key {key!r} in {count} of {total} {noun}" for key, count in sorted(new.items()))
    return drift


def league_drift(document: object) -> list[str]:
    """Layout changes in a `getLeagueData` response that `understat.parse()` would trip over.

    Reports missing or new top-level keys, a `dates` that is not a list, and match records lacking
    keys the match parser requires (or carrying new ones).
    """
    if not isinstance(document, dict):
        kind = type(document).__name__
        return [f"response is a {kind}, expected an object with keys {LEAGUE_EXPECTED_KEYS}"]
    drift = [f"top-level key {key!r} missing" for key in LEAGUE_EXPECTED_KEYS if key not in document]
    drift.extend(f"new top-level key {key!r}" for key in document if key not in LEAGUE_EXPECTED_KEYS)
    dates = document.get("dates")
    if "dates" in document and not isinstance(dates, list):
        drift.append(f"'dates' is a {type(dates).__name__}, expected a list of matches")
    elif isinstance(dates, list):
        drift.extend(json_drift(dates, list(REQUIRED_KEYS), known=("forecast",), noun="matches"))
    return drift


def is_blocked_page(body: bytes | str) -> str | None:
    """Why `body` is a bot-challenge, access-denied or empty response rather than content; None if it is not.

    Source-agnostic, for Understat, FBref and football-data alike. Cloudflare injects a
    `challenge-platform/scripts/jsd/` beacon into normal pages, so only other challenge-platform paths
    count; "access denied" in the text counts only on short pages, where it cannot be an article's words.
    """
    data = body.encode("utf-8") if isinstance(body, str) else body
    if not data.strip():
        return "empty body"
    lower = data.lower()
    title_match = _TITLE.search(data[:65536])
    title = " ".join(title_match.group(1).decode("utf-8", "replace").split()) if title_match else ""
    if title.lower().startswith("just a moment"):
        return f"Cloudflare challenge page (title {title!r})"
    if b"cf-chl" in lower or b"_cf_chl" in lower or _CHALLENGE_PLATFORM.search(lower):
        return "Cloudflare challenge page (challenge-platform / cf-chl script)"
    if title and _DENIED_TITLE.search(title):
        return f"access denied or rate-limited page (title {title!r})"
    if len(data) < _SHORT_PAGE:
        for phrase in _DENIED_BODY:
            if phrase in lower:
                return f"access denied or rate-limited page ({phrase.decode()!r} in a {len(data)}-byte body)"
    return None


def _unescape_js(literal: bytes, *, path: str, name: str) -> str:
    """A single-quoted JavaScript string literal's content, decoded in one pass."""
    try:
        try:
            text = _decode_escapes(literal, hex_as_bytes=True)
        except UnicodeDecodeError:
            text = _decode_escapes(literal, hex_as_bytes=False)
    except UnicodeDecodeError as error:
        raise SourceFileError(path, f"variable {name}: bytes are not UTF-8 ({error.reason} at "
                                    f"byte {error.start})") from None
    except ValueError as error:
        raise SourceFileError(path, f"variable {name}: {error}") from None
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return text


def _decode_escapes(literal: bytes, *, hex_as_bytes: bool) -> str:
    return _JS_ESCAPE.sub(lambda m: _escape_bytes(m, hex_as_bytes=hex_as_bytes), literal).decode(
        "utf-8", "surrogatepass")


def _escape_bytes(match: re.Match[bytes], *, hex_as_bytes: bool) -> bytes:
    hex_code, unit, point, other = match.groups()
    if hex_code is not None:
        code = int(hex_code, 16)
        return bytes([code]) if hex_as_bytes or code < 0x80 else chr(code).encode("utf-8")
    if unit is not None or point is not None:
        code = int(unit or point, 16)
        if code > 0x10FFFF:
            raise ValueError(f"escape \\u{{{point}}} is beyond Unicode")
        return chr(code).encode("utf-8", "surrogatepass")
    return _SINGLE_ESCAPES.get(other, other)


def _no_variables(body: bytes, expected: Sequence[str]) -> str:
    wanted = f"expected {', '.join(expected)}"
    blocked = is_blocked_page(body)
    if blocked:
        return f"{blocked}, not an Understat page: no JSON.parse('…') variables ({wanted})"
    title = _TITLE.search(body[:65536])
    if title or b"<html" in body[:4096].lower():
        shown = title.group(1).decode("utf-8", "replace").strip()[:120] if title else "no title"
        return (f"HTML page (title: {shown!r}) without any `var <name> = JSON.parse('…')` data ({wanted}); "
                "a post-2025 page, whose data come from getLeagueData/getMatchData?")
    return f"not an HTML page with embedded `var <name> = JSON.parse('…')` data ({wanted})"


def _looks_like_html(data: bytes) -> bool:
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return start == b"<"


def _shots_container(data: bytes, path: str) -> tuple[dict[str, list], str | None]:
    """The `{"h": [...], "a": [...]}` of one match, and the match id the document states, if any."""
    match_id: object = None
    if _looks_like_html(data):
        variables = embedded_variables(data, path=path, expected=("shotsData", "rostersData"))
        if "shotsData" not in variables:
            raise SourceFileError(path, f"no shotsData on the page: it has {sorted(variables)}; "
                                        "not a match page?")
        container = variables["shotsData"]
        info = variables.get("match_info")
        match_id = info.get("id") if isinstance(info, dict) else None
    else:
        text, _ = decode_text(path, data)
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise SourceFileError(path, f"is not valid JSON ({error.msg} at line {error.lineno}, column "
                                        f"{error.colno}); truncated or not an Understat response?") from None
        container, match_id = _json_shots(path, document)
    if isinstance(container, list):
        raise SourceFileError(path, f"shotsData is a list of {len(container)} shots (a player page's?), "
                                    "expected one match's {'h': [...], 'a': [...]}")
    if not isinstance(container, dict) or any(not isinstance(container.get(side), list) for side in SIDES):
        shown = sorted(container)[:10] if isinstance(container, dict) else type(container).__name__
        raise SourceFileError(path, f"shots are {shown}, expected {{'h': [...], 'a': [...]}}")
    return container, None if match_id in (None, "") else str(match_id)


def _json_shots(path: str, document: object) -> tuple[object, object]:
    if not isinstance(document, dict):
        raise SourceFileError(path, f"unexpected JSON layout: {type(document).__name__}, expected an object "
                                    "with 'shots' (getMatchData) or 'shotsData' (page, soccerdata)")
    if "shots" in document:
        info = document.get("tmpl")
    elif "shotsData" in document:
        info = document.get("match_info")
    elif set(document) == set(SIDES):
        return document, None
    else:
        raise SourceFileError(path, f"unexpected JSON layout: an object with keys {sorted(document)[:10]}, "
                                    "expected 'shots' (getMatchData) or 'shotsData' (old page / soccerdata)")
    container = document["shots"] if "shots" in document else document["shotsData"]
    return container, info.get("id") if isinstance(info, dict) else None


def _shot_row(shot: object, side: str, match_id: str | None) -> tuple[dict[str, object], list[str], str]:
    """The typed row, the problems that keep the shot out (if any), and which check they belong to."""
    if not isinstance(shot, dict):
        return {}, [f"is a {type(shot).__name__}, not an object"], "schema"
    schema = [f"key {key!r} missing" for key in SHOTS_REQUIRED_KEYS if _blank(shot.get(key))]
    shot_id = shot.get("id")
    if not _blank(shot_id) and (isinstance(shot_id, bool) or not isinstance(shot_id, str | int)):
        schema.append(f"id {shot_id!r} is not a string or integer")
    numbers: dict[str, float] = {}
    for key in ("X", "Y", "xG"):
        if not _blank(shot.get(key)):
            try:
                numbers[key] = _float(shot[key])
            except (TypeError, ValueError):
                schema.append(f"{key} {shot[key]!r} is not a number")
    minute = None
    if not _blank(shot.get("minute")):
        try:
            minute = _whole(shot["minute"])
        except (TypeError, ValueError):
            schema.append(f"minute {shot['minute']!r} is not a whole number")
    h_a = shot.get("h_a")
    if not _blank(h_a) and h_a != side:
        schema.append(f"h_a {h_a!r} disagrees with the {SIDES[side]} list it is in")
    row_match = shot.get("match_id")
    if _blank(row_match):
        row_match = match_id
    if _blank(row_match):
        schema.append("key 'match_id' missing and the document states no match id")
    if schema:
        return {}, schema, "schema"
    ranges = [f"{key} {shot[key]!r} outside 0..1" for key, value in numbers.items()
              if not 0.0 <= value <= 1.0]
    if ranges:
        return {}, ranges, "value_ranges"
    last_action = shot.get("lastAction")
    row = {
        "understat_shot_id": str(shot_id),
        "understat_match_id": str(row_match),
        "side": SIDES[side],
        "minute": minute,
        "player": _text(shot.get("player")),
        "understat_player_id": _text(shot.get("player_id")),
        "x": numbers["X"],
        "y": numbers["Y"],
        "xg": numbers["xG"],
        "result": _text(shot.get("result")),
        "situation": _text(shot.get("situation")),
        "shot_type": _text(shot.get("shotType")),
        "last_action": None if last_action == "None" else _text(last_action),
        "season": _text(shot.get("season")),
    }
    return row, [], ""


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _float(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(f"{value!r} is not a number")
    number = float(value)
    if math.isnan(number):
        raise ValueError("NaN")
    return number


def _whole(value: object) -> int:
    number = _float(value)
    if not math.isfinite(number) or number != int(number):
        raise ValueError(f"{value!r} is not a whole number")
    return int(number)


def _text(value: object) -> str | None:
    return None if value is None else str(value)

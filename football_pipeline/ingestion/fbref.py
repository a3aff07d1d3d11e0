"""FBref pages: a season's "Scores & Fixtures" table and single match reports.

FBref serves HTML only, so `files.decode_text` (which refuses HTML) is not used: pages are decoded here
and parsed with lxml. Every cell is found by its `data-stat` attribute, never by position, so an added
or reordered column cannot shift values into the wrong field. FBref hides many tables inside HTML
comments (`<!-- <table …> -->`, unhidden by JavaScript); `page_tables` parses those comments too.

A damaged page (a truncated download, a proxy dropping bytes) still parses as HTML: lxml quietly closes
whatever is left open, so the front of one row and the back of another can fuse into a complete-looking
row. That is why each schedule row is checked against itself (its cells are exactly the header's, the
date agrees with its `csk` sort key and weekday, the match link's slug names the row's teams and date)
and against the other rows (one spelling per squad id, one row per match id) before it is kept.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field

import lxml.html
import pandas as pd
from lxml import etree

from football_pipeline.common import competitions
from football_pipeline.common.seasons import Season
from football_pipeline.ingestion.files import SourceFileError, sha256
from football_pipeline.ingestion.records import ParsedFile, Rejection

FBREF = "fbref"

# `dayofweek` is checked against the date (see `_schedule_row`), so the parser relies on it too.
SCHEDULE_EXPECTED_COLUMNS = [
    "gameweek", "dayofweek", "date", "start_time", "home_team", "home_xg", "score", "away_xg", "away_team",
    "attendance", "venue", "referee", "match_report", "notes",
]  # fmt: skip
SCHEDULE_REQUIRED_COLUMNS = ["date", "home_team", "score", "away_team"]
MATCH_COLUMNS = [
    "source_row", "raw_row", "fbref_match_id", "gameweek", "match_date", "kickoff_at", "kickoff_time_known",
    "home_team", "away_team", "home_fbref_team_id", "away_fbref_team_id", "home_goals", "away_goals",
    "home_penalties", "away_penalties", "home_xg", "away_xg", "attendance", "venue", "referee", "notes",
    "status",
]  # fmt: skip
LINEUP_COLUMNS = ["side", "team", "formation", "shirt_number", "player", "fbref_player_id", "starter"]

_SEPARATOR_CLASSES = {"spacer", "thead", "over_header"}
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
# "2–1" with an EN DASH; a shootout adds the penalties on either side: "(4) 1–1 (3)".
_SCORE = re.compile(r"^(?:\((\d{1,3})\)\s*)?(\d{1,3})\s*\u2013\s*(\d{1,3})(?:\s*\((\d{1,3})\))?$")
# Bytes lost across a '>' turn text into attribute names (`<a href="…"ash;2</a>`); real names look like this.
_ATTRIBUTE = re.compile(r"^[A-Za-z_:][-A-Za-z0-9_:.]*$")
_START_TIME = re.compile(r"^(?:\d{1,2}:\d{2})?(?:\s*\(\d{1,2}:\d{2}\))?$")
# Bounded lengths keep a damaged cell from producing a number that overflows its column's type.
_WHOLE = re.compile(r"^\d{1,9}$")
_DECIMAL = re.compile(r"^\d{1,3}(?:\.\d{1,3})?$")
_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3}){0,2}$")
_SITE = r"(?:https?://(?:www\.)?fbref\.com)?"
_MATCH_LINK = re.compile(rf"^{_SITE}/en/matches/([0-9a-f]{{8}})/([^/?#]+)$")
_MATCH_ID = re.compile(rf"^{_SITE}/en/matches/([0-9a-f]{{8}})(?:/|$)")
_SQUAD_LINK = re.compile(rf"^{_SITE}/en/squads/([0-9a-f]{{8}})/(?:\d{{4}}-\d{{4}}/)?([^/?#]+)-Stats$")
_PLAYER_LINK = re.compile(rf"^{_SITE}/en/players/([0-9a-f]{{8}})/")
_FORMATION = re.compile(r"^(.*?)\s*\(([^()]+)\)$")
_OF = re.compile(r"(\d+)\s+of\s+(\d+)")
_PERCENT = re.compile(r"(\d+)%")
_TITLE_DATE = re.compile(r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday) (\w+ \d{1,2}, \d{4})")
_SCOREBOX = "//div[contains(concat(' ', normalize-space(@class), ' '), ' scorebox ')]"
_NOTE_STATUSES = (("abandon", "abandoned"), ("cancel", "cancelled"), ("postpone", "postponed"))


# --- any page ------------------------------------------------------------------------------------------


def page_tables(html: bytes | str) -> dict[str, list[str]]:
    """Every table with an id, including those hidden in comments, -> the `data-stat`s of its body cells.

    Visible tables come first, then commented-out ones, each in page order; an id seen twice keeps its
    first table. This is what `structure_drift` compares against what a parser expects.
    """
    text = html.decode("utf-8", errors="replace") if isinstance(html, bytes) else html
    if not text.strip():
        return {}
    try:
        document = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return {}
    return {table_id: _table_columns(table) for table_id, table in _find_tables(document).items()}


def structure_drift(
    found_tables: dict[str, list[str]], expected_table: str, expected_columns: list[str]
) -> list[str]:
    """How a page differs from what a parser relies on, one readable line each; empty when it matches.

    New columns are reported too: FBref adding a column is harmless to the parser but is the first sign
    of a redesign, and the same list feeds a monitoring check.
    """
    if expected_table not in found_tables:
        found = ", ".join(found_tables) or "no tables"
        return [f"table '{expected_table}' missing (found: {found})"]
    columns = found_tables[expected_table]
    drift = [f"column '{c}' missing from {expected_table}" for c in expected_columns if c not in columns]
    drift += [f"new column '{c}' in {expected_table}" for c in columns if c not in expected_columns]
    return drift


def _load(path: str, data: bytes) -> tuple[str, lxml.html.HtmlElement]:
    """Bytes to a parsed page; refuses empty input and Cloudflare's interstitial instead of a page."""
    if not data.strip():
        raise SourceFileError(path, "file is empty")
    text = data.decode("utf-8", errors="replace")
    try:
        document = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as error:
        raise SourceFileError(path, f"cannot be parsed as HTML ({error})") from None
    title = " ".join((document.findtext(".//title") or "").split())
    # Ordinary Cloudflare-fronted pages may load a `/cdn-cgi/challenge-platform/` beacon script, so the
    # markers alone only count on a page without any table; the interstitial's title is unambiguous.
    markers = "cf-challenge" in text or "challenge-platform" in text
    if title.lower().startswith("just a moment") or (markers and "<table" not in text):
        raise SourceFileError(
            path, f"blocked: Cloudflare challenge page (title {title!r}), not FBref content; "
                  "fetch it again later, more slowly",
        )
    return text, document


def _find_tables(document: lxml.html.HtmlElement) -> dict[str, lxml.html.HtmlElement]:
    tables: dict[str, lxml.html.HtmlElement] = {}
    for table in document.iter("table"):
        if table.get("id"):
            tables.setdefault(table.get("id"), table)
    for comment in document.iter(etree.Comment):
        if not comment.text or "<table" not in comment.text:
            continue
        try:
            fragment = lxml.html.fragment_fromstring(comment.text, create_parent="div")
        except (etree.ParserError, ValueError):
            continue
        for table in fragment.iter("table"):
            if table.get("id"):
                tables.setdefault(table.get("id"), table)
    return tables


def _table_columns(table: lxml.html.HtmlElement) -> list[str]:
    """Distinct `data-stat`s of the body cells in order; the header's when the body has none."""
    for rows in (_body_rows(table), table.xpath("./thead/tr")):
        stats = (c.get("data-stat") for row in rows for c in _cells(row))
        columns = list(dict.fromkeys(stat for stat in stats if stat))
        if columns:
            return columns
    return []


def _body_rows(table: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    return table.xpath("./tbody/tr | ./tr")


def _cells(row: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    return [c for c in row if c.tag in ("th", "td")]


def _text(element: lxml.html.HtmlElement | None) -> str:
    return " ".join(element.text_content().split()) if element is not None else ""


# --- Scores & Fixtures ---------------------------------------------------------------------------------


def schedule_table_id(competition_id: str, season: Season) -> str:
    """`sched_2023-2024_12_1`: FBref's id for a league season's fixtures table (`_1`: the league phase)."""
    comp = competitions.get(competition_id).fbref_comp_id
    if comp is None:
        raise ValueError(f"competition {competition_id!r} has no FBref id")
    return f"sched_{season.key}_{comp}_1"


def parse_schedule(data: bytes, *, path: str, competition_id: str, season: Season) -> ParsedFile:
    """Parse a season's "Scores & Fixtures" page. Raises `SourceFileError` when the page is unusable."""
    text, document = _load(path, data)
    tables = _find_tables(document)
    found = {table_id: _table_columns(table) for table_id, table in tables.items()}
    table_id = schedule_table_id(competition_id, season)
    if table_id not in tables:
        raise SourceFileError(
            path, f"no table '{table_id}' on the page (found: {', '.join(found) or 'none'}); "
                  f"renamed by FBref, or not the {season} {competition_id} Scores & Fixtures page?",
        )
    columns = found[table_id]
    missing = [c for c in SCHEDULE_REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise SourceFileError(path, f"table '{table_id}' lacks required column(s) {missing} "
                                    f"(has {columns}): has the FBref layout changed?")
    table = tables[table_id]
    header = tuple(c.get("data-stat") for c in _cells(next(iter(table.xpath("./thead/tr[last()]")), [])))
    rows, raws = _data_rows(table)
    if (not header or not all(header)) and rows:
        header = Counter(tuple(c.get("data-stat") for c in cells) for cells in rows).most_common(1)[0][0]
    missing = [c for c in SCHEDULE_REQUIRED_COLUMNS if c not in header]
    if missing and rows:
        raise SourceFileError(path, f"table '{table_id}' header lacks required column(s) {missing} "
                                    f"(header {list(header)}): has the FBref layout changed?")

    rejections: list[Rejection] = []
    file_problems: list[str] = []
    # lxml closes a table cut off mid-row as if it were whole, so the last row of an unclosed table
    # may lack the end of any cell (a team name, a score) and cannot be trusted.
    table_closed = _closed(text, table_id)
    if not table_closed:
        file_problems.append(f"table '{table_id}' is not closed: the page is truncated after row {len(rows)}")
    elif not text.rstrip().endswith("</html>"):
        file_problems.append("page does not end with </html>: truncated download?")

    parsed: list[dict] = []
    for number, (cells, raw) in enumerate(zip(rows, raws, strict=False), start=1):
        if not table_closed and number == len(rows):
            rejections.append(
                Rejection(number, raw, "last row may be cut off: the page is truncated", "file_complete")
            )
            continue
        try:
            parsed.append(_schedule_row(number, raw, cells, header, season))
        except _RowError as error:
            rejections.append(Rejection(number, raw, f"row {number}: {error}", error.check_name))
    parsed = _consistent(parsed, rejections)
    rejections.sort(key=lambda r: r.source_row or 0)

    matches = _schedule_frame(parsed)
    info: dict[str, object] = {
        "tables": list(found), "columns": columns, "rows": len(rows),
        "drift": structure_drift(found, table_id, SCHEDULE_EXPECTED_COLUMNS),
        "rows_with_result": int(matches["home_goals"].notna().sum()),
    }  # fmt: skip
    return ParsedFile(
        source=FBREF,
        competition_id=competition_id,
        season=season,
        path=path,
        sha256=sha256(data),
        matches=matches,
        rejections=rejections,
        info=info,
        file_problems=file_problems,
    )


class _RowError(ValueError):
    def __init__(self, reason: str, check_name: str = "schema"):
        super().__init__(reason)
        self.check_name = check_name


def _data_rows(table: lxml.html.HtmlElement) -> tuple[list[list[lxml.html.HtmlElement]], list[str]]:
    """Body rows that hold a match: not a spacer or repeated header, not all cells empty."""
    rows, raws = [], []
    for row in _body_rows(table):
        if _SEPARATOR_CLASSES & set((row.get("class") or "").split()):
            continue
        cells = _cells(row)
        texts = [_text(c) for c in cells]
        if not any(texts):
            continue
        rows.append(cells)
        raws.append("|".join(texts))
    return rows, raws


def _closed(text: str, table_id: str) -> bool:
    start = re.search(rf"""id\s*=\s*["']?{re.escape(table_id)}["'\s>]""", text)
    return "</table>" in text[start.end() if start else 0:]


def _schedule_row(number: int, raw: str, cells: list, header: tuple, season: Season) -> dict:
    stats = tuple(c.get("data-stat") for c in cells)
    if stats != header:
        lost = [s for s in header if s not in stats]
        extra = [s for s in stats if s not in header]
        detail = f"missing {lost}" if lost else f"unexpected {extra}" if extra else "in another order"
        raise _RowError(f"cells do not match the table header ({detail})")
    if "\ufffd" in raw:
        raise _RowError(f"row holds bytes that are not UTF-8: {raw[:80]!r}")
    for stat, element in zip(stats, cells, strict=False):
        damaged = [name for node in element.iter() for name in node.attrib if not _ATTRIBUTE.match(name)]
        if damaged:
            raise _RowError(f"{stat} cell markup is damaged (attribute {damaged[0]!r})")
    cell = dict(zip(stats, cells, strict=False))

    date_text = _text(cell["date"])
    match = _ISO_DATE.match(date_text)
    try:
        match_date = dt.date(*map(int, match.groups())) if match else None
    except ValueError:
        match_date = None
    if match_date is None:
        raise _RowError(f"date {date_text!r} is not a YYYY-MM-DD date")
    sort_key = cell["date"].get("csk")
    if sort_key and sort_key != match_date.strftime("%Y%m%d"):
        raise _RowError(f"date {date_text!r} disagrees with its sort key {sort_key!r}", "consistency")
    weekday = _text(cell.get("dayofweek"))
    if weekday and weekday != match_date.strftime("%a"):
        raise _RowError(f"dayofweek {weekday!r} is not the weekday of {date_text}", "consistency")
    if not season.first_day <= match_date <= season.last_day:
        raise _RowError(f"date {date_text} is outside season {season}", "temporal")

    home, home_id, home_slug = _team(cell["home_team"], "home_team")
    away, away_id, away_slug = _team(cell["away_team"], "away_team")
    match_id = _match_id(cell, home_slug, away_slug, match_date)

    score = _text(cell["score"])
    home_goals = away_goals = home_pens = away_pens = None
    if score:
        parts = _SCORE.match(score)
        if not parts:
            raise _RowError(f"score {score!r} is not 'goals–goals' (EN DASH)")
        home_pens, home_goals, away_goals, away_pens = (None if p is None else int(p) for p in parts.groups())
        if (home_pens is None) != (away_pens is None):
            raise _RowError(f"score {score!r} has penalties for one side only")

    kickoff_at, known = _kickoff(cell.get("start_time"), match_date)
    notes = _text(cell.get("notes")) or None
    home_xg, away_xg = _number(cell, "home_xg", _DECIMAL, float), _number(cell, "away_xg", _DECIMAL, float)
    attendance = _number(cell, "attendance", _THOUSANDS, lambda v: int(v.replace(",", "")))
    if not score and (home_xg is not None or away_xg is not None or attendance is not None):
        # FBref fills xG and attendance only once a match is played, so its score has been lost.
        raise _RowError("score is empty but xG or attendance is filled in", "consistency")
    return {
        "source_row": number, "raw_row": raw, "fbref_match_id": match_id,
        "gameweek": _number(cell, "gameweek", _WHOLE, int), "match_date": pd.Timestamp(match_date),
        "kickoff_at": kickoff_at, "kickoff_time_known": known,
        "home_team": home, "away_team": away, "home_fbref_team_id": home_id, "away_fbref_team_id": away_id,
        "home_goals": home_goals, "away_goals": away_goals,
        "home_penalties": home_pens, "away_penalties": away_pens,
        "home_xg": home_xg, "away_xg": away_xg, "attendance": attendance,
        "venue": _text(cell.get("venue")) or None, "referee": _text(cell.get("referee")) or None,
        "notes": notes, "status": _status(home_goals is not None and away_goals is not None, notes),
        "_slugs": (home_slug, away_slug),
    }  # fmt: skip


def _team(cell: lxml.html.HtmlElement, stat: str) -> tuple[str, str, str]:
    """Name as FBref writes it, squad id and URL name; a team without its squad link is not trusted."""
    name = _text(cell)
    if not name:
        raise _RowError(f"{stat} is empty")
    links = [a for a in cell.iter("a") if a.get("href")]
    squad = _SQUAD_LINK.match(links[0].get("href")) if len(links) == 1 else None
    if squad is None:
        raise _RowError(f"{stat} {name!r} lacks its /en/squads/<id>/…-Stats link")
    return " ".join(links[0].text_content().split()), squad.group(1), squad.group(2)


def _match_id(cell: dict, home_slug: str, away_slug: str, day: dt.date) -> str | None:
    """The id shared by the score and match-report links, whose slug must name this row's teams and date.

    The slug is `<Home>-<Away>-<Month>-<day>-<year>-<Competition>`, sometimes after a derby's name
    (`El-Clasico-Barcelona-Real-Madrid-October-28-2023-La-Liga`).
    """
    ids = set()
    for stat in ("score", "match_report"):
        for link in cell[stat].iter("a") if stat in cell else ():
            href = link.get("href") or ""
            if not _MATCH_ID.match(href):
                continue
            parts = _MATCH_LINK.match(href)
            if parts is None:
                raise _RowError(f"{stat} link {href!r} is not /en/matches/<8-hex id>/<slug>")
            expected = f"{home_slug}-{away_slug}-{day.strftime('%B')}-{day.day}-{day.year}-"
            slug = parts.group(2)
            if not (slug.startswith(expected) or f"-{expected}" in slug):
                raise _RowError(f"{stat} link {href!r} does not name {home_slug} v {away_slug} on {day}",
                                "consistency")
            ids.add(parts.group(1))
    if len(ids) > 1:
        raise _RowError(f"score and match_report link to different matches {sorted(ids)}", "consistency")
    return ids.pop() if ids else None


def _kickoff(cell: lxml.html.HtmlElement | None, day: dt.date) -> tuple[pd.Timestamp, bool]:
    """UTC kickoff from the venue-time span's epoch; midnight UTC of the date when there is none."""
    if cell is not None:
        shown = _text(cell)
        if not _START_TIME.match(shown):
            raise _RowError(f"start_time {shown!r} is not HH:MM")
        epochs = [s.get("data-venue-epoch") for s in cell.iter("span") if s.get("data-venue-epoch")]
        if epochs:
            if not re.fullmatch(r"\d{9,10}", epochs[0]):
                raise _RowError(f"start_time epoch {epochs[0]!r} is not a Unix time")
            kickoff = pd.Timestamp(int(epochs[0]), unit="s", tz="UTC")
            if abs((kickoff.date() - day).days) > 1:
                raise _RowError(f"start_time epoch {epochs[0]} is {kickoff}, not on {day}", "consistency")
            return kickoff, True
    return pd.Timestamp(day, tz="UTC"), False


def _number(cell: dict, stat: str, pattern: re.Pattern, convert) -> float | int | None:
    value = _text(cell.get(stat))
    if not value:
        return None
    if not pattern.match(value):
        raise _RowError(f"{stat} {value!r} is not a number")
    return convert(value)


def _status(has_score: bool, notes: str | None) -> str:
    """'completed' with a score, else 'scheduled'; notes saying abandoned/cancelled/postponed override.

    A postponement note on a scored row tells the history of a match since played, so it does not
    override a score; abandonment or cancellation does (the score is then not a normal result).
    """
    lowered = (notes or "").lower()
    for word, status in _NOTE_STATUSES:
        if word in lowered and (status != "postponed" or not has_score):
            return status
    return "completed" if has_score else "scheduled"


def _consistent(rows: list[dict], rejections: list[Rejection]) -> list[dict]:
    """Drop rows that disagree with the rest of the table: a squad id written two ways, a match twice.

    Each team appears in many rows, always spelled the same; a name or URL that differs from the majority
    for its squad id (or ties with it) is what a fused or damaged row looks like.
    """
    spellings: dict[str, Counter] = {}
    for row in rows:
        for side, slug in zip(("home", "away"), row["_slugs"], strict=False):
            spellings.setdefault(row[f"{side}_fbref_team_id"], Counter())[(row[f"{side}_team"], slug)] += 1
    trusted = {}
    for squad, counts in spellings.items():
        ranked = counts.most_common(2)
        if len(ranked) == 1 or ranked[0][1] > ranked[1][1]:
            trusted[squad] = ranked[0][0]
    kept: list[dict] = []
    seen: dict[str, int] = {}
    for row in rows:
        reason = None
        for side, slug in zip(("home", "away"), row["_slugs"], strict=False):
            squad = row[f"{side}_fbref_team_id"]
            if trusted.get(squad) != (row[f"{side}_team"], slug):
                usual = f"{trusted[squad]} in most rows" if squad in trusted else "otherwise in as many rows"
                reason = f"{side}_team {(row[f'{side}_team'], slug)} (squad {squad}) is written {usual}"
                break
        match_id = row["fbref_match_id"]
        if reason is None and match_id is not None and match_id in seen:
            reason = f"match {match_id} already in row {seen[match_id]}"
        if reason:
            number = row["source_row"]
            rejections.append(Rejection(number, row["raw_row"], f"row {number}: {reason}", "consistency"))
            continue
        if match_id is not None:
            seen[match_id] = row["source_row"]
        kept.append(row)
    return kept


def _schedule_frame(rows: list[dict]) -> pd.DataFrame:
    matches = pd.DataFrame([{k: row[k] for k in MATCH_COLUMNS} for row in rows], columns=MATCH_COLUMNS)
    matches["match_date"] = pd.to_datetime(matches["match_date"]).astype("datetime64[ns]")
    matches["kickoff_at"] = pd.to_datetime(matches["kickoff_at"], utc=True).astype("datetime64[ns, UTC]")
    matches["kickoff_time_known"] = matches["kickoff_time_known"].astype(bool)
    for column in ("gameweek", "home_goals", "away_goals", "home_penalties", "away_penalties", "attendance"):
        matches[column] = matches[column].astype("Int64")
    for column in ("home_xg", "away_xg"):
        matches[column] = matches[column].astype(float)
    for column in ("fbref_match_id", "venue", "referee", "notes"):
        matches[column] = matches[column].astype(object).where(matches[column].notna(), None)
    return matches


# --- match report --------------------------------------------------------------------------------------


@dataclass
class MatchReport:
    path: str
    sha256: str
    fbref_match_id: str | None
    home_team: str
    away_team: str
    home_goals: int | None  # None: not played ('--' in the scorebox)
    away_goals: int | None
    home_xg: float | None
    away_xg: float | None
    match_date: dt.date | None
    kickoff_at: pd.Timestamp | None
    note: str | None  # footnote the score's '*' points to: 'Match Cancelled', 'Match awarded to …'
    lineups: pd.DataFrame
    team_stats: dict[str, int] = field(default_factory=dict)


def parse_match_report(data: bytes, *, path: str) -> MatchReport:
    """Parse one match report page. Raises `SourceFileError` when it has no scorebox."""
    _, document = _load(path, data)
    scorebox = next(iter(document.xpath(_SCOREBOX)), None)
    if scorebox is None:
        raise SourceFileError(path, "no scorebox (div.scorebox): not a match report, or its layout changed")
    blocks = [d for d in scorebox.xpath("./div") if "scorebox_meta" not in (d.get("class") or "")
              and d.xpath(".//strong/a")]
    if len(blocks) < 2:
        raise SourceFileError(path, f"scorebox has {len(blocks)} team block(s), expected 2")
    names = [_scorebox_team(block) for block in blocks[:2]]
    scores = [_scorebox_goals(path, block) for block in blocks[:2]]
    xgs = [_scorebox_xg(block) for block in blocks[:2]]
    home_goals, away_goals = (goals for goals, _ in scores)
    meta = next(iter(scorebox.xpath("./div[contains(@class, 'scorebox_meta')]")), None)
    note = None
    if any(marked for _, marked in scores) and meta is not None:
        note = next((_text(d)[1:].strip() for d in meta.xpath("./div") if _text(d).startswith("*")), None)
    match_date, kickoff_at = _report_date(document, meta)
    team_stats = _team_stats(document, played=home_goals is not None and away_goals is not None)
    return MatchReport(
        path=path,
        sha256=sha256(data),
        fbref_match_id=_report_id(document),
        home_team=names[0],
        away_team=names[1],
        home_goals=home_goals,
        away_goals=away_goals,
        home_xg=xgs[0],
        away_xg=xgs[1],
        match_date=match_date,
        kickoff_at=kickoff_at,
        note=note,
        lineups=_lineups(document),
        team_stats=team_stats,
    )


def _report_id(document: lxml.html.HtmlElement) -> str | None:
    hrefs = document.xpath("//link[@rel='canonical']/@href | //meta[@property='og:url']/@content")
    for href in hrefs:
        match = _MATCH_ID.match(href.strip())
        if match:
            return match.group(1)
    return None


def _scorebox_team(block: lxml.html.HtmlElement) -> str:
    links = block.xpath(".//strong/a[contains(@href, '/en/squads/')]") or block.xpath(".//strong/a")
    return _text(links[0])


def _scorebox_goals(path: str, block: lxml.html.HtmlElement) -> tuple[int | None, bool]:
    """Goals and whether the score carries a '*' (a footnote: awarded, cancelled)."""
    score = _text(next(iter(block.xpath(".//div[@class='score']")), None))
    marked = score.endswith("*")
    value = score.rstrip("*").strip()
    if value in ("", "--"):
        return None, marked
    if not _WHOLE.match(value):
        raise SourceFileError(path, f"scorebox score {score!r} is not a number")
    return int(value), marked


def _scorebox_xg(block: lxml.html.HtmlElement) -> float | None:
    value = _text(next(iter(block.xpath(".//div[@class='score_xg']")), None))
    return float(value) if _DECIMAL.match(value) else None


def _report_date(document: lxml.html.HtmlElement, meta) -> tuple[dt.date | None, pd.Timestamp | None]:
    spans = meta.xpath(".//span[@data-venue-date]") if meta is not None else []
    if spans and re.fullmatch(r"\d{4}-\d{2}-\d{2}", spans[0].get("data-venue-date")):
        day = dt.date.fromisoformat(spans[0].get("data-venue-date"))
        epoch = spans[0].get("data-venue-epoch") or ""
        return day, pd.Timestamp(int(epoch), unit="s", tz="UTC") if re.fullmatch(r"\d{9,10}", epoch) else None
    title = _TITLE_DATE.search(document.findtext(".//title") or "")
    if title:
        try:
            return dt.datetime.strptime(title.group(1), "%B %d, %Y").date(), None
        except ValueError:
            pass
    return None, None


def _lineups(document: lxml.html.HtmlElement) -> pd.DataFrame:
    """Both line-ups: div#a is the home side, div#b the away side.

    Each table opens with a '<team> (<formation>)' header row; a 'Bench' header row separates the starters
    from the substitutes. Without a 'Bench' row the first eleven players are taken as the starters.
    """
    rows = []
    for side, div_id in (("home", "a"), ("away", "b")):
        for lineup in document.xpath(f"//div[contains(@class, 'lineup') and @id='{div_id}']"):
            team = formation = None
            has_bench = any(_text(th).lower() == "bench" for th in lineup.xpath(".//tr/th"))
            starter, players = True, 0
            for tr in lineup.xpath(".//tr"):
                heading = tr.xpath("./th")
                if heading:
                    label = _text(heading[0])
                    if label.lower() == "bench":
                        starter = False
                    elif team is None:
                        parts = _FORMATION.match(label)
                        team, formation = (parts.group(1), parts.group(2).strip()) if parts else (label, None)
                    continue
                cells = tr.xpath("./td")
                if len(cells) < 2:
                    continue
                number = _text(cells[0])
                link = next(iter(cells[1].xpath(".//a")), None)
                player_id = _PLAYER_LINK.match(link.get("href") or "") if link is not None else None
                rows.append({
                    "side": side, "team": team, "formation": formation,
                    "shirt_number": int(number) if _WHOLE.match(number) else None,
                    "player": _text(link if link is not None else cells[1]),
                    "fbref_player_id": player_id.group(1) if player_id else None,
                    "starter": starter if has_bench else players < 11,
                })  # fmt: skip
                players += 1
    lineups = pd.DataFrame(rows, columns=LINEUP_COLUMNS)
    lineups["shirt_number"] = lineups["shirt_number"].astype("Int64")
    lineups["starter"] = lineups["starter"].astype(bool)
    return lineups


def _team_stats(document: lxml.html.HtmlElement, *, played: bool) -> dict[str, int]:
    """`div#team_stats` (labelled pairs of cells) and `div#team_stats_extra` (home, label, away triples).

    Cards are counted only for a played match: an unplayed one shows empty card boxes, not zero cards.
    """
    stats: dict[str, int] = {}
    for table in document.xpath("//div[@id='team_stats']/table"):
        label = None
        for tr in table.xpath("./tr | ./tbody/tr"):
            heading = tr.xpath("./th[@colspan]")
            if heading:
                label = _key(_text(heading[0]))
                continue
            cells = tr.xpath("./td")
            if label is None or len(cells) != 2:
                continue
            for side, cell in zip(("home", "away"), cells, strict=False):
                stats.update(_stat_values(label, side, cell, played))
            label = None
    for box in document.xpath("//div[@id='team_stats_extra']/div"):
        values = [_text(d) for d in box.xpath("./div[not(contains(@class, 'th'))]")]
        for home, label, away in zip(values[0::3], values[1::3], values[2::3], strict=False):
            for side, value in (("home", home), ("away", away)):
                if _WHOLE.match(value):
                    stats[f"{_key(label)}_{side}"] = int(value)
    return stats


def _stat_values(label: str, side: str, cell: lxml.html.HtmlElement, played: bool) -> dict[str, int]:
    if label == "cards":
        if not played:
            return {}
        spans = [(s.get("class") or "") for s in cell.xpath(".//div[@class='cards']/span")]
        return {
            f"yellow_cards_{side}": spans.count("yellow_card"),
            f"red_cards_{side}": spans.count("red_card"),
            f"second_yellow_cards_{side}": spans.count("yellow_red_card"),
        }
    text = _text(cell)
    percent, of = _PERCENT.search(text), _OF.search(text)
    values: dict[str, int] = {}
    if label == "passing_accuracy":
        if of:
            values.update({f"passes_completed_{side}": int(of.group(1)), f"passes_{side}": int(of.group(2))})
        if percent:
            values[f"passing_accuracy_{side}"] = int(percent.group(1))
    elif label == "shots_on_target" and of:
        values.update({f"shots_on_target_{side}": int(of.group(1)), f"shots_{side}": int(of.group(2))})
    elif label == "saves" and of:
        values[f"saves_{side}"] = int(of.group(1))
        values[f"shots_on_target_against_{side}"] = int(of.group(2))
    elif of:
        values[f"{label}_{side}"] = int(of.group(1))
    elif percent:
        values[f"{label}_{side}"] = int(percent.group(1))
    return values


def _key(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")

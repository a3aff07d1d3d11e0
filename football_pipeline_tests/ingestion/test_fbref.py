"""FBref schedule and match-report pages: real saved pages, broken copies of them, and properties.

The pages are byte-for-byte copies of shared/data/fbref-pages (MANIFEST section 6, from soccerdata's
test data): the bundled ones under bundled_data/fbref/, the rest in fixtures/fbref; these tests do not
depend on the shared directory.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from functools import cache

import lxml.html
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lxml import etree

from football_pipeline.common.seasons import Season
from football_pipeline.ingestion import fbref
from football_pipeline.ingestion.files import SourceFileError
from football_pipeline.ingestion.records import ParsedFile
from football_pipeline_tests.conftest import fbref_page

LA_LIGA = "schedule_ESP-La_Liga_2324.html"
LA_LIGA_TABLE = "sched_2023-2024_12_1"
EXPECTED = fbref.SCHEDULE_EXPECTED_COLUMNS
KEY = ["fbref_match_id", "match_date", "home_team", "away_team", "home_goals", "away_goals"]
SCHEDULES = {  # page -> (competition, season start year)
    LA_LIGA: ("SP1", 2023),
    "schedule_FRA-Ligue_1_1920.html": ("F1", 2019),
    "schedule_FRA-Ligue_1_2021.html": ("F1", 2020),
    "schedule_ITA-Serie_A_2021.html": ("I1", 2020),
}


@cache
def page(name: str) -> bytes:
    return fbref_page(name)


def parse(data: bytes, name: str = LA_LIGA) -> ParsedFile:
    competition_id, year = SCHEDULES[name]
    return fbref.parse_schedule(data, path=f"fbref/{name}", competition_id=competition_id,
                                season=Season(year))


@cache
def schedule(name: str) -> ParsedFile:
    return parse(page(name), name)


@cache
def report(name: str) -> fbref.MatchReport:
    return fbref.parse_match_report(page(name), path=f"fbref/{name}")


def edit_first_row(*replacements: tuple[bytes, bytes]) -> bytes:
    """The La Liga page with text replaced inside its first match row only."""
    data = page(LA_LIGA)
    start = data.index(b"<tr >", data.index(b"<tbody>"))
    end = data.index(b"</tr>", start)
    row = data[start:end]
    for old, new in replacements:
        assert row.count(old) == 1
        row = row.replace(old, new)
    return data[:start] + row + data[end:]


# --- schedules -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCHEDULES)
def test_real_schedules_parse_cleanly(name: str) -> None:
    parsed = schedule(name)
    matches = parsed.matches
    assert parsed.source == "fbref" and parsed.rejections == [] and parsed.file_problems == []
    assert parsed.info["drift"] == [] and parsed.info["rows"] == len(matches) == 380
    assert parsed.info["columns"] == EXPECTED
    assert matches["source_row"].tolist() == list(range(1, 381))
    ids = matches["fbref_match_id"]
    assert ids.str.fullmatch(r"[0-9a-f]{8}").all() and ids.is_unique
    assert matches["gameweek"].dtype == "Int64" and sorted(matches["gameweek"].unique()) == list(range(1, 39))
    teams = pd.concat([matches["home_team"], matches["away_team"]]).value_counts()
    assert len(teams) == 20 and (teams == 38).all()
    assert str(matches["kickoff_at"].dt.tz) == "UTC" and matches["match_date"].dtype == "datetime64[ns]"
    local_day_gap = matches["kickoff_at"].dt.tz_localize(None).dt.normalize() - matches["match_date"]
    assert local_day_gap.abs().max() <= pd.Timedelta(days=1)
    played = matches["status"] == "completed"
    assert matches.loc[played, ["home_goals", "away_goals"]].notna().all().all()
    assert matches[["home_penalties", "away_penalties"]].isna().all().all()


def test_la_liga_2023_24() -> None:
    matches = schedule(LA_LIGA).matches
    assert (matches["status"] == "completed").all()
    first = matches.iloc[0]
    assert (first.fbref_match_id, first.home_team, first.away_team) == ("30d3212e", "Almería", "Rayo Vallecano")
    assert (first.home_goals, first.away_goals, first.gameweek) == (0, 2, 1)
    assert first.match_date == pd.Timestamp("2023-08-11")
    assert first.kickoff_at == pd.Timestamp(1691775000, unit="s", tz="UTC")  # data-venue-epoch
    assert first.kickoff_at == pd.Timestamp("2023-08-11 17:30", tz="UTC")  # 19:30 in Almería
    assert first.kickoff_time_known and first.attendance == 14837
    assert (first.home_xg, first.away_xg) == (1.4, 2.1)
    assert (first.venue, first.referee, first.notes) == ("Power Horse Stadium", "Javier Alberola", None)
    assert (first.home_fbref_team_id, first.away_fbref_team_id) == ("78ecf4bb", "98e8af82")
    assert first.raw_row == ("1|Fri|2023-08-11|19:30|Almería|1.4|0–2|2.1|Rayo Vallecano|14,837|"
                             "Power Horse Stadium|Javier Alberola|Match Report|")
    assert matches["home_xg"].notna().all() and matches["kickoff_time_known"].all()
    # Derbies carry their name in front of the match slug: El-Clasico-Barcelona-Real-Madrid-October-28-2023-…
    clasico = matches[(matches.home_team == "Barcelona") & (matches.away_team == "Real Madrid")]
    assert clasico["match_date"].tolist() == [pd.Timestamp("2023-10-28")]


def test_ligue_1_2019_20_ended_early_with_101_cancelled_matches() -> None:
    matches = schedule("schedule_FRA-Ligue_1_1920.html").matches
    assert matches["status"].value_counts().to_dict() == {"completed": 279, "cancelled": 101}
    cancelled = matches[matches.status == "cancelled"]
    assert (cancelled["notes"] == "Match Cancelled").all()
    assert cancelled[["home_goals", "away_goals", "attendance"]].isna().all().all()
    assert cancelled[["home_xg", "away_xg"]].isna().all().all()
    # 73 of them never had a kickoff time: midnight UTC of the date stands in, flagged as unknown.
    unknown = matches[~matches.kickoff_time_known]
    assert len(unknown) == 73 and (unknown["kickoff_at"].dt.tz_localize(None) == unknown["match_date"]).all()
    lyon = matches.set_index("fbref_match_id").loc["1d845950"]
    assert (lyon.home_team, lyon.away_team, lyon.status) == ("Lyon", "Reims", "cancelled")
    assert matches.loc[matches.status == "completed", ["home_xg", "away_xg"]].notna().all().all()


def test_ligue_1_2020_21_picks_the_league_table_of_three() -> None:
    parsed = schedule("schedule_FRA-Ligue_1_2021.html")
    assert parsed.info["tables"] == ["sched_all", "sched_2020-2021_13_1", "sched_2020-2021_110"]
    assert len(parsed.matches) == 380
    assert "621f8a81" not in set(parsed.matches["fbref_match_id"])  # Toulouse v Nantes, relegation play-off


def test_serie_a_2020_21_awarded_match() -> None:
    matches = schedule("schedule_ITA-Serie_A_2021.html").matches.set_index("fbref_match_id")
    awarded = matches.loc["e0a20cfe"]
    assert (awarded.home_team, awarded.away_team) == ("Hellas Verona", "Roma")
    assert (awarded.home_goals, awarded.away_goals, awarded.status) == (3, 0, "completed")
    assert awarded.notes == "Match awarded to Hellas Verona"
    assert pd.isna(awarded.home_xg) and matches["home_xg"].isna().sum() == 1


def test_penalty_shootout_score() -> None:
    parsed = parse(edit_first_row((b">0&ndash;2<", b">(4) 1&ndash;1 (3)<")))
    first = parsed.matches.iloc[0]
    assert (first.home_goals, first.away_goals, first.home_penalties, first.away_penalties) == (1, 1, 4, 3)
    assert first.status == "completed" and len(parsed.matches) == 380 and parsed.rejections == []
    assert parsed.matches["home_penalties"].notna().sum() == 1


def test_unplayed_and_bad_scores() -> None:
    score = (b">0&ndash;2<", b"><")
    not_played = [(b">1.4<", b"><"), (b">2.1<", b"><"), (b">14,837<", b"><")]
    unplayed = parse(edit_first_row(score, *not_played)).matches.iloc[0]
    assert unplayed.fbref_match_id == "30d3212e" and unplayed.status == "scheduled"
    assert pd.isna(unplayed.home_goals) and pd.isna(unplayed.away_goals)
    [lost] = parse(edit_first_row(score)).rejections  # xG and attendance exist only for a played match
    assert lost.check_name == "consistency" and "score is empty" in lost.reason
    parsed = parse(edit_first_row((b"0&ndash;2", b"0-2")))
    assert len(parsed.matches) == 379 and parsed.matches.iloc[0].fbref_match_id != "30d3212e"
    [rejection] = parsed.rejections
    assert rejection.source_row == 1 and rejection.check_name == "schema"
    assert "score '0-2'" in rejection.reason and rejection.raw_row.startswith("1|Fri|2023-08-11|")


def test_hidden_tables_in_comments() -> None:
    html = page("teams_ESP-La_Liga_2324.html")
    # MANIFEST section 6: 103 tables, 79 of them inside comments (78 id-less leaderboards in one comment).
    document = lxml.html.document_fromstring(html.decode())
    visible = list(document.iter("table"))
    hidden = [table for comment in document.iter(etree.Comment) if "<table" in (comment.text or "")
              for table in lxml.html.fragment_fromstring(comment.text, create_parent="div").iter("table")]
    assert (len(visible) + len(hidden), len(hidden)) == (103, 79)
    # page_tables keeps the tables with an id: all 24 visible ones and the one hidden with an id.
    tables = fbref.page_tables(html)
    assert len(tables) == 25 and sum(1 for t in visible if t.get("id")) == 24
    assert list(tables)[:2] == ["results2023-2024121_overall", "results2023-2024121_home_away"]
    assert tables["nations"] == ["ranker", "nationality", "players", "minutes", "List"]
    assert "nations" not in fbref.page_tables(re.sub(rb"<!--.*?-->", b"", html, flags=re.DOTALL))
    assert fbref.page_tables(html.decode()) == tables and fbref.page_tables(b"") == {}


def test_renamed_table_is_refused_and_reported() -> None:
    data = page(LA_LIGA).replace(b'id="sched_2023-2024_12_1"', b'id="sched_2023-2024_12_9"')
    with pytest.raises(SourceFileError) as error:
        parse(data)
    assert f"'{LA_LIGA_TABLE}'" in str(error.value) and "found: sched_2023-2024_12_9" in str(error.value)
    assert fbref.structure_drift(fbref.page_tables(data), LA_LIGA_TABLE, EXPECTED) == [
        "table 'sched_2023-2024_12_1' missing (found: sched_2023-2024_12_9)"
    ]


@pytest.mark.parametrize("change", ["rename", "delete"])
def test_missing_score_column_is_refused_and_reported(change: str) -> None:
    if change == "rename":
        data = page(LA_LIGA).replace(b'data-stat="score"', b'data-stat="result"')
    else:
        score_cells = rb'<t([dh])[^>]*data-stat="score"[^>]*>.*?</t\1>'
        data = re.sub(score_cells, b"", page(LA_LIGA), flags=re.DOTALL)
    with pytest.raises(SourceFileError) as error:
        parse(data)
    assert "['score']" in str(error.value) and LA_LIGA in str(error.value)
    drift = fbref.structure_drift(fbref.page_tables(data), LA_LIGA_TABLE, EXPECTED)
    assert "column 'score' missing from sched_2023-2024_12_1" in drift
    assert ("new column 'result' in sched_2023-2024_12_1" in drift) == (change == "rename")


def test_structure_drift() -> None:
    found = {LA_LIGA_TABLE: [*EXPECTED, "xg_diff"]}
    assert fbref.structure_drift(found, LA_LIGA_TABLE, EXPECTED) == [f"new column 'xg_diff' in {LA_LIGA_TABLE}"]
    assert fbref.structure_drift({}, "x", ["a"]) == ["table 'x' missing (found: no tables)"]
    for name, (competition_id, year) in SCHEDULES.items():
        table = fbref.schedule_table_id(competition_id, Season(year))
        assert fbref.structure_drift(fbref.page_tables(page(name)), table, EXPECTED) == []
    assert fbref.schedule_table_id("SP1", Season(2023)) == LA_LIGA_TABLE


CHALLENGE = b"""<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="refresh" content="390"></head><body><div class="main-wrapper" role="main">
<div id="challenge-error-text">Enable JavaScript and cookies to continue</div></div>
<script>(function(){window._cf_chl_opt={cvId: '3',cZone: "fbref.com",cType: 'managed'};
var a = document.createElement('script');a.src = '/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1';
document.getElementsByTagName('head')[0].appendChild(a);}());</script></body></html>"""


def test_cloudflare_challenge_and_empty_pages_are_refused() -> None:
    with pytest.raises(SourceFileError, match="blocked: Cloudflare challenge page"):
        parse(CHALLENGE)
    with pytest.raises(SourceFileError, match="blocked"):
        parse(CHALLENGE.replace(b"Just a moment...", b"fbref.com"))  # the challenge script alone
    with pytest.raises(SourceFileError, match="blocked"):
        fbref.parse_match_report(CHALLENGE, path="fbref/match.html")
    with pytest.raises(SourceFileError, match="empty"):
        parse(b"  \n")
    # A real page may still load Cloudflare's beacon from /cdn-cgi/challenge-platform/: not a block.
    beacon = b'<script src="/cdn-cgi/challenge-platform/scripts/jsd/main.js"></script></head>'
    assert len(parse(page(LA_LIGA).replace(b"</head>", beacon, 1)).matches) == 380


def test_page_cut_in_half_gives_only_true_rows() -> None:
    data = page(LA_LIGA)
    cut = parse(data[: len(data) // 2])
    full = schedule(LA_LIGA).matches.set_index("source_row")
    assert 100 < len(cut.matches) < 380
    assert any("truncated" in p for p in cut.file_problems)
    assert cut.rejections[-1].check_name == "file_complete"
    pd.testing.assert_frame_equal(cut.matches.set_index("source_row"), full.loc[cut.matches["source_row"]])


def test_rows_fused_by_lost_bytes_are_rejected() -> None:
    """Bytes lost from inside one row's team name to inside the next one's make one whole-looking row."""
    data = page(LA_LIGA)
    table = data.index(b'id="sched_2023-2024_12_1"')
    start = data.index(b">Almer", table) + len(b">Almer")
    end = data.index(b">Sevilla<", table) + len(b">Sevi")
    parsed = parse(data[:start] + data[end:])  # home team 'Almerlla', everything after it from row 2
    assert len(parsed.matches) == 378 and "Almerlla" not in set(parsed.matches["home_team"])
    assert not set(parsed.matches["fbref_match_id"]) & {"30d3212e", "525758cc"}
    assert parsed.rejections[0].check_name == "consistency"
    assert "Almeria v Valencia" in parsed.rejections[0].reason


# --- match reports -------------------------------------------------------------------------------------


def test_match_report_girona_getafe() -> None:
    match = report("match_e8867e6b.html")
    assert (match.fbref_match_id, match.home_team, match.away_team) == ("e8867e6b", "Girona", "Getafe")
    assert (match.home_goals, match.away_goals, match.home_xg, match.away_xg) == (3, 0, 1.4, 0.7)
    assert match.match_date == dt.date(2023, 8, 20) and match.note is None
    assert match.kickoff_at == pd.Timestamp("2023-08-20 17:00", tz="UTC")
    lineups = match.lineups
    assert lineups.groupby(["side", "starter"]).size().to_dict() == {
        ("home", True): 11, ("home", False): 11, ("away", True): 11, ("away", False): 8}
    formations = lineups.groupby("side")["formation"].unique().to_dict()
    assert formations == {"home": ["4-1-4-1"], "away": ["4-2-3-1"]}
    first = lineups.iloc[0]
    assert (first.side, first.team, first.shirt_number, first.player, first.fbref_player_id) == (
        "home", "Girona", 13, "Paulo Gazzaniga", "63d17038")
    assert "Miguel Gutiérrez" in set(lineups.player) and lineups["shirt_number"].dtype == "Int64"
    stats = match.team_stats
    assert (stats["possession_home"], stats["possession_away"]) == (63, 37)
    assert (stats["passing_accuracy_home"], stats["passing_accuracy_away"]) == (85, 65)
    assert (stats["shots_on_target_home"], stats["shots_home"]) == (6, 7)
    assert (stats["shots_on_target_away"], stats["shots_away"]) == (2, 9)
    assert (stats["saves_home"], stats["saves_away"]) == (2, 3)
    assert (stats["yellow_cards_home"], stats["yellow_cards_away"], stats["fouls_home"]) == (2, 6, 11)


def test_cancelled_match_report_lyon_reims() -> None:
    match = report("match_1d845950.html")
    assert (match.fbref_match_id, match.home_team, match.away_team) == ("1d845950", "Lyon", "Reims")
    assert match.home_goals is None and match.away_goals is None  # scorebox '--' and '--*'
    assert match.note == "Match Cancelled" and match.match_date == dt.date(2020, 3, 13)
    assert match.lineups.empty and list(match.lineups.columns) == fbref.LINEUP_COLUMNS
    assert match.team_stats == {}  # only empty card boxes on the page


SERIE_A, LIGUE_1_1920, LIGUE_1_2021 = ("schedule_ITA-Serie_A_2021.html", "schedule_FRA-Ligue_1_1920.html",
                                       "schedule_FRA-Ligue_1_2021.html")


@pytest.mark.parametrize("name, schedule_page, expected", [
    ("match_34e95e35.html", SERIE_A, ("Fiorentina", "Torino", 1, 0, "3-5-2", "4-3-1-2")),
    ("match_796787da.html", LIGUE_1_2021, ("Lens", "Paris Saint-Germain", 1, 0, "3-4-1-2", "4-3-3")),
    ("match_a3e10e13.html", SERIE_A, ("Parma", "Napoli", 0, 2, "4-1-2-1-2", "4-3-3")),
    ("match_e0a20cfe.html", SERIE_A, ("Hellas Verona", "Roma", 3, 0, "3-4-3", "3-4-3")),
    ("match_e8867e6b.html", LA_LIGA, ("Girona", "Getafe", 3, 0, "4-1-4-1", "4-2-3-1")),
    ("match_1d845950.html", LIGUE_1_1920, ("Lyon", "Reims", None, None, None, None)),
])  # fmt: skip
def test_match_reports_agree_with_their_schedule_rows(name: str, schedule_page: str, expected: tuple) -> None:
    match = report(name)
    formations = match.lineups.groupby("side")["formation"].first()
    assert (match.home_team, match.away_team, match.home_goals, match.away_goals,
            formations.get("home"), formations.get("away")) == expected
    row = schedule(schedule_page).matches.set_index("fbref_match_id").loc[match.fbref_match_id]
    assert row.match_date.date() == match.match_date and row.kickoff_at == match.kickoff_at
    if match.home_goals is None:
        assert pd.isna(row.home_goals) and pd.isna(row.away_goals) and row.status == "cancelled"
    else:
        assert (row.home_goals, row.away_goals) == (match.home_goals, match.away_goals)
    if len(match.lineups):
        assert (match.lineups.groupby("side")["starter"].sum() == 11).all()


def test_awarded_match_report_keeps_the_footnote() -> None:
    match = report("match_e0a20cfe.html")
    assert match.note == "Match awarded to Hellas Verona" and match.home_xg is None
    assert "passing_accuracy_home" not in match.team_stats and match.team_stats["possession_home"] == 40
    assert report("match_796787da.html").lineups.query("side == 'away'")["team"].iloc[0] == "Paris S-G"


def test_page_without_scorebox_is_refused() -> None:
    with pytest.raises(SourceFileError, match="scorebox"):
        fbref.parse_match_report(page(LA_LIGA), path="fbref/not-a-report.html")


# --- properties: damaged pages never yield a wrong row -------------------------------------------------


def _mini_page() -> bytes:
    """The La Liga page's title and the first 20 matches of its table (22 body rows with 2 spacers)."""
    data = page(LA_LIGA)
    title = re.search(rb"<title>.*?</title>", data, re.DOTALL).group(0)
    start, body = data.index(b"<table"), data.index(b"<tbody>")
    end = [m.end() for m in re.finditer(rb"</tr>", data[body:])][21] + body
    head = b'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' + title + b"\n</head>\n"
    return head + b"<body>\n" + data[start:end] + b"\n</tbody>\n</table>\n</body>\n</html>\n"


def _key(row: tuple) -> tuple:
    return tuple(None if value is pd.NA else value for value in row)


MINI = _mini_page()
MINI_PARSED = parse(MINI)
TRUE_ROWS = {row[0]: _key(row) for row in MINI_PARSED.matches[KEY].itertuples(index=False, name=None)}
BODY = MINI.index(b"<tbody>")
CELLS = [(m.start(2), m.end(2)) for m in re.finditer(rb"(<t[dh][^>]*>)(.*?)(</t[dh]>)", MINI, re.DOTALL)
         if m.start() > BODY]
PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_only_true_rows(data: bytes) -> ParsedFile | None:
    """Either the page is refused, or every row returned is the undamaged page's row with that match id."""
    try:
        parsed = parse(data)
    except SourceFileError as error:
        assert LA_LIGA in str(error)
        return None
    for row in parsed.matches[KEY].itertuples(index=False, name=None):
        assert _key(row) == TRUE_ROWS.get(row[0]), f"wrong row {row}"
    return parsed


def test_mini_page_parses_all_its_rows() -> None:
    assert len(MINI_PARSED.matches) == 20 and not MINI_PARSED.rejections and not MINI_PARSED.file_problems
    assert len(CELLS) == 22 * 14


@PROPERTY
@given(st.integers(min_value=0, max_value=len(MINI) - 1), st.integers(min_value=1, max_value=400))
def test_lost_bytes_never_yield_a_wrong_row(start: int, length: int) -> None:
    lost = MINI[start : start + length]
    assume(b"<" in lost or b">" in lost)  # crosses a tag boundary
    assert_only_true_rows(MINI[:start] + MINI[start + length :])


@PROPERTY
@given(st.sampled_from(CELLS), st.text(alphabet=string.ascii_letters, min_size=1, max_size=12))
def test_a_cell_with_an_invalid_value_never_yields_a_wrong_row(cell: tuple[int, int], text: str) -> None:
    start, end = cell
    assert_only_true_rows(MINI[:start] + text.encode() + MINI[end:])


@PROPERTY
@given(st.integers(min_value=0, max_value=len(MINI) - 1))
def test_a_truncated_page_never_yields_a_wrong_row(cut: int) -> None:
    parsed = assert_only_true_rows(MINI[:cut])
    if parsed is not None and cut < MINI.index(b"</table>"):
        assert any("truncated" in p for p in parsed.file_problems)

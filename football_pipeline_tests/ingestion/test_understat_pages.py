"""Old Understat pages and per-match shots, on real pages and responses saved from understat.com.

Fixtures (bytes unchanged, see shared/data/MANIFEST.md sections 4 and 5): the EPL 2020-21 league page,
match 14717's page, Manchester United's 2020-21 team page (all March 2021), understatAPI's
getMatchData/getLeagueData re-shapes of the same data, and soccerdata's cache of match 81.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from football_pipeline.common.seasons import Season
from football_pipeline.ingestion import understat, understat_pages
from football_pipeline.ingestion.files import SourceFileError
from football_pipeline.ingestion.understat_pages import (
    SHOT_COLUMNS,
    SHOTS_EXPECTED_KEYS,
    SHOTS_OTHER_KEYS,
    embedded_variables,
    is_blocked_page,
    json_drift,
    league_drift,
    league_page_to_dates,
    parse_shots,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "understat"
LEAGUE_PAGE = FIXTURES / "league_EPL_2020.html"
MATCH_PAGE = FIXTURES / "match_14717_crystal-palace_manchester-united_2021-03-03.html"
TEAM_PAGE = FIXTURES / "team_Manchester_United_2020.html"
MATCH_AJAX = FIXTURES / "match_ajax.json"
LEAGUE_AJAX = FIXTURES / "league_ajax.json"
SOCCERDATA_MATCH = FIXTURES / "match_81.json"
ALL_FIXTURES = [LEAGUE_PAGE, MATCH_PAGE, TEAM_PAGE, MATCH_AJAX, LEAGUE_AJAX, SOCCERDATA_MATCH]

# What the real pages write literally; everything else is \xNN, uppercase hex (checked below).
UNDERSTAT_LITERAL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789,._")
CLOUDFLARE_CHALLENGE = (
    b'<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
    b'<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">'
    b'<meta http-equiv="X-UA-Compatible" content="IE=Edge"><meta name="robots" content="noindex,nofollow">'
    b'<meta name="viewport" content="width=device-width,initial-scale=1"><style>*{box-sizing:border-box;'
    b'margin:0;padding:0}html{line-height:1.15}</style><meta http-equiv="refresh" content="390"></head>'
    b'<body class="no-js"><div class="main-wrapper" role="main"><div class="main-content">'
    b'<noscript><div class="h2"><span id="challenge-error-text">Enable JavaScript and cookies to continue'
    b'</span></div></noscript></div></div><script>(function(){window._cf_chl_opt={cvId: \'3\',cZone: '
    b'\'understat.com\',cType: \'managed\',cRay: \'8f1c2a3b4d5e6f70\',cH: \'Xy.12ab\'};var cpo = '
    b'document.createElement(\'script\');cpo.src = \'/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1'
    b'?ray=8f1c2a3b4d5e6f70\';window._cf_chl_opt.cOgUHash = location.hash === \'\' ? \'\' : location.hash;'
    b'document.getElementsByTagName(\'head\')[0].appendChild(cpo);}());</script></body></html>'
)
# What Cloudflare appends to normal pages (bot management beacon): not a challenge.
CLOUDFLARE_BEACON = (
    b"<script>(function(){function c(){var b=a.contentDocument||a.contentWindow.document;if(b){var d=b."
    b"createElement('script');d.innerHTML=\"window.__CF$cv$params={r:'8f1c2a3b4d5e6f70',t:'MTczMjU4'};var a="
    b"document.createElement('script');a.nonce='';a.src='/cdn-cgi/challenge-platform/scripts/jsd/main.js';"
    b"document.getElementsByTagName('head')[0].appendChild(a);\";b.getElementsByTagName('head')[0]."
    b"appendChild(d)}}}})();</script>"
)


@cache
def read(path: Path) -> bytes:
    return path.read_bytes()


@cache
def league_variables() -> dict[str, object]:
    return embedded_variables(read(LEAGUE_PAGE), path=LEAGUE_PAGE.name)


@cache
def match_variables() -> dict[str, object]:
    return embedded_variables(read(MATCH_PAGE), path=MATCH_PAGE.name)


@cache
def league_ajax() -> dict:
    return json.loads(read(LEAGUE_AJAX))


def understat_escape(document: object, *, ensure_ascii: bool = True) -> str:
    """Understat's encoding: compact JSON, then every byte outside [A-Za-z0-9,._] as \\xNN."""
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=ensure_ascii)
    return "".join(ch if ch in UNDERSTAT_LITERAL else "".join(f"\\x{b:02X}" for b in ch.encode("utf-8"))
                   for ch in text)


def payload(page: bytes, name: str) -> bytes:
    match = re.search(rb"\b" + name.encode() + rb"\s*=\s*JSON\.parse\('([^']*)'\)", page)
    assert match, name
    return match.group(1)


def played_key(records: list[dict]) -> list[tuple[str, int, int, float, float]]:
    return [(r["id"], int(r["goals"]["h"]), int(r["goals"]["a"]), float(r["xG"]["h"]), float(r["xG"]["a"]))
            for r in records if r["isResult"]]


# --- embedded variables -------------------------------------------------------------------------------


def test_league_page_variables() -> None:
    variables = league_variables()
    assert {"datesData", "teamsData", "playersData"} <= set(variables)
    dates = variables["datesData"]
    assert isinstance(dates, list) and len(dates) == 380
    assert sum(r["isResult"] is True for r in dates) == 276
    assert len(variables["teamsData"]) == 20
    assert variables["teamsData"] == league_ajax()["teams"]
    assert variables["playersData"] == league_ajax()["players"]


def test_real_escaping_is_what_the_property_test_mimics() -> None:
    """Only [A-Za-z0-9,._] literal, uppercase \\xNN otherwise, non-ASCII as JSON \\u escapes (\\x5Cu00fc)."""
    page = read(LEAGUE_PAGE)
    raw = payload(page, "playersData")
    assert set(re.sub(rb"\\x[0-9A-F]{2}", b"", raw).decode("ascii")) <= UNDERSTAT_LITERAL
    assert not re.search(rb"\\x[0-9A-F]?[a-f]|\\[^x]", raw)
    assert max(raw) < 0x80
    assert b"G\\x5Cu00fcndogan" in raw
    for name in ("datesData", "playersData"):
        assert understat_escape(league_variables()[name]).encode() == payload(page, name)
    for name in ("shotsData", "rostersData", "match_info"):
        assert understat_escape(match_variables()[name]).encode() == payload(read(MATCH_PAGE), name)


def test_non_ascii_player_names_survive_decoding() -> None:
    page_names = {p["id"]: p["player_name"] for p in league_variables()["playersData"]}
    json_names = {p["id"]: p["player_name"] for p in league_ajax()["players"]}
    accented = {i: n for i, n in page_names.items() if any(ord(ch) > 127 for ch in n)}
    assert len(accented) >= 20
    assert page_names["314"] == json_names["314"] == "Ilkay G\u00fcndogan"
    assert {i: json_names[i] for i in accented} == accented
    assert "Pierre-Emile H\u00f8jbjerg" in accented.values()


def test_escaped_quotes_and_slashes_decode_in_one_pass() -> None:
    """PROMOTION holds \\x5C\\x22 and \\x5C\\x2F (JSON's \\" and \\/): a second decoding pass breaks it."""
    page = read(MATCH_PAGE)
    assert b"\\x5C\\x22" in payload(page, "PROMOTION") and b"\\x5C\\x2F" in payload(page, "PROMOTION")
    template = match_variables()["PROMOTION"]["template"]
    assert template.startswith('<ins class="adsbygoogle"') and template.endswith("></ins>")


def test_match_page_assigns_match_info_without_var() -> None:
    assert b"var match_info" not in read(MATCH_PAGE) and b"match_info = JSON.parse(" in read(MATCH_PAGE)
    variables = match_variables()
    assert {"shotsData", "rostersData", "match_info"} <= set(variables)
    assert variables["match_info"] == json.loads(read(MATCH_AJAX))["tmpl"]


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        (r"""{"a":"it\'s"}""", {"a": "it's"}),
        (r"""{"a":"back\\\\slash"}""", {"a": "back\\slash"}),
        (r"""{"a":"\x5C\x22q\x5C\x22"}""", {"a": '"q"'}),
        (r"""{"a":"G\xC3\xBCndogan"}""", {"a": "G\u00fcndogan"}),
        (r"""{"a":"G\u00fcndogan \u{1F600} \uD83D\uDE00"}""", {"a": "G\u00fcndogan \U0001f600 \U0001f600"}),
        (r"""{"a":"\xE9t\xE9"}""", {"a": "\u00e9t\u00e9"}),
        ("""{"a":"raw \u00e9"}""", {"a": "raw \u00e9"}),
    ],
    ids=["quote", "backslash", "hex-escaped-json-escape", "utf8-bytes", "unicode", "latin1-fallback", "raw"],
)
def test_js_escapes(literal: str, expected: object) -> None:
    assert embedded_variables(f"<script>var x = JSON.parse('{literal}');</script>") == {"x": expected}


json_text = st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("\"'\\/é ü😀\n"), max_size=12)
json_number = st.integers(-(10**15), 10**15) | st.floats(allow_nan=False, allow_infinity=False)
json_scalar = st.none() | st.booleans() | json_number | json_text
json_document = st.recursive(
    json_scalar,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(json_text, children, max_size=4),
    max_leaves=15,
).filter(lambda doc: isinstance(doc, list | dict))


@settings(deadline=None, max_examples=100)
@given(document=json_document, ensure_ascii=st.booleans(),
       name=st.from_regex(r"[a-z][A-Za-z_]{0,10}", fullmatch=True))
def test_embedded_variables_round_trip(document: object, ensure_ascii: bool, name: str) -> None:
    """Understat-escaped documents decode to themselves, with non-ASCII as \\u escapes or as UTF-8 bytes."""
    escaped = understat_escape(document, ensure_ascii=ensure_ascii)
    page = f"<html><script>\n  var {name} = JSON.parse('{escaped}');\n</script></html>"
    assert embedded_variables(page.encode("utf-8"), path="generated") == {name: document}


def test_page_without_variables_is_refused() -> None:
    stripped = re.sub(rb"JSON\.parse\('[^']*'\)", b"null", read(MATCH_PAGE))
    with pytest.raises(SourceFileError, match=r"HTML page \(title: 'Crystal Palace 0 - 0 Manchester United.*"
                                              r"expected datesData, teamsData, playersData, shotsData"):
        embedded_variables(stripped, path="match.html")
    with pytest.raises(SourceFileError, match="Cloudflare challenge"):
        embedded_variables(CLOUDFLARE_CHALLENGE, path="league.html")
    with pytest.raises(SourceFileError, match="not an HTML page"):
        embedded_variables(read(LEAGUE_AJAX), path="league_ajax.json")


@pytest.mark.parametrize(("extra", "message"), [(0, "decoded text is not JSON"), (1, "string is not closed")],
                         ids=["at-an-escape", "inside-an-escape"])
def test_truncated_payload_is_refused(extra: int, message: str) -> None:
    """Cut inside `\\x22`, the trailing backslash escapes the closing quote: reported, not skipped."""
    page = read(MATCH_PAGE)
    raw = payload(page, "shotsData")
    cut = raw.rfind(b"\\x", 0, len(raw) // 2) + extra
    with pytest.raises(SourceFileError, match=f"variable shotsData: .*{message}"):
        embedded_variables(page.replace(raw, raw[:cut]), path="match.html")


# --- league page -> the existing match parser ---------------------------------------------------------


def test_league_page_feeds_the_existing_parser() -> None:
    dates = league_page_to_dates(read(LEAGUE_PAGE), path=LEAGUE_PAGE.name)
    parsed = understat.parse(dates, path=LEAGUE_PAGE.name, competition_id="E0", season=Season(2020))
    assert len(parsed.matches) == 380 and not parsed.rejections
    assert parsed.info["rows_with_result"] == 276
    played = parsed.matches[parsed.matches["is_result"]]
    from_page = list(zip(played["understat_id"], played["home_goals"], played["away_goals"],
                         played["home_xg"], played["away_xg"], strict=True))
    assert from_page == played_key(league_ajax()["dates"])
    assert len(from_page) == 276


def test_league_page_to_dates_refuses_other_pages() -> None:
    with pytest.raises(SourceFileError, match=r"no datesData on the page: it has \['PROMOTION', "
                                              r"'match_info', 'rostersData', 'shotsData'\]"):
        league_page_to_dates(read(MATCH_PAGE), path=MATCH_PAGE.name)
    team = embedded_variables(read(TEAM_PAGE), path=TEAM_PAGE.name)
    assert len(team["datesData"]) == 38 and "statisticsData" in team
    with pytest.raises(SourceFileError, match="datesData without teamsData .*a team page"):
        league_page_to_dates(read(TEAM_PAGE), path=TEAM_PAGE.name)


# --- shots --------------------------------------------------------------------------------------------


def expected_sums(shots: dict) -> dict[str, float]:
    return {"home": sum(float(s["xG"]) for s in shots["h"]), "away": sum(float(s["xG"]) for s in shots["a"])}


def test_match_page_shots() -> None:
    frame, rejections = parse_shots(read(MATCH_PAGE), path=MATCH_PAGE.name)
    raw = match_variables()["shotsData"]
    assert not rejections and list(frame.columns) == SHOT_COLUMNS
    assert len(frame) == len(raw["h"]) + len(raw["a"]) == 19
    assert frame["side"].value_counts().to_dict() == {"away": len(raw["a"]), "home": len(raw["h"])}
    assert frame.groupby("side")["xg"].sum().to_dict() == pytest.approx(expected_sums(raw), abs=1e-12)
    assert set(frame["understat_match_id"]) == {"14717"} and set(frame["season"]) == {"2020"}
    assert "Goal" not in set(frame["result"])  # 0-0
    assert frame["understat_shot_id"].tolist() == [s["id"] for s in raw["h"] + raw["a"]]
    assert frame["minute"].dtype == "Int64"
    assert frame["minute"].tolist() == [int(s["minute"]) for s in raw["h"] + raw["a"]]
    assert frame["x"].between(0, 1).all() and frame["y"].between(0, 1).all()
    first = frame.iloc[0]
    assert (first["player"], first["understat_player_id"], first["shot_type"], first["last_action"]) == (
        "Christian Benteke", "606", "RightFoot", "Cross")


def test_match_ajax_shots_equal_the_page() -> None:
    from_page, _ = parse_shots(read(MATCH_PAGE), path=MATCH_PAGE.name)
    frame, rejections = parse_shots(read(MATCH_AJAX), path=MATCH_AJAX.name)
    assert not rejections
    assert frame.equals(from_page)
    shots = json.loads(read(MATCH_AJAX))["shots"]
    assert frame.groupby("side")["xg"].sum().to_dict() == pytest.approx(expected_sums(shots), abs=1e-12)


def test_soccerdata_cache_shots() -> None:
    frame, rejections = parse_shots(read(SOCCERDATA_MATCH), path=SOCCERDATA_MATCH.name)
    document = json.loads(read(SOCCERDATA_MATCH))
    shots = document["shotsData"]
    assert not rejections and len(frame) == len(shots["h"]) + len(shots["a"]) == 19
    assert frame.groupby("side")["xg"].sum().to_dict() == pytest.approx(expected_sums(shots), abs=1e-12)
    assert set(frame["understat_match_id"]) == {"81"} and set(frame["season"]) == {"2015"}
    # Understat lists an own goal with the shooter's side: Kyle Walker (away) gave Manchester United 1-0.
    own_goal = frame[frame["result"] == "OwnGoal"]
    assert own_goal[["player", "side"]].values.tolist() == [["Kyle Walker", "away"]]
    assert document["match_info"]["h_goals"] == "1"
    # 'None' (a string in the source) means no last action.
    no_action = sum(s["lastAction"] == "None" for s in shots["h"] + shots["a"])
    assert frame["last_action"].isna().sum() == no_action > 0


def test_bad_shots_become_rejections() -> None:
    document = json.loads(read(MATCH_AJAX))
    shots = document["shots"]
    del shots["h"][1]["id"]
    shots["a"][2]["xG"] = "1.7"
    shots["a"][4]["X"] = "-0.1"
    shots["a"][5]["Y"] = "lots"
    frame, rejections = parse_shots(json.dumps(document).encode(), path="match.json")
    home = len(shots["h"])
    assert [(r.source_row, r.check_name) for r in rejections] == [
        (2, "schema"), (home + 3, "value_ranges"), (home + 5, "value_ranges"), (home + 6, "schema")]
    assert rejections[0].reason == "shot 2 (home): key 'id' missing"
    assert rejections[1].reason == f"shot {home + 3} (away): xG '1.7' outside 0..1"
    assert "X '-0.1' outside 0..1" in rejections[2].reason
    assert "Y 'lots' is not a number" in rejections[3].reason
    assert json.loads(rejections[1].raw_row) == shots["a"][2]
    assert len(frame) == 19 - 4
    assert "1.7" not in frame["xg"].astype(str).tolist()


def test_shot_files_of_the_wrong_kind_are_refused() -> None:
    with pytest.raises(SourceFileError, match=r"keys \['dates', 'players', 'teams'\]"):
        parse_shots(read(LEAGUE_AJAX), path=LEAGUE_AJAX.name)
    with pytest.raises(SourceFileError, match=r"no shotsData on the page: it has \['PROMOTION', 'datesData'"):
        parse_shots(read(LEAGUE_PAGE), path=LEAGUE_PAGE.name)
    shots = json.loads(read(MATCH_AJAX))["shots"]
    with pytest.raises(SourceFileError, match="a list of 19 shots"):
        parse_shots(json.dumps({"shotsData": shots["h"] + shots["a"]}).encode(), path="player.json")
    other_match = json.loads(read(MATCH_AJAX))
    other_match["tmpl"]["id"] = "14718"
    with pytest.raises(SourceFileError, match=r"shots from 2 matches \(\['14717', '14718'\]"):
        parse_shots(json.dumps(other_match).encode(), path="match.json")
    with pytest.raises(SourceFileError, match="Cloudflare challenge"):
        parse_shots(CLOUDFLARE_CHALLENGE, path="match.html")
    with pytest.raises(SourceFileError, match="empty"):
        parse_shots(b"", path="match.json")


# --- drift --------------------------------------------------------------------------------------------


def test_shot_drift_reports_a_renamed_key() -> None:
    records = [shot for _, shot in understat_pages.shot_records(read(MATCH_AJAX), path=MATCH_AJAX.name)]
    assert json_drift(records, SHOTS_EXPECTED_KEYS, known=SHOTS_OTHER_KEYS, noun="shots") == []
    renamed = copy.deepcopy(records)
    for shot in renamed[:12]:
        shot["expectedGoals"] = shot.pop("xG")
    assert json_drift(renamed, SHOTS_EXPECTED_KEYS, known=SHOTS_OTHER_KEYS, noun="shots") == [
        "key 'xG' missing from 12 of 19 shots", "new key 'expectedGoals' in 12 of 19 shots"]


def test_league_drift_reports_renamed_keys() -> None:
    document = league_ajax()
    assert league_drift(document) == []
    renamed = {("matches" if key == "dates" else key): value for key, value in document.items()}
    assert league_drift(renamed) == ["top-level key 'dates' missing", "new top-level key 'matches'"]
    dates = copy.deepcopy(document["dates"])
    for record in dates:
        record["kickoff"] = record.pop("datetime")
    assert league_drift({**document, "dates": dates}) == [
        "key 'datetime' missing from 380 of 380 matches", "new key 'kickoff' in 380 of 380 matches"]
    assert league_drift({**document, "dates": {"1": dates[0]}}) == [
        "'dates' is a dict, expected a list of matches"]
    assert league_drift(document["dates"]) == [
        "response is a list, expected an object with keys ['teams', 'players', 'dates']"]


# --- blocked pages ------------------------------------------------------------------------------------


def test_blocked_pages_are_recognised() -> None:
    assert "Cloudflare challenge" in is_blocked_page(CLOUDFLARE_CHALLENGE)
    without_title = CLOUDFLARE_CHALLENGE.replace(b"Just a moment...", b"understat.com")
    assert "challenge-platform" in is_blocked_page(without_title)
    denied = (b"<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n"
              b"You don't have permission to access \"http://understat.com/league/EPL/2020\" "
              b"on this server.<P>\n"
              b"Reference #18.5e2e1402.1732581122.1a2b3c4d\n</BODY>\n</HTML>\n")
    assert "Access Denied" in is_blocked_page(denied)
    cloudflare_1020 = (b'<!DOCTYPE html><html lang="en-US"><head>'
                       b"<title>Attention Required! | Cloudflare</title></head>"
                       b"<body><h1>Sorry, you have been blocked</h1></body></html>")
    assert "Attention Required" in is_blocked_page(cloudflare_1020)
    assert is_blocked_page(b"") == "empty body"
    assert is_blocked_page(b"  \n") == "empty body"


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=lambda p: p.name)
def test_real_pages_are_not_blocked(path: Path) -> None:
    assert is_blocked_page(read(path)) is None


def test_cloudflare_beacon_on_a_real_page_is_not_a_block() -> None:
    page = read(MATCH_PAGE).replace(b"</body>", CLOUDFLARE_BEACON + b"</body>")
    assert CLOUDFLARE_BEACON in page
    assert is_blocked_page(page) is None
    assert len(parse_shots(page, path=MATCH_PAGE.name)[0]) == 19

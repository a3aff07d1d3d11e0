"""Files that travel with a partition's main file: FBref match reports, Understat per-match shots,
football-data's fixtures feed.

    fbref/<DIV>/<SEASON>/schedule.html    ->  fbref/<DIV>/<SEASON>/matches/<fbref id>.html
    understat/<LEAGUE>/<YEAR>.json        ->  understat/<LEAGUE>/<YEAR>/matches/<understat id>.json|.html
    football-data/<DIV>/<CODE>.csv        ->  football-data/fixtures.csv (every division's coming matches)

The fixtures feed joins the season file it belongs to (`merge_fixtures`): its rows of that division and
season that the season file does not have yet (no result: scheduled matches, with pre-match prices).
A fixture the season file already holds is left to the season file, which has the result.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from football_pipeline.common.seasons import Season
from football_pipeline.ingestion import fbref, football_data, understat_pages
from football_pipeline.ingestion.files import FBREF, FOOTBALL_DATA, UNDERSTAT, SourceFile, SourceFileError
from football_pipeline.ingestion.records import ParsedFile, Rejection

REPORT_STATS = ("possession",)  # team stats from match reports that the warehouse keeps
FIXTURES_NAME = "fixtures.csv"
# Fixture rows join the season file's rows under source_row FIXTURE_ROW_BASE + their fixtures.csv line,
# so that they never collide with the season file's own lines (odds are tied to matches by source_row).
FIXTURE_ROW_BASE = 10_000_000


def fixtures_path(file: SourceFile) -> Path:
    """football-data/fixtures.csv beside the division folders of a season file's data directory."""
    return file.path.parent.parent / FIXTURES_NAME


def companion_paths(file: SourceFile) -> list[Path]:
    if file.source == FOOTBALL_DATA:
        path = fixtures_path(file)
        return [path] if path.is_file() else []
    if file.source == FBREF:
        return sorted((file.path.parent / "matches").glob("*.html"))
    if file.source == UNDERSTAT:
        folder = file.path.parent / file.path.stem / "matches"
        return sorted(p for p in folder.glob("*.*") if p.suffix in (".json", ".html"))
    return []


def read(file: SourceFile, paths: list[Path], shown: dict[Path, str]) -> tuple[dict[str, pd.DataFrame],
                                                                              list[Rejection]]:
    """Parse the companions: FBref -> lineups and report stats; Understat -> shots."""
    if file.source == FBREF:
        return _reports(paths, shown)
    if file.source == UNDERSTAT:
        return _shots(paths, shown)
    return {}, []


def merge_fixtures(parsed: ParsedFile, path: Path, shown: str) -> dict[str, int]:
    """Add the fixtures feed's rows for `parsed`'s partition that the season file lacks, in place.

    Returns counts for the file's info. A feed that cannot be read at all is one companion rejection
    naming it, and the season file loads as it is; a bad fixture row is one rejection naming its line.
    """
    try:
        feed = football_data.parse_fixtures(path.read_bytes(), path=shown, competition_id=parsed.competition_id,
                                            season=parsed.season)
    except SourceFileError as error:
        parsed.companion_rejections.append(Rejection(None, shown, f"fixtures feed: {error.reason}", "schema"))
        return {"fixtures_feed_rows": 0, "fixtures_added": 0}
    for problem in feed.file_problems:
        parsed.companion_rejections.append(Rejection(None, shown, f"fixtures feed: {problem}", "schema"))
    parsed.companion_rejections.extend(
        Rejection(r.source_row, r.raw_row, f"{shown} line {r.source_row}: {r.reason}", r.check_name)
        for r in feed.rejections)
    if feed.file_problems or feed.matches.empty:
        return {"fixtures_feed_rows": len(feed.matches), "fixtures_added": 0}
    played = set(zip(parsed.matches["home_team"], parsed.matches["away_team"], strict=True))
    fresh = feed.matches[[pair not in played for pair in zip(feed.matches["home_team"], feed.matches["away_team"],
                                                              strict=True)]]
    # Season windows overlap in summer (a long season's last matchdays, the next one's first): a fixture
    # there belongs to the season it starts, unless this season file still has matches that late.
    latest = parsed.matches["match_date"].max()
    ours = [Season.containing(day.date()) == parsed.season or (pd.notna(latest) and day <= latest)
            for day in fresh["match_date"]]
    fresh = fresh[ours]
    # A pairing listed twice (moved fixture published beside the old date): the later listing wins.
    fresh = fresh.drop_duplicates(["home_team", "away_team"], keep="last")
    lines = fresh["source_row"].astype(int)
    fresh = fresh.assign(source_row=lines + FIXTURE_ROW_BASE)
    odds = feed.odds[feed.odds["source_row"].isin(lines)]
    odds = odds.assign(source_row=odds["source_row"].astype(int) + FIXTURE_ROW_BASE)
    if len(fresh):
        parsed.info["fixtures_feed"] = shown
    parsed.matches = pd.concat([parsed.matches, fresh], ignore_index=True)
    if parsed.odds is not None:
        parsed.odds = pd.concat([parsed.odds, odds], ignore_index=True)
    return {"fixtures_feed_rows": len(feed.matches), "fixtures_added": len(fresh)}


def fixture_rejection(rejection: Rejection, shown: str) -> Rejection:
    """A rejection of a merged fixture row (validation runs after the merge), told by its fixtures.csv line."""
    if rejection.source_row is None or rejection.source_row < FIXTURE_ROW_BASE:
        return rejection
    line = rejection.source_row - FIXTURE_ROW_BASE
    return Rejection(line, rejection.raw_row, f"{shown} line {line}: {rejection.reason}", rejection.check_name)


def _reports(paths: list[Path], shown: dict[Path, str]) -> tuple[dict[str, pd.DataFrame], list[Rejection]]:
    lineups, stats, rejections = [], [], []
    for path in paths:
        try:
            report = fbref.parse_match_report(path.read_bytes(), path=shown[path])
        except SourceFileError as error:
            rejections.append(Rejection(None, shown[path], f"match report: {error.reason}", "schema"))
            continue
        match_id = report.fbref_match_id or path.stem
        lineups.append(report.lineups.assign(fbref_match_id=match_id))
        stats.append({"fbref_match_id": match_id,
                      **{f"{key}_{side}": report.team_stats.get(f"{key}_{side}")
                         for key in REPORT_STATS for side in ("home", "away")}})
    return {
        "lineups": pd.concat(lineups, ignore_index=True) if lineups else pd.DataFrame(),
        "report_stats": pd.DataFrame(stats),
    }, rejections


def _shots(paths: list[Path], shown: dict[Path, str]) -> tuple[dict[str, pd.DataFrame], list[Rejection]]:
    frames, rejections = [], []
    for path in paths:
        try:
            shots, rejected = understat_pages.parse_shots(path.read_bytes(), path=shown[path])
        except SourceFileError as error:
            rejections.append(Rejection(None, shown[path], f"shots: {error.reason}", "schema"))
            continue
        frames.append(shots)
        rejections.extend(Rejection(r.source_row, r.raw_row, f"{shown[path]}: {r.reason}", r.check_name)
                          for r in rejected)
    return {"shots": pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()}, rejections

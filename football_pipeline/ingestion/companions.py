"""Files that travel with a partition's main file: FBref match reports, Understat per-match shots.

    fbref/<DIV>/<SEASON>/schedule.html    ->  fbref/<DIV>/<SEASON>/matches/<fbref id>.html
    understat/<LEAGUE>/<YEAR>.json        ->  understat/<LEAGUE>/<YEAR>/matches/<understat id>.json|.html
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from football_pipeline.ingestion import fbref, understat_pages
from football_pipeline.ingestion.files import FBREF, UNDERSTAT, SourceFile, SourceFileError
from football_pipeline.ingestion.records import Rejection

REPORT_STATS = ("possession",)  # team stats from match reports that the warehouse keeps


def companion_paths(file: SourceFile) -> list[Path]:
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

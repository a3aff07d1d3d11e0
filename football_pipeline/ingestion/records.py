"""What parsers return: typed frames, plus every row they could not use and why."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from football_pipeline.common.seasons import Season


@dataclass
class Rejection:
    source_row: int | None  # line number in the file (header = line 1); record index + 1 for JSON
    raw_row: str
    reason: str
    check_name: str


@dataclass
class ParsedFile:
    source: str
    competition_id: str
    season: Season
    path: str  # as shown to users: relative to the data directory where possible
    sha256: str
    matches: pd.DataFrame
    odds: pd.DataFrame | None = None
    rejections: list[Rejection] = field(default_factory=list)
    info: dict[str, object] = field(default_factory=dict)
    file_problems: list[str] = field(default_factory=list)  # blocking: the file as a whole is suspect
    extras: dict[str, pd.DataFrame] = field(default_factory=dict)  # from companion files: lineups, shots
    companion_rejections: list[Rejection] = field(default_factory=list)

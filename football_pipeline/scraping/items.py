"""Items: a source file to write into the data directory, and a problem to report."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SourceFileItem:
    """A fetched file that parsed cleanly, to be written at `relative_path` in the data directory."""

    source: str  # football-data | understat | fbref
    relative_path: str  # bundled layout, e.g. football-data/E0/2324.csv
    url: str
    body: bytes
    sha256: str
    fetched_at: str  # ISO 8601 UTC
    via: str = "live"  # live | fallback:<how>


@dataclass
class ProblemItem:
    """Something that stopped a page from becoming a file; reported, never silently dropped."""

    source: str
    url: str
    kind: str  # blocked | http_error | drift | parse_error | network
    reason: str
    details: list[str] = field(default_factory=list)

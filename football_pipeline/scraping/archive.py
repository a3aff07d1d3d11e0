"""Raw-response archive: every response, as received, before anything parses it.

Bytes are stored content-addressed (`objects/<aa>/<sha256>`), with an index (SQLite) of URL, method,
fetch time, status, headers, hash and size. `replay` mode serves responses back from it, so a parse
failure can be fixed and re-run without fetching again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    method TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    status INTEGER NOT NULL,
    headers TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    spider TEXT
);
CREATE INDEX IF NOT EXISTS ix_responses_url ON responses (url, method, fetched_at);
"""


@dataclass(frozen=True)
class ArchivedResponse:
    url: str
    method: str
    fetched_at: str
    status: int
    headers: dict[str, list[str]]
    sha256: str
    body: bytes


class ResponseArchive:
    def __init__(self, root: Path | str):
        self.root = Path(root)
        (self.root / "objects").mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.root / "index.sqlite", timeout=60, isolation_level=None)
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def _object(self, digest: str) -> Path:
        return self.root / "objects" / digest[:2] / digest

    def store(self, url: str, method: str, status: int, headers: dict[str, list[str]], body: bytes,
              spider: str | None = None, fetched_at: dt.datetime | None = None) -> str:
        digest = hashlib.sha256(body).hexdigest()
        path = self._object(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(body)
            temporary.replace(path)
        when = (fetched_at or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="microseconds")
        self._db.execute(
            "INSERT INTO responses (url, method, fetched_at, status, headers, sha256, size, spider) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (url, method, when, status, json.dumps(headers, sort_keys=True), digest, len(body), spider),
        )
        return digest

    def latest(self, url: str, method: str = "GET", status: int | None = 200) -> ArchivedResponse | None:
        """The most recent archived response for `url` (with `status`, unless None)."""
        query = "SELECT url, method, fetched_at, status, headers, sha256 FROM responses WHERE url = ? AND method = ?"
        params: list[object] = [url, method]
        if status is not None:
            query += " AND status = ?"
            params.append(status)
        row = self._db.execute(query + " ORDER BY fetched_at DESC, id DESC LIMIT 1", params).fetchone()
        if row is None:
            return None
        body = self._object(row[5]).read_bytes()
        return ArchivedResponse(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], body)

    def history(self, url: str) -> list[tuple[str, int, str]]:
        """(fetched_at, status, sha256) of every archived response for `url`, oldest first."""
        return self._db.execute(
            "SELECT fetched_at, status, sha256 FROM responses WHERE url = ? ORDER BY fetched_at, id", (url,)
        ).fetchall()

    def count(self) -> int:
        return self._db.execute("SELECT count(*) FROM responses").fetchone()[0]

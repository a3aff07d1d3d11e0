"""The `match_features` table: the point-in-time features of every match, stored incrementally by date.

A match's features depend only on what was known before its kick-off (its own pre-match prices and
the matches before it), so once a match is played its feature row is final: new results, a new
matchweek or a new season never change it. A sync therefore writes only what changed:

* each played match carries a digest of its warehouse row (teams, date, result, stats, xG, prices);
  the earliest date whose digests differ from the stored ones (a new match, a corrected result, a
  match removed, or a new version of the feature code) is where recomputed rows start, and every
  final row before it is left as it is (not rewritten);
* fixtures (matches on or after the as-of date) get provisional rows, replaced by every sync that is
  not a backfill to an earlier date; a provisional row never replaces a final one;
* a backfill to an earlier as-of date writes nothing unless the history before that date changed; then
  it rewrites from the change up to its as-of date and removes the later final rows (computed on the
  old history), which the next forward sync writes again.

The features themselves are computed in memory by `features.build_features` over the whole history
(the ratings are sequential state; 12,000 matches take about 4 s), so the incremental part is the
table: its earlier rows keep their values and their `computed_at`, and a backfill to an earlier as-of
date reads them as they were. Values are JSON (`features->>'elo_diff'` in PostgreSQL,
`json_extract(features, '$.elo_diff')` in SQLite), missing values as null.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa

from football_pipeline.modelling import features
from football_pipeline.warehouse import schema

CHUNK = 500


def feature_version() -> str:
    """Changes when the feature names or the code that computes them change: every stored row is then
    recomputed."""
    text = repr(features.FEATURES + features.MARKET_FEATURES) + inspect.getsource(features)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def row_digests(frame: pd.DataFrame) -> pd.Series:
    """A digest of each match's warehouse row (every column the features could read), by match_id."""
    columns = sorted(c for c in frame.columns if c != "match_id")
    text = ("|".join(map(repr, row)) for row in frame[columns].to_numpy(dtype=object))
    return pd.Series([hashlib.sha1(t.encode()).hexdigest()[:20] for t in text],
                     index=frame["match_id"].astype(str).to_numpy(), dtype=object)


@dataclass(frozen=True)
class SyncResult:
    recomputed_from: dt.date | None  # earliest date whose final rows were (re)written; None: none were
    final_written: int
    provisional_written: int
    kept: int  # final rows left untouched
    deleted: int  # stored rows of matches no longer in the warehouse
    invalidated: int  # a backfill that found history changed: later final rows removed for the next sync
    backfill: bool  # an as-of date earlier than the table's: provisional rows left as they were
    seconds: float

    def metadata(self) -> dict:
        return {"recomputed_from": self.recomputed_from.isoformat() if self.recomputed_from else "nothing changed",
                "final_rows_written": self.final_written, "provisional_rows_written": self.provisional_written,
                "final_rows_kept": self.kept, "rows_deleted": self.deleted,
                "later_rows_invalidated": self.invalidated, "backfill": self.backfill,
                "sync_seconds": round(self.seconds, 3)}


def _stored(connection: sa.Connection) -> pd.DataFrame:
    t = schema.match_features
    rows = connection.execute(sa.select(t.c.match_id, t.c.match_date, t.c.final, t.c.inputs_digest,
                                        t.c.feature_version, t.c.as_of)).all()
    stored = pd.DataFrame(rows, columns=["match_id", "match_date", "final", "inputs_digest", "feature_version",
                                         "as_of"])
    stored["match_date"] = pd.to_datetime(stored["match_date"])
    stored["as_of"] = pd.to_datetime(stored["as_of"])
    stored["final"] = stored["final"].astype(bool)
    return stored


def _values(row: np.ndarray, names: list[str]) -> dict:
    return {n: (None if not math.isfinite(v) else float(v)) for n, v in zip(names, row.tolist(), strict=True)}


def sync(engine: sa.Engine, frame: pd.DataFrame, feats: pd.DataFrame, as_of: dt.date,
         now: dt.datetime | None = None) -> SyncResult:
    """Bring `match_features` up to date with `frame` (the warehouse's matches, results on or after
    `as_of` hidden) and `feats` (its features, same index), in one transaction."""
    started = time.perf_counter()
    if not frame.index.equals(feats.index):
        raise ValueError("sync: the features do not line up with the matches (different index)")
    now = now or dt.datetime.now(dt.UTC)
    cut = pd.Timestamp(as_of)
    version = feature_version()
    names = list(feats.columns)
    dates = pd.to_datetime(frame["match_date"])
    ids = frame["match_id"].astype(str)
    played = (dates < cut).to_numpy()
    digests = row_digests(frame)
    table = schema.match_features

    with engine.begin() as connection:
        stored = _stored(connection)
        # Final rows dated on/after this as-of date belong to a later sync: a backfill leaves them be.
        old = stored[stored["final"] & (stored["match_date"] < cut)].set_index("match_id")
        current = pd.DataFrame({"match_date_now": dates.to_numpy()[played], "digest": digests.to_numpy()[played]},
                               index=ids.to_numpy()[played])
        both = current.join(old, how="outer")
        changed = (both["digest"].isna() | both["inputs_digest"].isna() | (both["digest"] != both["inputs_digest"])
                   | (both["feature_version"] != version))
        removed = both.index[both["digest"].isna()]
        moved_dates = pd.concat([both.loc[changed, "match_date_now"], both.loc[changed, "match_date"]]).dropna()
        since = moved_dates.min() if len(moved_dates) else None

        latest = stored["as_of"].max() if len(stored) else pd.NaT
        backfill = bool(pd.notna(latest) and cut < latest)
        final_rows = (played & (dates >= since).to_numpy()) if since is not None else np.zeros(len(frame), bool)
        finals_stored = set(stored.loc[stored["final"], "match_id"])
        provisional_rows = (~played & ~ids.isin(finals_stored).to_numpy()) if not backfill \
            else np.zeros(len(frame), bool)

        values = feats.to_numpy(dtype=float)
        records = []
        for position in np.flatnonzero(final_rows | provisional_rows):
            records.append({
                "match_id": ids.iat[position], "competition_id": str(frame["competition_id"].iat[position]),
                "season": str(frame["season"].iat[position]), "match_date": dates.iat[position].date(),
                "final": bool(played[position]), "as_of": as_of, "feature_version": version,
                "inputs_digest": digests.iat[position] if played[position] else None,
                "features": _values(values[position], names), "computed_at": now})
        # Out: the rows about to be rewritten, the removed matches, and (unless a backfill) every
        # provisional row, since the fixtures' features move with each new result.
        out = {r["match_id"] for r in records} | set(removed)
        if not backfill:
            out |= set(stored.loc[~stored["final"], "match_id"])
        invalidated: set[str] = set()
        if backfill and since is not None:
            # History before this as-of date changed, so the later sync's final rows were computed on the
            # old history: out with them too, and the next forward sync (they are then missing) rewrites them.
            invalidated = set(stored.loc[stored["final"] & (stored["match_date"] >= cut), "match_id"])
            out |= invalidated
        out = sorted(out)
        for start in range(0, len(out), CHUNK):
            connection.execute(table.delete().where(table.c.match_id.in_(out[start:start + CHUNK])))
        for start in range(0, len(records), CHUNK):
            connection.execute(table.insert(), records[start:start + CHUNK])

    return SyncResult(
        recomputed_from=since.date() if since is not None else None, final_written=int(final_rows.sum()),
        provisional_written=int(provisional_rows.sum()),
        kept=len(old.index.difference(out)),
        deleted=len(removed), invalidated=len(invalidated), backfill=backfill, seconds=time.perf_counter() - started)


def read(engine: sa.Engine, competition_id: str | None = None) -> pd.DataFrame:
    """The stored features, one row per match (index match_id): match_date, final, as_of, computed_at
    and one column per feature (NaN where missing)."""
    t = schema.match_features
    query = sa.select(t.c.match_id, t.c.competition_id, t.c.season, t.c.match_date, t.c.final, t.c.as_of,
                      t.c.computed_at, t.c.features).order_by(t.c.match_date, t.c.match_id)
    if competition_id is not None:
        query = query.where(t.c.competition_id == competition_id)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    head = pd.DataFrame([r[:7] for r in rows], columns=["match_id", "competition_id", "season", "match_date",
                                                        "final", "as_of", "computed_at"])
    values = pd.DataFrame([r[7] for r in rows], dtype=float)
    out = pd.concat([head, values], axis=1).set_index("match_id")
    out["match_date"] = pd.to_datetime(out["match_date"])
    out["final"] = out["final"].astype(bool)
    out["as_of"] = pd.to_datetime(out["as_of"])
    out["computed_at"] = pd.to_datetime(out["computed_at"], utc=True)
    return out

"""The consumer queries in `sql/examples/`, run by name with bound parameters.

Each file is one SELECT with named parameters (`:as_of`, `:competition_id`, `:team_id`,
`:model_name`) that SQLAlchemy binds per backend; values are never formatted into the SQL text. The
files' leading `--` comment lines document them and are dropped before binding (a `:name` in a comment
would otherwise count as a placeholder). The same text runs on SQLite, PostgreSQL and TimescaleDB.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import sqlalchemy as sa

from football_pipeline.warehouse import ddl

EXAMPLES_DIR = "examples"
TIMESTAMP = sa.DateTime(timezone=True)
# Parameter types, so each backend gets the value in its own form (SQLite: UTC text as the loader writes it).
PARAMETER_TYPES: dict[str, sa.types.TypeEngine] = {
    "as_of": TIMESTAMP,
    "competition_id": sa.String(),
    "team_id": sa.String(),
    "model_name": sa.String(),
}
# Result columns read back as timestamps on every backend (SQLite returns text otherwise).
RESULT_TYPES: dict[str, sa.types.TypeEngine] = {"kickoff_at": TIMESTAMP, "predicted_at": TIMESTAMP}


def names() -> list[str]:
    """The queries available, by file name without `.sql`."""
    return sorted(p.stem for p in (ddl.sql_dir() / EXAMPLES_DIR).glob("*.sql"))


def sql(name: str) -> str:
    """A query's file as written (comments included)."""
    if name not in names():
        raise KeyError(f"no query {name!r} in sql/{EXAMPLES_DIR}/: choose one of {', '.join(names())}")
    return (ddl.sql_dir() / EXAMPLES_DIR / f"{name}.sql").read_text(encoding="utf-8")


@functools.cache
def statement(name: str) -> sa.TextualSelect:
    """The query as a SQLAlchemy statement with typed bind parameters and typed timestamp columns."""
    body = "\n".join(line for line in sql(name).splitlines() if not line.lstrip().startswith("--"))
    clause = sa.text(body)
    declared = parameters_of(clause)
    unknown = declared - PARAMETER_TYPES.keys()
    if unknown:
        raise ValueError(f"{name}: parameters without a declared type: {sorted(unknown)}")
    clause = clause.bindparams(*(sa.bindparam(p, type_=PARAMETER_TYPES[p]) for p in sorted(declared)))
    return clause.columns(**RESULT_TYPES)


def parameters_of(clause: sa.TextClause | sa.TextualSelect) -> set[str]:
    return set(clause.compile().params)


def run(connectable: sa.Engine | sa.Connection, name: str, **params: Any) -> list[dict[str, Any]]:
    """Run query `name` with `params` bound; rows as dicts, timestamps timezone-aware UTC."""
    query = statement(name)
    expected = parameters_of(query)
    missing, unexpected = expected - params.keys(), params.keys() - expected
    if missing or unexpected:
        raise TypeError(f"{name} takes parameters {sorted(expected)}; missing {sorted(missing)}, "
                        f"unexpected {sorted(unexpected)}")
    if params.get("as_of") is not None:
        params["as_of"] = _utc(params["as_of"])
    if isinstance(connectable, sa.Engine):
        with connectable.connect() as connection:
            return _rows(connection.execute(query, params))
    return _rows(connectable.execute(query, params))


def next_matchday(connectable, *, as_of: dt.datetime | None = None, competition_id: str | None = None,
                  model_name: str | None = None) -> list[dict[str, Any]]:
    """Each competition's next matchday (or one competition's) after `as_of` (default: now), with odds."""
    return run(connectable, "next_matchday", as_of=as_of or _now(), competition_id=competition_id,
               model_name=model_name)


def team_upcoming(connectable, team_id: str, *, as_of: dt.datetime | None = None,
                  model_name: str | None = None) -> list[dict[str, Any]]:
    """A team's fixtures after `as_of` (default: now) with the latest predictions."""
    return run(connectable, "team_upcoming", team_id=team_id, as_of=as_of or _now(), model_name=model_name)


def model_vs_market_by_month(connectable, *, competition_id: str | None = None,
                             model_name: str | None = None) -> list[dict[str, Any]]:
    """Model against closing-market RPS per month, from model_performance."""
    return run(connectable, "model_vs_market_by_month", competition_id=competition_id, model_name=model_name)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _utc(value: dt.datetime | dt.date | str) -> dt.datetime:
    """A timestamp in UTC; a naive one is taken as UTC, a date as its midnight UTC."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def _rows(result: sa.CursorResult) -> list[dict[str, Any]]:
    rows = []
    for row in result.mappings():
        out = dict(row)
        for column in RESULT_TYPES:
            value = out.get(column)
            if isinstance(value, dt.datetime) and value.tzinfo is None:  # SQLite keeps UTC without a zone
                out[column] = value.replace(tzinfo=dt.timezone.utc)
        rows.append(out)
    return rows

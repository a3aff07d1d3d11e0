"""The consumer queries in `sql/examples/`, run by name with bound parameters.

Each file is one SELECT with named parameters (`:as_of`, `:competition_id`, `:team_id`,
`:model_name`) that SQLAlchemy binds per backend; values are never formatted into the SQL text. The
files' `--` comment lines document them and are dropped before binding (a `:name` in a comment would
otherwise count as a placeholder). The same text runs on SQLite, PostgreSQL and TimescaleDB.

On PostgreSQL a query is PREPAREd once per database connection (`$1, $2, ...` in place of the names)
and EXECUTEd with the bound values under a generic plan: planning these queries costs more than
running them (about 1 ms against 0.5 ms for the next matchday on a million predictions), and their
plan does not depend on the values. `prepared=False` runs the plain text instead (e.g. behind a
transaction-pooling PgBouncer, which cannot keep prepared statements).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

import sqlalchemy as sa

from football_pipeline.warehouse import ddl, schema

EXAMPLES_DIR = "examples"
TIMESTAMP = sa.DateTime(timezone=True)
# Parameter types, so each backend gets the value in its own form (SQLite: UTC text as the loader writes it).
PARAMETER_TYPES: dict[str, sa.types.TypeEngine] = {
    "as_of": TIMESTAMP,
    "competition_id": sa.String(),
    "team_id": sa.String(),
    "model_name": sa.String(),
}
# The same, as PostgreSQL types for PREPARE.
POSTGRES_TYPES = {"as_of": "timestamptz", "competition_id": "text", "team_id": "text", "model_name": "text"}
# SQLAlchemy's own rule for a bind parameter in text(): `:name`, not `::cast` or `\:escaped`.
_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")
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


def body(name: str) -> str:
    """The query's SQL without its comment lines."""
    return "\n".join(line for line in sql(name).splitlines() if not line.lstrip().startswith("--"))


@functools.cache
def statement(name: str) -> sa.TextualSelect:
    """The query as a SQLAlchemy statement with typed bind parameters and typed timestamp columns."""
    return _typed(sa.text(body(name)), name)


def _typed(clause: sa.TextClause, name: str) -> sa.TextualSelect:
    declared = parameters_of(clause)
    unknown = declared - PARAMETER_TYPES.keys()
    if unknown:
        raise ValueError(f"{name}: parameters without a declared type: {sorted(unknown)}")
    clause = clause.bindparams(*(sa.bindparam(p, type_=PARAMETER_TYPES[p]) for p in sorted(declared)))
    return clause.columns(**RESULT_TYPES)


@functools.cache
def _postgres_prepared(name: str) -> tuple[str, str]:
    """(PREPARE statement, EXECUTE statement with the same parameters in the driver's `%(name)s` style)."""
    order: list[str] = []

    def number(match: re.Match) -> str:
        if match.group(1) not in order:
            order.append(match.group(1))
        return f"${order.index(match.group(1)) + 1}"

    numbered = _BIND.sub(number, body(name))
    handle = f"football_{name}"
    prepare = f"PREPARE {handle} ({', '.join(POSTGRES_TYPES[p] for p in order)}) AS {numbered}"
    # SET LOCAL: the generic plan for this statement only, until the transaction ends.
    execute = (f"SET LOCAL plan_cache_mode = force_generic_plan; "
               f"EXECUTE {handle} ({', '.join(f'%({p})s' for p in order)})")
    return prepare, execute


def _execute(connection: sa.Connection, name: str, params: dict, prepared: bool) -> list[dict[str, Any]]:
    if not prepared or connection.dialect.name != "postgresql":
        return _rows(connection.execute(statement(name), params))
    prepare, execute = _postgres_prepared(name)
    done = connection.connection.info.setdefault("football_prepared", set())  # per DB-API connection
    if name not in done:
        connection.exec_driver_sql(prepare)
        done.add(name)
    # psycopg2 binds the values (timestamps as timestamptz); PostgreSQL's rows need no conversion.
    return _rows(connection.exec_driver_sql(execute, params))


def parameters_of(clause: sa.TextClause | sa.TextualSelect) -> set[str]:
    return set(clause.compile().params)


@functools.cache
def parameters(name: str) -> frozenset[str]:
    """The named parameters query `name` takes."""
    return frozenset(parameters_of(statement(name)))


def run(connectable: sa.Engine | sa.Connection, name: str, *, prepared: bool = True,
        **params: Any) -> list[dict[str, Any]]:
    """Run query `name` with `params` bound; rows as dicts, timestamps timezone-aware UTC."""
    expected = parameters(name)
    missing, unexpected = expected - params.keys(), params.keys() - expected
    if missing or unexpected:
        raise TypeError(f"{name} takes parameters {sorted(expected)}; missing {sorted(missing)}, "
                        f"unexpected {sorted(unexpected)}")
    if params.get("as_of") is not None:
        params["as_of"] = _utc(params["as_of"])
    if isinstance(connectable, sa.Engine):
        with connectable.connect() as connection:
            return _execute(connection, name, params, prepared)
    return _execute(connectable, name, params, prepared)


def next_matchday(connectable, *, as_of: dt.datetime | None = None, competition_id: str | None = None,
                  model_name: str | None = None) -> list[dict[str, Any]]:
    """A competition's next matchday after `as_of` (default: now) with odds; every competition's, one
    after the other in competition order, when `competition_id` is None."""
    as_of = as_of or _now()
    if competition_id is not None:
        return run(connectable, "next_matchday", as_of=as_of, competition_id=competition_id, model_name=model_name)
    if isinstance(connectable, sa.Engine):
        with connectable.connect() as connection:
            return next_matchday(connection, as_of=as_of, model_name=model_name)
    competitions = connectable.execute(
        sa.select(schema.competitions.c.competition_id).order_by(schema.competitions.c.competition_id)).scalars()
    return [row for competition in competitions.all()
            for row in run(connectable, "next_matchday", as_of=as_of, competition_id=competition,
                           model_name=model_name)]


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
            if isinstance(value, dt.datetime):  # SQLite keeps UTC without a zone; PostgreSQL: the session's
                out[column] = (value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None
                               else value.astimezone(dt.timezone.utc))
        rows.append(out)
    return rows

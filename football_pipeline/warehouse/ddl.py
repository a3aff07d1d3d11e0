"""DDL files: `sql/` (numbered, idempotent, for PostgreSQL/TimescaleDB) and the generated table DDL."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

from football_pipeline.warehouse import schema

TABLES_FILE = "002_tables.sql"


def sql_dir() -> Path:
    """`sql/` of the source checkout, or its copy inside an installed wheel."""
    packaged = resources.files("football_pipeline") / "_sql"
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[2] / "sql"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("the sql/ DDL folder is neither packaged nor in a source checkout")


def read(name: str) -> str:
    return (sql_dir() / name).read_text(encoding="utf-8")


def postgres_tables_sql() -> str:
    """CREATE TABLE/INDEX IF NOT EXISTS for every table, as PostgreSQL sees them."""
    dialect = postgresql.dialect()
    parts = [
        "-- Generated from football_pipeline/warehouse/schema.py by `football-pipeline schema-sql`.",
        "-- Do not edit: change schema.py and add a migration; a test checks this file is current.",
        "",
    ]
    for table in schema.metadata.sorted_tables:
        parts.append(str(CreateTable(table, if_not_exists=True).compile(dialect=dialect)).strip() + ";\n")
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            parts.append(str(CreateIndex(index, if_not_exists=True).compile(dialect=dialect)).strip() + ";\n")
        for column in table.columns:
            if column.comment:
                comment = column.comment.replace("'", "''")
                parts.append(f"COMMENT ON COLUMN {table.name}.{column.name} IS '{comment}';")
        parts.append("")
    text = "\n".join(line.rstrip() for line in "\n".join(parts).splitlines())
    return text.rstrip() + "\n"


def statements(sql: str) -> list[str]:
    """Split a DDL file into statements; `$$`-quoted bodies (DO blocks, functions) stay whole."""
    out, current, quoted = [], [], False
    for line in sql.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("--")):
            continue
        current.append(line)
        quoted ^= line.count("$$") % 2 == 1
        if not quoted and stripped.endswith(";"):
            out.append("\n".join(current))
            current = []
    if current and "\n".join(current).strip():
        out.append("\n".join(current))
    return out


def execute_file(connection: sa.Connection, name: str) -> None:
    """Run a DDL file in the connection's transaction. Through the DB-API cursor without parameters,
    so `%` in the DDL (format strings, LIKE patterns) is not taken for a placeholder."""
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        for statement in statements(read(name)):
            cursor.execute(statement)
    finally:
        cursor.close()

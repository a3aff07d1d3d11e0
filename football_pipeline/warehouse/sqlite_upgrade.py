"""Additive SQLite upgrades: create missing tables, add missing nullable columns (batch mode)."""

from __future__ import annotations

import sqlalchemy as sa

from football_pipeline.warehouse import schema


def add_missing(connection: sa.Connection, op) -> None:
    inspector = sa.inspect(connection)
    existing = set(inspector.get_table_names())
    missing = [t for t in schema.metadata.sorted_tables if t.name not in existing]
    schema.metadata.create_all(connection, tables=missing)
    for table in schema.metadata.sorted_tables:
        if table.name not in existing:
            continue
        have = {c["name"] for c in inspector.get_columns(table.name)}
        new = [c for c in table.columns if c.name not in have]
        if not new:
            continue
        with op.batch_alter_table(table.name) as batch:
            for column in new:
                if not column.nullable:
                    raise RuntimeError(f"{table.name}.{column.name}: a new column must be nullable to be added")
                batch.add_column(sa.Column(column.name, column.type, nullable=True, comment=column.comment))

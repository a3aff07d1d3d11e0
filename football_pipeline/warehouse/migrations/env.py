"""Alembic environment: run against the connection handed over by `football_pipeline.warehouse.migrate`."""

from __future__ import annotations

from alembic import context

from football_pipeline.warehouse import schema

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=schema.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()

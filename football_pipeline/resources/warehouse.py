"""The warehouse as a Dagster resource: a SQLAlchemy engine on SQLite, PostgreSQL or TimescaleDB."""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa
from pydantic import Field, PrivateAttr

from football_pipeline import settings
from football_pipeline.warehouse import engine as engines
from football_pipeline.warehouse import migrate


class WarehouseResource(dg.ConfigurableResource):
    """SQL warehouse. The URL (credentials included) comes from the environment, never the repo."""

    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL, e.g. postgresql://user:pass@host/db. Default: $WAREHOUSE_URL, else a "
        "SQLite file in the local state folder.",
    )
    _engine: sa.Engine | None = PrivateAttr(default=None)
    _migrated: bool = PrivateAttr(default=False)

    def resolved_url(self) -> str:
        return self.url or settings.warehouse_url()

    def engine(self) -> sa.Engine:
        """The engine, with the schema brought to the current migration on first use."""
        if self._engine is None:
            self._engine = engines.create_engine(self.resolved_url())
        if not self._migrated:
            migrate.upgrade(self._engine)
            self._migrated = True
        return self._engine

    def describe(self) -> str:
        return engines.redacted(self.resolved_url())

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()
